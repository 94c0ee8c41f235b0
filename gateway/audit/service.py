"""The audit log: every exchange, allowed or denied, as one link of a hash chain in the gateway's database.

    entry n   hash_n = SHA-256(canonical JSON of {seq: n, prev_hash: hash_(n-1), at, request_id, … every field})
    entry 1   prev_hash = "000…0" (64 zeros, the genesis)
    head      one row naming the last entry: (seq, hash); (0, "000…0") while the log is empty

Because each hash covers the entry's whole content and the hash before it, tampering shows:

- an entry whose content was edited no longer hashes to its stored ``hash``;
- an entry removed, inserted or reordered (or one whose ``hash`` was rewritten to match an edit) breaks the
  next entry's ``prev_hash`` link, and leaves a gap in ``seq``;
- entries cut off the end leave the head naming an entry that is not there.

:func:`verify_chain` walks the entries in ``seq`` order and names the first one where any of this fails. What no
chain shows on its own is the whole log rewritten from some entry on, head included: an auditor who notes the
head's hash (``czt audit verify`` prints it) and compares it later detects that too.

Appends never fork the chain: each runs in one transaction whose first statement bumps the head's ``seq`` (by
the number of entries it appends: one, or a group). That write takes SQLite's database write lock, or
PostgreSQL's lock on the head row, before anything is read, so concurrent appends queue one behind the other;
each reads the hash its predecessor committed, and a rolled-back append gives its ``seq`` numbers back, so ``seq``
runs 1, 2, 3 … without gaps. Within one gateway process, appends arriving together are grouped into one such
transaction (:mod:`gateway.audit.group_commit`); across processes the lock still orders the groups.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Integer, bindparam, exists, insert, literal, or_, update
from sqlalchemy import select as sql_select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from gateway.audit.models import (
    GENESIS_HASH,
    AccessLog,
    AccessLogItem,
    AccessLogPage,
    AccessWhat,
    AccessWho,
    AccessWhy,
    AuditEntry,
    AuditEntryView,
    AuditHead,
    AuditPage,
    ChainReport,
    ExchangeRecord,
)
from gateway.exchange.registry import CityRegistry
from schemas.cities import CityRef

log = logging.getLogger("czt.gateway.audit")

HEAD_ID = 1
_LIST_FIELDS = frozenset({"cities", "categories", "rules", "fields_released", "consents"})
_RECORD_FIELDS = tuple(f.name for f in fields(ExchangeRecord))
_ATTEMPTS = 5
_BACKOFF_S = 0.05


class AuditUnavailable(Exception):
    """The audit log cannot take entries: its head row is missing. No exchange may go unrecorded, so none proceeds."""


# --- the hash ----------------------------------------------------------------------------------------------------


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive value is taken to be UTC already (SQLite hands datetimes back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        # Microseconds always written out: both databases keep them, so a value read back hashes the same.
        return utc(value).isoformat(timespec="microseconds")
    if isinstance(value, tuple):
        return list(value)
    return value


def entry_hash(*, seq: int, prev_hash: str, record: ExchangeRecord) -> str:
    """The entry's hash: SHA-256 hex of the canonical JSON of every field but the hash itself.

    The one definition used both to append and to verify, so the two can never disagree on what was hashed.
    """
    content = {name: _canonical(getattr(record, name)) for name in _RECORD_FIELDS}
    content.update(seq=seq, prev_hash=prev_hash)
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _encode_list(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


def _decode_list(text: str) -> tuple[str, ...]:
    values = json.loads(text)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"not a JSON list of strings: {text[:80]!r}")
    return tuple(values)


def record_of(entry: AuditEntry) -> ExchangeRecord:
    """The exchange an entry records, as it was handed in; ``ValueError`` when a list column is not a JSON list."""
    values: dict[str, Any] = {}
    for name in _RECORD_FIELDS:
        value = getattr(entry, name)
        if name in _LIST_FIELDS:
            value = _decode_list(value)
        elif isinstance(value, datetime):
            value = utc(value)
        values[name] = value
    return ExchangeRecord(**values)


def _entry_row(*, seq: int, prev_hash: str, record: ExchangeRecord) -> dict[str, Any]:
    """The column values of the entry that records ``record`` at ``seq``, after ``prev_hash``."""
    values: dict[str, Any] = {}
    for name in _RECORD_FIELDS:
        value = getattr(record, name)
        if name in _LIST_FIELDS:
            value = _encode_list(value)
        elif isinstance(value, datetime):
            # Stored in UTC: SQLite keeps the wall-clock time and drops the zone, so it must already be UTC.
            value = utc(value)
        values[name] = value
    values.update(seq=seq, prev_hash=prev_hash, hash=entry_hash(seq=seq, prev_hash=prev_hash, record=record))
    return values


# --- writing -----------------------------------------------------------------------------------------------------


def ensure_chain(engine: Engine) -> None:
    """Create the chain's head for an empty log; idempotent, and safe when two gateways start at once.

    A log that has entries but no head is not "repaired": a new genesis head would hide that the head was
    removed, and the next append would collide with an existing ``seq``. It raises :class:`AuditUnavailable`.
    """
    genesis = sql_select(literal(HEAD_ID), literal(0), literal(GENESIS_HASH)).where(
        ~exists(sql_select(col(AuditEntry.seq)))
    )
    add_head = insert(AuditHead).from_select(["id", "seq", "hash"], genesis)
    try:
        # A write first, so SQLite takes its write lock (with busy-wait) rather than upgrading a read.
        with engine.begin() as connection:
            connection.execute(add_head)
    except IntegrityError:
        pass  # the head exists already (perhaps another process created it a moment ago)
    with Session(engine) as session:
        if session.get(AuditHead, HEAD_ID) is None:
            raise AuditUnavailable(
                "the audit log has entries but no head row (audit_head id 1): it was tampered with; "
                "run `czt audit verify` and restore the gateway database"
            )


def append_exchange(engine: Engine, record: ExchangeRecord) -> AuditEntry:
    """Append one exchange at the head of the chain and return its entry (with ``seq`` and ``hash``)."""
    return append_exchanges(engine, [record])[0]


def append_exchanges(engine: Engine, records: Sequence[ExchangeRecord]) -> list[AuditEntry]:
    """Append ``records`` at the head of the chain, in order, in one transaction; their entries.

    All or none: one commit (and on SQLite one fsync) for the group, which is what group commit
    (:mod:`gateway.audit.group_commit`) gains under load. A database momentarily too busy (SQLite "database is
    locked", a PostgreSQL serialization failure or deadlock) is retried a few times; nothing was written by the
    failed attempt, so a retry cannot duplicate.
    """
    if not records:
        return []
    attempt = 1
    while True:
        try:
            return _append_once(engine, records)
        except DBAPIError as exc:
            if attempt >= _ATTEMPTS or not _transient(exc):
                raise
            log.warning("audit append attempt %d failed (%s), retrying", attempt, exc.orig)
            time.sleep(_BACKOFF_S * attempt)
            attempt += 1


# Core statements on one connection, no ORM unit of work, built once: the append is on every exchange's path
# (half of its cost was building these and the entries' models before; docs/performance.md).
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(seq=_HEAD.c.seq + bindparam("count", type_=Integer))
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(hash=bindparam("head_hash"))
_INSERT_ENTRIES = insert(AuditEntry.__table__)  # type: ignore[attr-defined]


def _append_once(engine: Engine, records: Sequence[ExchangeRecord]) -> list[AuditEntry]:
    with engine.begin() as connection:
        # First statement, and a write: it takes the lock that makes concurrent appends queue (module docstring).
        # Starting with a SELECT instead would let SQLite WAL fail the later upgrade with SQLITE_BUSY_SNAPSHOT.
        # The head moves past the whole group at once; the entries take the numbers it moved over.
        bumped = connection.execute(_MOVE_HEAD, {"count": len(records)}).first()
        if bumped is None:
            raise AuditUnavailable("the audit chain has no head row (audit_head id 1); see `czt audit verify`")
        last_seq, prev_hash = bumped
        rows = []
        for seq, record in enumerate(records, start=last_seq - len(records) + 1):
            rows.append(_entry_row(seq=seq, prev_hash=prev_hash, record=record))
            prev_hash = rows[-1]["hash"]
        connection.execute(_INSERT_ENTRIES, rows)
        connection.execute(_SET_HEAD_HASH, {"head_hash": prev_hash})
    return [AuditEntry(**row) for row in rows]  # once committed: the lock is not held for them


def _transient(exc: DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in {"40001", "40P01"}:  # serialization failure, deadlock detected
        return True
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


# --- verifying ---------------------------------------------------------------------------------------------------


@dataclass
class _Walk:
    """The state of a walk along the chain: where it is, and the first break it found."""

    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    broken_at: int | None = None
    reason: str | None = None

    def step(self, entry: AuditEntry) -> bool:
        """Check ``entry`` as the successor of the last one; False (and the break noted) when it is not."""
        expected = self.last_seq + 1
        if entry.seq > expected:
            missing = str(expected) if entry.seq == expected + 1 else f"{expected}–{entry.seq - 1}"
            return self._break(expected, f"entry {missing} missing: the log jumps from {self.last_seq} to {entry.seq}")
        if entry.seq < expected:
            return self._break(entry.seq, f"entry {entry.seq} is out of sequence (expected {expected})")
        if entry.prev_hash != self.last_hash:
            before = "the genesis hash" if self.last_seq == 0 else f"entry {self.last_seq}'s hash"
            return self._break(
                entry.seq,
                f"prev_hash is not {before}: an entry before it was rewritten, removed, inserted or reordered",
            )
        try:
            record = record_of(entry)
        except ValueError as exc:
            return self._break(entry.seq, f"content unreadable ({exc}): the entry was edited")
        if entry_hash(seq=entry.seq, prev_hash=entry.prev_hash, record=record) != entry.hash:
            return self._break(entry.seq, "content edited: the entry no longer hashes to its stored hash")
        self.entries += 1
        self.last_seq, self.last_hash = entry.seq, entry.hash
        return True

    def _break(self, seq: int, reason: str) -> bool:
        self.broken_at, self.reason = seq, reason
        return False


def verify_chain(engine: Engine, *, batch: int = 1000) -> ChainReport:
    """Walk the whole chain in ``seq`` order and name the first broken entry, and why; safe while appends go on.

    The head is read after the walk: appends commit entry and head together, so the head is then at or past
    every entry walked; entries appended meanwhile are walked too, up to the head, before the two are compared.
    """
    walk = _Walk()
    with Session(engine) as session:
        if not _walk(session, walk, upto=None, batch=batch):
            head = session.get(AuditHead, HEAD_ID)
            return _report(walk, head)
        head = session.get(AuditHead, HEAD_ID)
        if head is None:
            # Without a head nothing tells whether entries were cut off the end: the log cannot be vouched for.
            walk.reason = "no chain head (audit_head id 1 is missing): the head was removed, or no gateway ran here"
            return _report(walk, head)
        if walk.last_seq > head.seq:
            walk.broken_at = head.seq + 1
            walk.reason = f"entry {head.seq + 1} lies past the head (seq {head.seq}): the head was rolled back"
            return _report(walk, head)
        if walk.last_seq < head.seq and not _walk(session, walk, upto=head.seq, batch=batch):
            return _report(walk, head)
    if walk.last_seq < head.seq:
        walk.broken_at = walk.last_seq + 1
        walk.reason = f"the log ends at entry {walk.last_seq} but its head names entry {head.seq}: the tail was cut off"
    elif head.hash != walk.last_hash:
        walk.broken_at = head.seq or None
        walk.reason = f"the head's hash is not entry {head.seq}'s hash: the head or that entry was rewritten"
    return _report(walk, head)


def _walk(session: Session, walk: _Walk, *, upto: int | None, batch: int) -> bool:
    while True:
        query = select(AuditEntry).where(col(AuditEntry.seq) > walk.last_seq)
        if upto is not None:
            query = query.where(col(AuditEntry.seq) <= upto)
        entries = session.exec(query.order_by(col(AuditEntry.seq)).limit(batch)).all()
        for entry in entries:
            if not walk.step(entry):
                return False
        if len(entries) < batch:
            return True
        session.expunge_all()  # a long log is read batch by batch, not kept in memory


def _report(walk: _Walk, head: AuditHead | None) -> ChainReport:
    return ChainReport(
        valid=walk.reason is None,
        entries=walk.entries,
        head_seq=None if head is None else head.seq,
        head_hash=None if head is None else head.hash,
        first_broken=walk.broken_at,
        reason=walk.reason,
    )


# --- reading -----------------------------------------------------------------------------------------------------


def access_log(
    session: Session, *, subject: str, now: datetime, limit: int, before: int | None, include_own: bool = False
) -> AccessLogPage:
    """The data subject's entries, newest first, without those still under delayed disclosure at ``now``.

    The resident's own look at their own records is left out unless ``include_own``: the tracker answers
    "who else has seen my data".
    """
    query = select(AuditEntry).where(
        col(AuditEntry.subject) == subject,
        # SQLite compares stored UTC wall-clock text, so ``now`` must be UTC too.
        or_(col(AuditEntry.disclose_at).is_(None), col(AuditEntry.disclose_at) <= utc(now)),
    )
    if not include_own:
        query = query.where(or_(col(AuditEntry.requester_kind) != "resident", col(AuditEntry.user) != subject))
    entries, next_cursor = _page(session, query, limit=limit, before=before)
    return AccessLogPage(entries=entries, next=next_cursor)


def list_entries(session: Session, *, limit: int, before: int | None) -> AuditPage:
    """Every entry, newest first: the auditor's view of the raw log."""
    entries, next_cursor = _page(session, select(AuditEntry), limit=limit, before=before)
    return AuditPage(entries=entries, next=next_cursor)


def _page(
    session: Session, query: SelectOfScalar[AuditEntry], *, limit: int, before: int | None
) -> tuple[list[AuditEntryView], int | None]:
    if before is not None:
        query = query.where(col(AuditEntry.seq) < before)
    rows = session.exec(query.order_by(col(AuditEntry.seq).desc()).limit(limit + 1)).all()
    page = rows[:limit]
    next_cursor = page[-1].seq if len(rows) > limit else None
    return [entry_view(row) for row in page], next_cursor


def entry_view(entry: AuditEntry) -> AuditEntryView:
    """An entry with its lists decoded; a list column that is not JSON any more is shown as its raw text."""
    values: dict[str, Any] = entry.model_dump()
    for name in _LIST_FIELDS:
        try:
            values[name] = list(_decode_list(values[name]))
        except ValueError:
            values[name] = [values[name]]
    for name in ("at", "disclose_at"):
        if values[name] is not None:
            values[name] = utc(values[name])
    return AuditEntryView(**values)


def tracker(page: AccessLogPage, *, registry: CityRegistry) -> AccessLog:
    """A page of the subject's entries as the data tracker (数据使用记录) shows them: when, who, why, what."""
    return AccessLog(items=[_access_item(entry, registry) for entry in page.entries], next=page.next)


def _access_item(entry: AuditEntryView, registry: CityRegistry) -> AccessLogItem:
    return AccessLogItem(
        at=entry.at,
        who=AccessWho(
            kind=entry.requester_kind,
            city=None if entry.requester_city is None else city_ref(registry, entry.requester_city),
            department=entry.requester_department,
            role=entry.requester_role,
            client_id=entry.client_id,
        ),
        why=AccessWhy(purpose=entry.purpose, case_ref=entry.case_ref),
        what=AccessWhat(
            categories=entry.categories,
            cities=_city_refs(registry, entry.cities),
            fields_released=entry.fields_released,
        ),
        outcome=entry.outcome,
        decision_id=entry.decision_id,
        request_id=entry.request_id,
    )


def city_ref(registry: CityRegistry, code: str) -> CityRef:
    """The city as the registry names it; a city since removed from the registry is named by its code."""
    client = registry.client_for(code)
    return client.entry.ref if client is not None else CityRef(code=code, name=code)


def _city_refs(registry: CityRegistry, codes: Sequence[str]) -> list[CityRef]:
    return [city_ref(registry, code) for code in codes]
