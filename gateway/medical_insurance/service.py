"""医保 across cities: the enrolment view, 异地就医备案 kept by the insuring city, 异地就医直接结算 settled by it.

The insuring city (参保地) is wherever the person's enrolment is active; the gateway finds it by asking every
city for the person's 医保 enrolment only (not the whole record: a hospital's claim needs no more).

Exceptions::

    NotInsured          no city has an active enrolment (409 not-insured)
    MedicalConflict     the request contradicts what the cities hold: a claim id reused with other content, an
                        overlapping filing, a claim from the insuring city itself, an enrolment active twice (409)
    FilingRejected      the filing names a care city it cannot have (422)
    FilingNotFound      the insuring city keeps no such filing for the resident (404)
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from pydantic import BaseModel, Field

from gateway.access import AccessDenied, decide_medical_settlement
from gateway.auth.models import Principal
from gateway.exchange.registry import CityClient, CityNotInRegistry, CityOutcome, CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.policy.service import Governance, Verdict, decide
from gateway.records.service import CityCallFailed, ResidentNotFound, ask_every_city, service_token
from governance.catalogue import SERVICES, Service
from schemas.cities import BreakerState, CityCallStatus, CityRef
from schemas.idcard import IdNumber
from schemas.medical_insurance import (
    Claim,
    Enrolment,
    EnrolmentStatus,
    Filing,
    FilingApplication,
    FilingRequest,
    MedicalInsuranceRecord,
    SettlementRequest,
    SettlementStatement,
)
from schemas.problems import ProblemType

T = TypeVar("T")


class NotInsured(Exception):
    """No city has an active 医保 enrolment for the person."""


class MedicalConflict(Exception):
    """The request contradicts what the cities hold."""


class FilingRejected(Exception):
    """The filing names a care city it cannot have."""


class FilingNotFound(Exception):
    """The insuring city keeps no such filing for the resident."""


class CityEnrolment(BaseModel):
    """One city's part of the enrolment view."""

    city: CityRef
    status: CityCallStatus
    enrolment: Enrolment | None = Field(default=None, description="None when the city holds no enrolment")
    detail: str | None = None
    breaker: BreakerState = Field(description="The gateway's circuit breaker for this city, after the call")


class EnrolmentView(BaseModel):
    """A resident's 医保 enrolment in every city, and the contribution months recognised across them (互认)."""

    request_id: str
    id_number: IdNumber
    complete: bool = Field(description="False when a city failed: its months could not be counted")
    insuring_city: CityRef | None = Field(description="参保地: where the enrolment is active, if anywhere")
    recognised_contribution_months: int = Field(ge=0, description="累计缴费月数 of every city, added up")
    cities: list[CityEnrolment]


class FilingsResponse(BaseModel):
    """The resident's 异地就医备案, as the insuring city keeps them (newest first)."""

    request_id: str
    insuring_city: CityRef
    filings: list[Filing]


Lookup = list[tuple[CityClient, CityOutcome[MedicalInsuranceRecord]]]


async def _enrolments(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    subject: str,
    service: Service,
    request_id: str,
) -> tuple[Verdict, Lookup]:
    """The policy's verdict on ``service`` for ``subject``, then every city's 医保 record on them, asked at once."""
    verdict = await _decide(
        governance, registry, principal=principal, subject=subject, service=service, request_id=request_id
    )
    outcomes = await ask_every_city(
        registry,
        lambda client: client.medical_insurance(
            id_number=subject,
            service_token=service_token(minter, client, principal=principal, verdict=verdict),
            request_id=request_id,
        ),
    )
    return verdict, list(zip(registry.clients, outcomes, strict=True))


async def _decide(
    governance: Governance,
    registry: CityRegistry,
    *,
    principal: Principal,
    subject: str,
    service: Service,
    request_id: str,
) -> Verdict:
    purpose = SERVICES[service].purpose
    assert purpose is not None, f"{service} states its own purpose"
    return await decide(
        governance,
        principal=principal,
        subject=subject,
        service=service,
        purpose=purpose,
        cities=registry.codes,
        request_id=request_id,
    )


def _insuring_city(lookup: Lookup) -> CityClient:
    """The one city where the enrolment is active; a problem naming why otherwise."""
    active = [
        client
        for client, outcome in lookup
        if outcome.payload is not None and outcome.payload.enrolment.status is EnrolmentStatus.ACTIVE
    ]
    if len(active) == 1:
        return active[0]
    if len(active) > 1:
        names = "、".join(client.entry.name for client in active)
        raise MedicalConflict(f"the enrolment is active in more than one city ({names}): resolve 重复参保 first")
    failed = [(client, outcome) for client, outcome in lookup if outcome.status not in _ANSWERED]
    if failed:
        reasons = "; ".join(f"{c.entry.name} ({c.entry.code}) {o.status}" for c, o in failed)
        raise CityCallFailed(f"cannot tell where the person is insured: {reasons}")
    enrolled = [(client, outcome.payload) for client, outcome in lookup if outcome.payload is not None]
    if not enrolled:
        raise ResidentNotFound("no city in the registry holds a medical-insurance enrolment for this ID number")
    states = ", ".join(f"{client.entry.name} {record.enrolment.status}" for client, record in enrolled)
    raise NotInsured(f"no active medical-insurance enrolment in any city ({states})")


_ANSWERED = frozenset({CityCallStatus.OK, CityCallStatus.NOT_FOUND})


def _answer(outcome: CityOutcome[T], client: CityClient, *, not_found: Exception, write: bool) -> T:
    """The city's payload, or the problem its failure means."""
    if outcome.payload is not None:
        return outcome.payload
    if outcome.status is CityCallStatus.NOT_FOUND:
        raise not_found
    detail = (outcome.detail or "").removeprefix(f"HTTP {outcome.http_status}: ")
    if outcome.http_status == 409:
        if outcome.problem_type == ProblemType.NOT_INSURED:
            raise NotInsured(detail)
        raise MedicalConflict(detail)
    hint = " — the outcome is unknown: retry with the same id, the write is idempotent" if write else ""
    raise CityCallFailed(f"{client.entry.name} ({client.entry.code}): {outcome.status}, {outcome.detail}{hint}")


async def enrolment_view(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    request_id: str,
) -> EnrolmentView:
    """The resident's 医保 enrolment in every city, with contribution months recognised across all of them."""
    id_number = principal.subject
    _, lookup = await _enrolments(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        subject=id_number,
        service=Service.MEDICAL_ENROLMENT,
        request_id=request_id,
    )
    cities = [
        CityEnrolment(
            city=client.entry.ref,
            status=outcome.status,
            enrolment=None if outcome.payload is None else outcome.payload.enrolment,
            detail=outcome.detail,
            breaker=outcome.breaker,
        )
        for client, outcome in lookup
    ]
    active = [c.city for c in cities if c.enrolment is not None and c.enrolment.status is EnrolmentStatus.ACTIVE]
    return EnrolmentView(
        request_id=request_id,
        id_number=id_number,
        complete=all(city.status in _ANSWERED for city in cities),
        insuring_city=active[0] if len(active) == 1 else None,
        recognised_contribution_months=sum(c.enrolment.contribution_months for c in cities if c.enrolment),
        cities=cities,
    )


async def _filing_call(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    request_id: str,
) -> tuple[CityClient, str]:
    """For the resident's own filings: the insuring city, and a service token to call it with."""
    verdict, lookup = await _enrolments(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        subject=principal.subject,
        service=Service.MEDICAL_FILING,
        request_id=request_id,
    )
    insuring = _insuring_city(lookup)
    return insuring, service_token(minter, insuring, principal=principal, verdict=verdict)


async def create_filing(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    request: FilingRequest,
    request_id: str,
) -> Filing:
    """异地就医备案: the insuring city keeps the resident's filing to be treated in the care city."""
    care = registry.client_for(request.care_city_code)
    if care is None:
        raise FilingRejected(f"body.care_city_code: no city {request.care_city_code} in the registry")
    insuring, token = await _filing_call(
        governance=governance, registry=registry, minter=minter, principal=principal, request_id=request_id
    )
    if insuring is care:
        raise FilingRejected(
            f"body.care_city_code: you are insured in {care.entry.name} itself; treatment there needs no filing"
        )
    application = FilingApplication(
        filing_id=uuid.uuid4().hex,
        care_city=care.entry.ref,
        valid_from=request.valid_from,
        valid_to=request.valid_to,
    )
    outcome = await insuring.file_treatment(
        id_number=principal.subject, application=application, service_token=token, request_id=request_id
    )
    not_insured = NotInsured(f"no medical-insurance enrolment in {insuring.entry.name} any more")
    return _answer(outcome, insuring, not_found=not_insured, write=True)


async def list_filings(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    request_id: str,
) -> FilingsResponse:
    """The resident's filings, from the insuring city."""
    insuring, token = await _filing_call(
        governance=governance, registry=registry, minter=minter, principal=principal, request_id=request_id
    )
    outcome = await insuring.treatment_filings(id_number=principal.subject, service_token=token, request_id=request_id)
    not_insured = NotInsured(f"no medical-insurance enrolment in {insuring.entry.name} any more")
    filings = _answer(outcome, insuring, not_found=not_insured, write=False)
    return FilingsResponse(request_id=request_id, insuring_city=insuring.entry.ref, filings=filings.filings)


async def cancel_filing(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    filing_id: str,
    request_id: str,
) -> Filing:
    """Cancel one of the resident's filings in the insuring city (idempotent)."""
    insuring, token = await _filing_call(
        governance=governance, registry=registry, minter=minter, principal=principal, request_id=request_id
    )
    outcome = await insuring.cancel_filing(
        id_number=principal.subject, filing_id=filing_id, service_token=token, request_id=request_id
    )
    missing = FilingNotFound(f"{insuring.entry.name} keeps no filing {filing_id} for you")
    return _answer(outcome, insuring, not_found=missing, write=True)


async def settle_claim(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    claim: Claim,
    request_id: str,
) -> SettlementStatement:
    """异地就医直接结算: the care city's claim, settled by the insuring city's own rules."""
    shape = decide_medical_settlement(principal=principal)
    if not shape.allowed:
        raise AccessDenied(f"{shape.reason} (rule {shape.rule})")
    assert principal.city_code is not None  # the rule requires it
    care = registry.client_for(principal.city_code)
    if care is None:
        raise CityNotInRegistry(f"the official's city {principal.city_code} is not in the registry")
    verdict, lookup = await _enrolments(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        subject=claim.id_number,
        service=Service.MEDICAL_SETTLEMENT,
        request_id=request_id,
    )
    insuring = _insuring_city(lookup)
    if insuring is care:
        raise MedicalConflict(f"the patient is insured in {care.entry.name} itself: settle locally, not across cities")
    request = SettlementRequest(**claim.model_dump(), care_city=care.entry.ref)
    token = service_token(minter, insuring, principal=principal, verdict=verdict)
    outcome = await insuring.settle_claim(request=request, service_token=token, request_id=request_id)
    not_insured = NotInsured(f"no medical-insurance enrolment in {insuring.entry.name} any more")
    return _answer(outcome, insuring, not_found=not_insured, write=True)
