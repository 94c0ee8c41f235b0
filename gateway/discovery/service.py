"""Discovery: the exchange's services (``/v1/services``) and what one caller may use (``/v1/services/allowed``).

Both answers are computed, not written down: the data each service needs comes from the governance
catalogue, and whether a caller may use it is the very decision the gateway would make on a real call —
the same compiled policy and :func:`governance.outcome.service_outcome` — asked for the caller with no
consent in hand. A service the policy opens only with consent is listed as ``consent-required``: usable
once the data subject grants it. Pure functions: no I/O, no city is called.
"""

from __future__ import annotations

from typing import Literal

from gateway.auth.models import Principal, PrincipalKind
from gateway.discovery.catalogue import OFFERINGS, Offering
from gateway.discovery.models import (
    AllowedService,
    AllowedServicesResponse,
    Caller,
    CityOffer,
    RouteView,
    ServicesResponse,
    ServiceView,
)
from gateway.policy.service import READ_SCOPE, requester_of
from gateway.provident_fund.transfers import FUND_DEPARTMENT
from governance.catalogue import SERVICES, Service
from governance.engine import CompiledPolicy, decide_categories
from governance.outcome import Outcome, service_outcome
from schemas.cities import BreakerState, CityRef
from schemas.purposes import RESIDENT_PURPOSES, Purpose

OutcomeName = Literal["allowed", "partial", "consent-required", "denied"]


def purposes_of(offering: Offering) -> list[Purpose]:
    """The purposes a service can be used for: its own, or any the caller may state (lookups)."""
    fixed = SERVICES[offering.service].purpose
    return [fixed] if fixed is not None else list(Purpose)


def list_services(*, policy: CompiledPolicy, cities: list[tuple[CityRef, BreakerState]]) -> ServicesResponse:
    """Every service of the exchange and every city of the registry (each city takes part in every service)."""
    views = [_service_view(offering) for offering in OFFERINGS]
    ids = [view.id for view in views]
    return ServicesResponse(
        policy=policy.version,
        cities=[CityOffer(city=city, breaker=breaker, services=ids) for city, breaker in cities],
        services=views,
    )


def _service_view(offering: Offering) -> ServiceView:
    need = SERVICES[offering.service]
    return ServiceView(
        id=offering.service.value,
        description=need.description,
        purpose=None if need.purpose is None else need.purpose.value,
        purposes=[p.value for p in purposes_of(offering)],
        categories=list(need.needs),
        needs={category: list(fields) for category, fields in need.needs.items() if fields},
        routes=_routes(offering),
        callers=sorted(kind.value for kind in offering.callers),
        condition=offering.condition,
        gated=offering.gated,
    )


def allowed_services(*, principal: Principal, policy: CompiledPolicy, cities: list[str]) -> AllowedServicesResponse:
    """Each service (and, for lookups, each purpose) the caller may use, and the rest with the reason."""
    allowed: list[AllowedService] = []
    refused: list[AllowedService] = []
    for offering in OFFERINGS:
        for answer in _answers(offering, principal=principal, policy=policy, cities=cities):
            (refused if answer.outcome == "denied" else allowed).append(answer)
    return AllowedServicesResponse(
        caller=Caller(
            kind=principal.kind.value,
            client_id=principal.client_id,
            city=principal.city_code,
            department=principal.department,
            role=principal.role,
        ),
        policy=policy.version,
        allowed=allowed,
        refused=refused,
    )


def _answers(
    offering: Offering, *, principal: Principal, policy: CompiledPolicy, cities: list[str]
) -> list[AllowedService]:
    def answer(purpose: Purpose | None, outcome: OutcomeName, reason: str | None = None) -> AllowedService:
        return AllowedService(
            id=offering.service.value,
            purpose=None if purpose is None else purpose.value,
            outcome=outcome,
            reason=reason,
            routes=_routes(offering),
            cities=[] if outcome == "denied" else cities,
        )

    structural = _structural_refusal(offering, principal)
    if structural is not None:
        return [answer(None, "denied", structural)]
    if not offering.gated:
        return [answer(None, "allowed")]
    purposes = purposes_of(offering)
    if principal.kind is PrincipalKind.RESIDENT:
        purposes = [p for p in purposes if p in RESIDENT_PURPOSES]
    return [answer(p, *_policy_outcome(offering, principal, policy, p)) for p in purposes]


def _structural_refusal(offering: Offering, principal: Principal) -> str | None:
    """Why the caller cannot use the service whatever the policy says; None when they can ask."""
    kind = principal.kind
    if kind not in offering.callers:
        who = " or ".join(sorted(k.value + "s" for k in offering.callers))
        return f"only {who} use {offering.service.value}"
    if kind is PrincipalKind.CLIENT and offering.gated and READ_SCOPE not in principal.scopes:
        return f"the token lacks the {READ_SCOPE} scope"
    official = kind is PrincipalKind.OFFICIAL
    if offering.service is Service.FUND_TRANSFER and official and principal.department != FUND_DEPARTMENT:
        return f"only officials of a {FUND_DEPARTMENT} department start transfers (into their own city)"
    if offering.service in (Service.MEDICAL_SETTLEMENT, Service.CREDENTIAL_REVOCATION) and not principal.city_code:
        return "the official belongs to no city"
    return None


def _policy_outcome(
    offering: Offering, principal: Principal, policy: CompiledPolicy, purpose: Purpose
) -> tuple[OutcomeName, str | None]:
    """The gateway's own decision on a call by ``principal`` with no consent in hand: (outcome, reason)."""
    needs = SERVICES[offering.service].needs
    requester = requester_of(principal)
    self_access = principal.kind is PrincipalKind.RESIDENT

    def outcome_of(categories: dict[str, tuple[str, ...]]) -> Outcome:
        decisions = decide_categories(
            policy, requester, categories, purpose.value, self_access=self_access, consented=frozenset()
        )
        return service_outcome(offering.service.value, categories, decisions)

    # A credential covers one kind of record, so each call touches one category: usable when any one goes.
    groups = [{c: f} for c, f in needs.items()] if offering.per_category else [needs]
    outcomes = [outcome_of(group) for group in groups]
    usable = [o for o in outcomes if o.name != "denied"]
    if usable:
        whole = len(usable) == len(outcomes) and all(o.name == "allowed" for o in usable)
        return ("allowed" if whole else "partial"), None
    waiting = [o for o in outcomes if o.consent_only]
    if waiting:
        return "consent-required", waiting[0].refusal
    return "denied", outcomes[0].refusal


def _routes(offering: Offering) -> list[RouteView]:
    return [RouteView(method=route.method, path=route.path) for route in offering.routes]
