"""Replay: the decisions recorded in the audit log, decided again under a candidate policy — what would have changed.

A shadow policy (``CZT_GATEWAY_SHADOW_POLICY``) only sees traffic from the day it is switched on; a replay asks
the same question of everything already on record, so an analyst can weigh a policy change against real
exchanges before it decides a single live one::

    replay_log(session, candidate)        thin: reads entries oldest first, in batches, with their subjects' consents
      └─ replay_entries(items, candidate) pure: for each entry —
           the request rebuilt from the entry (requester, subject, purpose, the categories it recorded)
           the consents as they stood at the entry's time (granted by then, valid then, not yet revoked)
           the candidate decides each category; the service's outcome and the fields it would release
           compared with the recorded outcome and fields; tallied into a ReplayReport

Exchanges no rule gates (a credential the holder presented, an issuer revoking one), refusals made before any
rule (a token without the ``records:read`` scope: no policy would change them) and entries the replay cannot read
are counted as skipped, by reason, never dropped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Session, col, select

from gateway.audit import service as audit_service
from gateway.audit.models import AuditEntry, ExchangeRecord
from gateway.consent import service as consent_service
from gateway.consent.models import Consent
from gateway.policy.service import DEFAULT_DENY, HOLDER_PRESENTED, ISSUER_REVOCATION, MISSING_SCOPE
from governance.catalogue import SERVICES, Service
from governance.engine import CompiledPolicy, Decision, Requester, RequesterKind, decide_categories
from governance.outcome import Outcome, service_outcome

UNGATED = (HOLDER_PRESENTED, ISSUER_REVOCATION, MISSING_SCOPE)
"""Audit "rules" of exchanges no data-sharing rule decided: there is nothing to decide again."""


# --- the report --------------------------------------------------------------------------------------------------


class ChangedEntry(BaseModel):
    """One recorded exchange the candidate would have decided otherwise."""

    seq: int
    at: datetime
    request_id: str
    service: str
    purpose: str
    requester: str = PydanticField(description='Who asked, e.g. "official zz-gjj-tan (430200 provident_fund clerk)"')
    subject: str | None = PydanticField(description="The data subject's pseudonym")
    recorded_policy: str
    recorded_outcome: str
    candidate_outcome: str
    fields_added: list[str] = PydanticField(description="Released under the candidate, not on record")
    fields_removed: list[str] = PydanticField(description="On record, not released under the candidate")
    candidate_rules: dict[str, str] = PydanticField(
        description=f"Changed category → the candidate's deciding rule ({DEFAULT_DENY} when none)"
    )
    candidate_reason: str | None = PydanticField(description="Why the candidate refuses, when it does")


class ServiceTally(BaseModel):
    """One service's entries: how many were decided again, and how many of those would change."""

    reevaluated: int = 0
    changed: int = 0


class ReplayReport(BaseModel):
    """What a candidate policy would have changed in the decisions on record.

    Counters are plain ``{key: count}`` maps, largest first. Fields are counted in the audit log's own form:
    ``category.field`` released in clear, ``category.field~mask`` masked — so a mask that changes shows as one
    released form removed and another added.
    """

    candidate: str = PydanticField(description="The candidate policy's version, name@sha256-prefix")
    entries_read: int
    first_seq: int | None
    last_seq: int | None
    reevaluated: int
    skipped: dict[str, int] = PydanticField(description="Entries not re-evaluated, by reason")
    recorded_policies: dict[str, int] = PydanticField(description="Policy versions that made the re-evaluated ones")
    unchanged: int
    changed: int
    consent_only: int = PydanticField(
        description="Changed entries the candidate refuses only for want of consents: granting them would restore them"
    )
    transitions: dict[str, int] = PydanticField(
        description='Changed entries by "recorded→candidate" outcome (e.g. "partial→denied"; same→same: fields only)'
    )
    by_service: dict[str, ServiceTally]
    by_rule: dict[str, int] = PydanticField(
        description="Changed entries by the candidate's deciding rule of a changed category (one count per rule)"
    )
    fields_added: dict[str, int] = PydanticField(description="Newly released fields, by entries affected")
    fields_removed: dict[str, int] = PydanticField(description="Fields no longer released, by entries affected")
    residents_affected: int = PydanticField(description="Distinct data subjects of the changed entries")
    changed_entries: list[ChangedEntry] = PydanticField(description="The changed entries kept, oldest first")


# --- one entry, decided again (pure) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reevaluation:
    """An entry decided again: what was recorded beside what the candidate decides."""

    seq: int
    record: ExchangeRecord
    decisions: dict[str, Decision]
    outcome: Outcome
    fields: frozenset[str]

    @property
    def recorded_fields(self) -> frozenset[str]:
        return frozenset(self.record.fields_released)

    @property
    def changed(self) -> bool:
        return self.outcome.name != self.record.outcome or self.fields != self.recorded_fields

    def changed_categories(self) -> list[str]:
        """Categories whose released fields differ; when only the outcome moved, those that decided it."""
        moved = self.fields ^ self.recorded_fields
        categories = [c for c in self.decisions if any(_category_of(f) == c for f in moved)]
        return categories or list(self.outcome.blocking) or list(self.decisions)


def reevaluate(entry: AuditEntry, consents: Sequence[Consent], *, candidate: CompiledPolicy) -> Reevaluation | str:
    """Decide ``entry`` again under ``candidate``, with the subject's ``consents`` as they stood at its time.

    Returns the re-evaluation, or why the entry cannot be re-evaluated (a skip reason).
    """
    try:
        record = audit_service.record_of(entry)
    except ValueError:
        return "unreadable entry (a list column is not JSON)"
    if ungated := next((rule for rule in record.rules if rule in UNGATED), None):
        return f"ungated {ungated}"
    try:
        service = Service(record.service)
        kind = RequesterKind(record.requester_kind)
    except ValueError:
        return f"unknown service or requester kind ({record.service}, {record.requester_kind})"
    if record.subject is None:
        return "no data subject"
    need = SERVICES[service].needs
    if unknown := [c for c in record.categories if c not in need]:
        return f"category not needed by the service any more ({', '.join(unknown)})"
    needs = {category: need[category] for category in record.categories}

    requester = Requester(
        kind=kind,
        client_id=record.client_id,
        city=record.requester_city,
        department=record.requester_department,
        role=record.requester_role,
    )
    self_access = kind is RequesterKind.RESIDENT and record.user == record.subject
    covers = [
        cover
        for row in consents
        if row.subject == record.subject
        if (cover := consent_service.covers_at(row, requester=requester, at=record.at)) is not None
    ]
    consented = {c for c in needs if consent_service.consent_for(covers, category=c, purpose=record.purpose)}
    decisions = decide_categories(
        candidate, requester, needs, record.purpose, self_access=self_access, consented=consented
    )
    outcome = service_outcome(service.value, needs, decisions)
    return Reevaluation(
        seq=entry.seq, record=record, decisions=decisions, outcome=outcome, fields=released_fields(decisions, outcome)
    )


def released_fields(decisions: dict[str, Decision], outcome: Outcome) -> frozenset[str]:
    """The fields an exchange releases, as the audit log writes them (``category.field``, ``category.field~mask``);
    none when the exchange is refused, as the gateway releases nothing then."""
    if outcome.name == "denied":
        return frozenset()
    allowed = {c: d for c, d in decisions.items() if d.allowed}
    return frozenset(
        [f"{c}.{f}" for c, d in allowed.items() for f in d.fields]
        + [f"{c}.{f}~{m}" for c, d in allowed.items() for f, m in d.masks.items()]
    )


def _category_of(released: str) -> str:
    """``provident_fund.account.account_no~hash`` → ``provident_fund.account`` (field names hold no dots)."""
    return released.split("~", 1)[0].rsplit(".", 1)[0]


def requester_summary(record: ExchangeRecord) -> str:
    """Who asked, in a few words: kind and user, and an official's city, department and role."""
    where = " ".join(p for p in (record.requester_city, record.requester_department, record.requester_role) if p)
    return f"{record.requester_kind} {record.user}" + (f" ({where})" if where else "")


# --- the tally (pure) --------------------------------------------------------------------------------------------


def replay_entries(
    items: Iterable[tuple[AuditEntry, Sequence[Consent]]], *, candidate: CompiledPolicy, keep: int | None = None
) -> ReplayReport:
    """Pure: re-evaluate each entry (oldest first, with its subject's consents) under ``candidate`` and tally what
    changed; ``keep`` bounds how many changed entries the report lists (None: all)."""
    read = reevaluated = unchanged = consent_only = 0
    first_seq: int | None = None
    last_seq: int | None = None
    skipped: Counter[str] = Counter()
    policies: Counter[str] = Counter()
    transitions: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    services: dict[str, ServiceTally] = {}
    residents: set[str] = set()
    kept: list[ChangedEntry] = []

    for entry, consents in items:
        read += 1
        first_seq = entry.seq if first_seq is None else first_seq
        last_seq = entry.seq
        result = reevaluate(entry, consents, candidate=candidate)
        if isinstance(result, str):
            skipped[result] += 1
            continue
        record = result.record
        reevaluated += 1
        policies[record.policy] += 1
        tally = services.setdefault(record.service, ServiceTally())
        tally.reevaluated += 1
        if not result.changed:
            unchanged += 1
            continue
        tally.changed += 1
        transitions[f"{record.outcome}→{result.outcome.name}"] += 1
        consent_only += result.outcome.name == "denied" and result.outcome.consent_only
        deciding = {c: result.decisions[c].rule or DEFAULT_DENY for c in result.changed_categories()}
        rules.update(set(deciding.values()))
        gained = sorted(result.fields - result.recorded_fields)
        lost = sorted(result.recorded_fields - result.fields)
        added.update(gained)
        removed.update(lost)
        if record.subject is not None:
            residents.add(record.subject)
        if keep is None or len(kept) < keep:
            kept.append(
                ChangedEntry(
                    seq=result.seq,
                    at=record.at,
                    request_id=record.request_id,
                    service=record.service,
                    purpose=record.purpose,
                    requester=requester_summary(record),
                    subject=record.subject,
                    recorded_policy=record.policy,
                    recorded_outcome=record.outcome,
                    candidate_outcome=result.outcome.name,
                    fields_added=gained,
                    fields_removed=lost,
                    candidate_rules=deciding,
                    candidate_reason=result.outcome.refusal,
                )
            )

    return ReplayReport(
        candidate=candidate.version,
        entries_read=read,
        first_seq=first_seq,
        last_seq=last_seq,
        reevaluated=reevaluated,
        skipped=_largest_first(skipped),
        recorded_policies=_largest_first(policies),
        unchanged=unchanged,
        changed=reevaluated - unchanged,
        consent_only=consent_only,
        transitions=_largest_first(transitions),
        by_service=dict(sorted(services.items(), key=lambda item: (-item[1].changed, -item[1].reevaluated, item[0]))),
        by_rule=_largest_first(rules),
        fields_added=_largest_first(added),
        fields_removed=_largest_first(removed),
        residents_affected=len(residents),
        changed_entries=kept,
    )


def _largest_first(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


# --- reading the log (thin) --------------------------------------------------------------------------------------


def replay_log(
    *,
    session: Session,
    candidate: CompiledPolicy,
    limit: int | None = None,
    request_ids: Collection[str] | None = None,
    keep: int | None = None,
    batch: int = 500,
) -> ReplayReport:
    """Replay the audit log under ``candidate``: its most recent ``limit`` entries (None: all), or only those of
    ``request_ids``, oldest first; ``keep`` bounds the changed entries listed."""
    return replay_entries(
        _entries_with_consents(session, limit=limit, request_ids=request_ids, batch=batch),
        candidate=candidate,
        keep=keep,
    )


def _entries_with_consents(
    session: Session, *, limit: int | None, request_ids: Collection[str] | None, batch: int
) -> Iterator[tuple[AuditEntry, Sequence[Consent]]]:
    """The entries in ``seq`` order, batch by batch, each with its subject's consents (one query per batch).

    Every consent of the subject comes along, revoked and expired ones too: whether one covered the entry depends
    on the entry's time, which :func:`gateway.consent.service.covers_at` judges.
    """
    query = select(AuditEntry)
    if request_ids is not None:
        query = query.where(col(AuditEntry.request_id).in_(list(request_ids)))
    if limit is not None:
        # The most recent ``limit`` entries: from the seq of the limit-th newest on.
        newest = query.order_by(col(AuditEntry.seq).desc()).limit(limit).subquery()
        oldest_kept = session.exec(select(newest.c.seq).order_by(newest.c.seq).limit(1)).first()
        if oldest_kept is None:
            return
        query = query.where(col(AuditEntry.seq) >= oldest_kept)
    after = 0
    while True:
        entries = session.exec(
            query.where(col(AuditEntry.seq) > after).order_by(col(AuditEntry.seq)).limit(batch)
        ).all()
        if not entries:
            return
        subjects = {entry.subject for entry in entries if entry.subject is not None}
        consents: dict[str, list[Consent]] = {}
        if subjects:
            rows = session.exec(select(Consent).where(col(Consent.subject).in_(sorted(subjects)))).all()
            for row in rows:
                consents.setdefault(row.subject, []).append(row)
        for entry in entries:
            yield entry, consents.get(entry.subject or "", [])
        after = entries[-1].seq
        if len(entries) < batch:
            return
        session.expunge_all()  # a long log is read batch by batch, not kept in memory
