"""Enforcement: every exchange is decided by the active policy, checked against consent, audited, and shadowed.

    decide()  ── requester, subject, service, purpose
       │ consents covering the requester (one query; none for a resident's own records)
       │ the compiled policy decides each category the service touches
       │ the service's needs checked: a needed field withheld or masked stops it
       │ the shadow policy decides too; where it differs, the divergence is kept
       │ consents relied on are counted; the exchange is appended to the audit chain
       ▼
    Verdict (decision id, decisions per category)  or  PolicyDenied / ConsentRequired (audited too)

The audit entry is written before any city is asked: an exchange that could not be recorded never
happens. Exceptions::

    PolicyDenied       the policy refuses (403 policy-denied; names each category's rule, or none)
    ConsentRequired    a rule needs the resident's consent and none covers the request (403 consent-required)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from commons.server_timing import timed
from gateway.access import AccessDenied
from gateway.audit.group_commit import GroupCommit
from gateway.audit.models import ExchangeRecord
from gateway.auth.models import Principal, PrincipalKind
from gateway.consent import service as consent_service
from gateway.policy.middleware import note_decision
from gateway.policy.models import DivergencePage, DivergenceView, PolicyView, RuleView, ShadowDivergence
from governance.catalogue import SERVICES, Service
from governance.engine import (
    CompiledPolicy,
    ConsentState,
    Decision,
    Requester,
    RequesterKind,
    decide_categories,
)
from governance.masks import pseudonym
from governance.outcome import Outcome, service_outcome
from governance.release import release
from schemas.purposes import Purpose
from schemas.records import CategoryDisclosure

DEFAULT_DENY = "(default-deny)"
"""How the audit log names a decision no rule made."""
MISSING_SCOPE = "(missing-scope)"
"""How the audit log names a refusal made before any rule: the token lacks the scope to read others' records."""
READ_SCOPE = "records:read"
"""Officials and API clients read other people's records only with this scope in their token."""


class PolicyDenied(Exception):
    """The policy refuses the exchange; ``extensions`` name each category's rule (problem+json members)."""

    def __init__(self, message: str, *, extensions: dict[str, Any]) -> None:
        super().__init__(message)
        self.extensions = extensions


class ConsentRequired(PolicyDenied):
    """A rule releases the data only with the resident's consent, and no active consent covers the request."""


@dataclass(frozen=True)
class Verdict:
    """The policy's answer for one exchange: its id, and a decision per data category."""

    decision_id: str
    policy: str
    purpose: Purpose
    decisions: dict[str, Decision]
    hash_key: bytes = field(repr=False)

    def release(self, record: BaseModel) -> dict[str, Any]:
        """A city's canonical record, in JSON form, cut and masked as the decisions say."""
        with timed("release"):
            return release(record.model_dump(mode="json"), self.decisions, hash_key=self.hash_key)

    def disclosure(self) -> list[CategoryDisclosure]:
        return [
            CategoryDisclosure(
                category=category,
                allowed=decision.allowed,
                rule=decision.rule,
                reason=decision.reason,
                fields=list(decision.fields),
                masked={name: str(mask) for name, mask in decision.masks.items()},
                consent=decision.consent.value,
            )
            for category, decision in self.decisions.items()
        ]


@dataclass
class Governance:
    """What enforcement needs; one per gateway app (``app.state.governance``)."""

    engine: Engine
    policy: CompiledPolicy
    shadow: CompiledPolicy | None
    hash_key: bytes
    audit: GroupCommit = field(init=False)
    """Appends to the audit chain in ``engine``, grouped when they arrive together."""

    def __post_init__(self) -> None:
        self.audit = GroupCommit(self.engine)

    def subject_pseudonym(self, id_number: str) -> str:
        return pseudonym(id_number, key=self.hash_key)


def requester_of(principal: Principal) -> Requester:
    """The policy's view of who asks."""
    return Requester(
        kind=RequesterKind(principal.kind.value),
        client_id=principal.client_id,
        city=principal.city_code,
        department=principal.department,
        role=principal.role,
    )


async def decide(
    governance: Governance,
    *,
    principal: Principal,
    subject: str,
    service: Service,
    purpose: Purpose,
    cities: Sequence[str],
    request_id: str,
    case_ref: str | None = None,
    categories: Sequence[str] | None = None,
) -> Verdict:
    """Decide, audit and shadow one exchange about ``subject`` (an ID number); raise when it is refused.

    ``categories`` narrows the service's needs to the ones this exchange touches (e.g. the one kind of
    credential being issued).
    """
    need = SERVICES[service].needs
    needs = need if categories is None else {category: need[category] for category in categories}
    with timed("decide"):
        return await run_in_threadpool(
            _decide,
            governance,
            principal=principal,
            subject=subject,
            service=service,
            needs=needs,
            purpose=purpose,
            cities=tuple(cities),
            request_id=request_id,
            case_ref=case_ref,
            now=datetime.now(UTC),
        )


def _decide(
    governance: Governance,
    *,
    principal: Principal,
    subject: str,
    service: Service,
    needs: dict[str, tuple[str, ...]],
    purpose: Purpose,
    cities: tuple[str, ...],
    request_id: str,
    case_ref: str | None,
    now: datetime,
) -> Verdict:
    requester = requester_of(principal)
    self_access = principal.kind is PrincipalKind.RESIDENT and principal.subject == subject
    subject_pseudonym = governance.subject_pseudonym(subject)
    decision_id = uuid.uuid4().hex
    note_decision(decision_id)

    covers: list[consent_service.ConsentCover] = []
    if not self_access and principal.kind is not PrincipalKind.RESIDENT:
        with Session(governance.engine) as session:
            covers = consent_service.covering_consents(session, subject=subject_pseudonym, requester=requester, now=now)

    consented = {c for c in needs if consent_service.consent_for(covers, category=c, purpose=purpose.value)}

    def evaluate(policy: CompiledPolicy) -> dict[str, Decision]:
        return decide_categories(policy, requester, needs, purpose.value, self_access=self_access, consented=consented)

    decisions = evaluate(governance.policy)
    scope_refusal = None
    if principal.kind is not PrincipalKind.RESIDENT and READ_SCOPE not in principal.scopes:
        scope_refusal = f"the token lacks the {READ_SCOPE} scope"
    outcome = Outcome.refused(scope_refusal) if scope_refusal else service_outcome(service.value, needs, decisions)
    refusal = outcome.refusal

    if governance.shadow is not None:
        _shadow(
            governance,
            needs,
            evaluate(governance.shadow),
            decisions,
            outcome.name,
            scope_refusal,
            principal=principal,
            service=service,
            purpose=purpose,
            request_id=request_id,
            decision_id=decision_id,
            now=now,
        )

    used = sorted(
        {
            consent_id
            for category, decision in decisions.items()
            if decision.allowed and decision.consent is ConsentState.GIVEN
            if (consent_id := consent_service.consent_for(covers, category=category, purpose=purpose.value))
        }
    )
    allowed = {c: d for c, d in decisions.items() if d.allowed} if refusal is None else {}
    delay = max((d.disclose_after_days for d in allowed.values()), default=0)
    governance.audit.append(
        ExchangeRecord(
            at=now,
            request_id=request_id,
            decision_id=decision_id,
            service=service.value,
            policy=governance.policy.version,
            **_requester_fields(principal, governance),
            subject=subject_pseudonym,
            cities=cities if refusal is None else (),
            categories=tuple(needs),
            purpose=purpose.value,
            case_ref=case_ref,
            outcome=outcome.name,
            rules=(MISSING_SCOPE,)
            if scope_refusal
            else tuple(dict.fromkeys(d.rule or DEFAULT_DENY for d in decisions.values())),
            fields_released=tuple(
                [f"{c}.{f}" for c, d in allowed.items() for f in d.fields]
                + [f"{c}.{f}~{m}" for c, d in allowed.items() for f, m in d.masks.items()]
            ),
            consents=tuple(used) if refusal is None else (),
            disclose_at=now + timedelta(days=delay) if delay else None,
        ),
    )
    if used and refusal is None:
        with Session(governance.engine) as session:  # counted once the exchange is on record
            consent_service.record_uses(session, used, now=now)
    if scope_refusal is not None:
        raise AccessDenied(f"{scope_refusal} (decision {decision_id}, recorded in the audit log)")
    if refusal is not None:
        raise _refusal(
            outcome, decisions, governance=governance, service=service, purpose=purpose, decision_id=decision_id
        )
    return Verdict(
        decision_id=decision_id,
        policy=governance.policy.version,
        purpose=purpose,
        decisions=decisions,
        hash_key=governance.hash_key,
    )


HOLDER_PRESENTED = "(holder-presented)"
"""How the audit log names an exchange the data subject started by handing over a credential."""
ISSUER_REVOCATION = "(issuer-revocation)"
"""How the audit log names an issuing city's official revoking one of its credentials."""


async def record_ungated(
    governance: Governance,
    *,
    rule: str,
    principal: Principal,
    subject: str | None,
    service: Service,
    purpose: Purpose,
    categories: Sequence[str],
    cities: Sequence[str],
    request_id: str,
) -> str:
    """Audit an exchange no data-sharing rule gates, naming why (``rule``); returns its decision id.

    Two kinds: a holder presented a credential or a 用证码 (:data:`HOLDER_PRESENTED`): the verifier learns
    only what the holder handed over and the issuing city is asked only for its public status list; and an
    issuing city's official revokes a credential (:data:`ISSUER_REVOCATION`), which releases no data. Both
    still go into the audit chain, and a presentation into the holder's access log."""
    decision_id = uuid.uuid4().hex
    note_decision(decision_id)
    record = ExchangeRecord(
        at=datetime.now(UTC),
        request_id=request_id,
        decision_id=decision_id,
        service=service.value,
        policy=governance.policy.version,
        **_requester_fields(principal, governance),
        subject=None if subject is None else governance.subject_pseudonym(subject),
        cities=tuple(cities),
        categories=tuple(categories),
        purpose=purpose.value,
        case_ref=None,
        outcome="allowed",
        rules=(rule,),
        fields_released=(),
        consents=(),
        disclose_at=None,
    )
    await run_in_threadpool(governance.audit.append, record)
    return decision_id


def _requester_fields(principal: Principal, governance: Governance) -> dict[str, Any]:
    """Who asked, as the audit log names them: never by a resident's raw ID number."""
    resident = principal.kind is PrincipalKind.RESIDENT
    return {
        "requester_kind": principal.kind.value,
        "client_id": principal.client_id,
        "user": governance.subject_pseudonym(principal.subject) if resident else principal.subject,
        "requester_city": principal.city_code,
        "requester_department": principal.department,
        "requester_role": principal.role,
    }


def _refusal(
    outcome: Outcome,
    decisions: dict[str, Decision],
    *,
    governance: Governance,
    service: Service,
    purpose: Purpose,
    decision_id: str,
) -> PolicyDenied:
    extensions: dict[str, Any] = {
        "decision_id": decision_id,
        "policy": governance.policy.version,
        "service": service.value,
        "purpose": purpose.value,
        "denials": [
            {"category": c, "rule": d.rule, "reason": d.reason, "consent": d.consent.value}
            for c, d in decisions.items()
            if not d.allowed
        ],
    }
    why = outcome.refusal or "refused"
    if outcome.consent_only:
        needed = [c for c in outcome.blocking if decisions[c].consent is ConsentState.MISSING]
        extensions["consent_needed"] = {"categories": needed, "purposes": [purpose.value]}
        return ConsentRequired(f"the resident's consent is needed — {why}", extensions=extensions)
    return PolicyDenied(why, extensions=extensions)


def _shadow(
    governance: Governance,
    needs: dict[str, tuple[str, ...]],
    shadow_decisions: dict[str, Decision],
    active: dict[str, Decision],
    active_outcome: str,
    scope_refusal: str | None,
    *,
    principal: Principal,
    service: Service,
    purpose: Purpose,
    request_id: str,
    decision_id: str,
    now: datetime,
) -> None:
    """Keep a divergence when the shadow policy decides any category, or the exchange, otherwise."""
    assert governance.shadow is not None
    shadow_outcome = "denied" if scope_refusal else service_outcome(service.value, needs, shadow_decisions).name
    differences = [
        {"category": category, "active": _summary(decision), "shadow": _summary(shadow_decisions[category])}
        for category, decision in active.items()
        if _summary(decision) != _summary(shadow_decisions[category])
    ]
    if not differences and shadow_outcome == active_outcome:
        return
    requester = " ".join(
        part for part in (principal.client_id, principal.city_code, principal.department, principal.role) if part
    )
    with Session(governance.engine) as session:
        session.add(
            ShadowDivergence(
                at=now,
                request_id=request_id,
                decision_id=decision_id,
                service=service.value,
                purpose=purpose.value,
                requester_kind=principal.kind.value,
                requester=requester[:160],
                active_policy=governance.policy.version,
                shadow_policy=governance.shadow.version,
                active_outcome=active_outcome,
                shadow_outcome=shadow_outcome,
                differences=differences,
            )
        )
        session.commit()


def _summary(decision: Decision) -> dict[str, Any]:
    return {
        "allowed": decision.allowed,
        "rule": decision.rule,
        "fields": sorted(decision.fields),
        "masked": {name: str(mask) for name, mask in sorted(decision.masks.items())},
        "consent": decision.consent.value,
    }


# --- reading the policies and the divergences -----------------------------------------------------------


def policy_view(compiled: CompiledPolicy) -> PolicyView:
    """Every rule of a policy, as residents and integrators may read it."""
    policy = compiled.policy
    return PolicyView(
        name=policy.name,
        title=policy.title,
        description=policy.description,
        version=policy.version,
        rules=[
            RuleView(
                id=rule.id,
                description=rule.description,
                effect=rule.effect,
                requester=rule.requester.model_dump(exclude_none=True),
                categories=list(rule.categories),
                purposes=[p.value for p in rule.purposes],
                fields={c: list(f) for c, f in rule.fields.items() if f},
                masks={c: {f: str(m) for f, m in masks.items()} for c, masks in rule.masks.items() if masks},
                consent_required=rule.consent_required,
                disclose_after_days=rule.disclose_after_days,
            )
            for rule in policy.rules
        ],
    )


def list_divergences(session: Session, *, limit: int, before: int | None) -> DivergencePage:
    """Shadow divergences, newest first; ``next`` is the cursor for the following page."""
    query = select(ShadowDivergence).order_by(col(ShadowDivergence.id).desc()).limit(limit + 1)
    if before is not None:
        query = query.where(col(ShadowDivergence.id) < before)
    rows = list(session.exec(query))
    items = [DivergenceView.model_validate(row, from_attributes=True) for row in rows[:limit]]
    for item in items:  # SQLite hands back naive datetimes; they were written in UTC
        item.at = item.at if item.at.tzinfo else item.at.replace(tzinfo=UTC)
    return DivergencePage(items=items, next=items[-1].id if len(rows) > limit else None)
