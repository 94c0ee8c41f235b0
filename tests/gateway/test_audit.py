"""The audit log: a hash chain that shows any edit, removal or cut, never forks under load, and feeds the tracker.

Chain tests run on fresh databases of their own; the route tests use the shared ``world`` gateway, whose log
other tests append to as well, so they look only at their own request ids.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from commons.db import make_engine
from gateway.audit import group_commit, service
from gateway.audit.models import GENESIS_HASH, AuditEntry, AuditHead, ExchangeRecord
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.db import metadata
from governance.masks import pseudonym
from tests.conftest import TEST_HASH_KEY, World, bearer, login
from tests.databases import TestDatabases

PROBLEM_JSON = "application/problem+json"
LIU_YANG = "430203199005129171"
SUBJECT = "h:0123456789abcdef"
OTHER_SUBJECT = "h:fedcba9876543210"
T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def record(**overrides: Any) -> ExchangeRecord:
    """An official's lookup of ``SUBJECT``: the kind of exchange the enforcement layer hands the log."""
    values: dict[str, Any] = {
        "at": T0,
        "request_id": uuid.uuid4().hex,
        "decision_id": uuid.uuid4().hex,
        "service": "records.lookup",
        "policy": "default@2cb00d1fce00",
        "requester_kind": "official",
        "client_id": "czt-portal",
        "user": "zz-gjj-tan",
        "requester_city": "430200",
        "requester_department": "provident_fund",
        "requester_role": "clerk",
        "subject": SUBJECT,
        "cities": ("430100", "430200"),
        "categories": ("identity", "provident_fund.account"),
        "purpose": "case-handling",
        "case_ref": "株公积金〔2026〕17号",
        "outcome": "partial",
        "rules": ("fund-officials-read-accounts",),
        "fields_released": ("identity.name", "identity.id_number~partial", "provident_fund.account.balance"),
        "consents": (),
        "disclose_at": None,
    }
    values.update(overrides)
    return ExchangeRecord(**values)


@pytest.fixture
def engine(databases: TestDatabases) -> Iterator[Engine]:
    """A fresh gateway database with an empty chain."""
    engine = make_engine(databases.new_url(f"audit_{uuid.uuid4().hex[:8]}"))
    metadata.create_all(engine)
    service.ensure_chain(engine)
    yield engine
    engine.dispose()


def append(engine: Engine, count: int, **overrides: Any) -> list[AuditEntry]:
    return [service.append_exchange(engine, record(**overrides)) for _ in range(count)]


def execute(engine: Engine, sql: str, **params: Any) -> None:
    """Tamper with the database directly, as someone with write access to it would."""
    with engine.begin() as connection:
        connection.execute(text(sql), params)


# --- the chain ---------------------------------------------------------------------------------------------------


def test_an_empty_chain_is_valid(engine: Engine) -> None:
    report = service.verify_chain(engine)
    assert report.valid
    assert (report.entries, report.head_seq, report.head_hash) == (0, 0, GENESIS_HASH)


def test_appended_entries_form_a_valid_chain(engine: Engine) -> None:
    entries = append(engine, 10)
    assert [e.seq for e in entries] == list(range(1, 11))
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(entries))
    report = service.verify_chain(engine, batch=3)  # several batches, one partial
    assert report.valid, report.reason
    assert (report.entries, report.head_seq, report.head_hash) == (10, 10, entries[-1].hash)
    assert report.first_broken is None


def test_an_entry_read_back_hashes_as_it_was_written(engine: Engine) -> None:
    """Another time zone, a delayed disclosure, Chinese text: the database's round trip leaves the hash alone."""
    beijing = timezone(timedelta(hours=8))
    written = record(at=datetime(2026, 3, 1, 17, 30, 0, 1, tzinfo=beijing), disclose_at=datetime(2026, 6, 1, 8, 0))
    entry = service.append_exchange(engine, written)
    with Session(engine) as session:
        stored = session.exec(select(AuditEntry)).one()
    read_back = service.record_of(stored)
    assert read_back.at == written.at
    assert read_back.disclose_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # naive is taken as UTC
    assert read_back.case_ref == "株公积金〔2026〕17号"
    assert service.entry_hash(seq=1, prev_hash=GENESIS_HASH, record=read_back) == entry.hash == stored.hash


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE audit_entry SET fields_released = :value WHERE seq = 7", {"value": '["identity.id_number"]'}),
        ("UPDATE audit_entry SET fields_released = :value WHERE seq = 7", {"value": "not json"}),
        ("UPDATE audit_entry SET purpose = :value WHERE seq = 7", {"value": "curiosity"}),
        ("UPDATE audit_entry SET subject = :value WHERE seq = 7", {"value": OTHER_SUBJECT}),
        ("UPDATE audit_entry SET disclose_at = :value WHERE seq = 7", {"value": T0 + timedelta(days=3650)}),
        ("UPDATE audit_entry SET at = :value WHERE seq = 7", {"value": T0 - timedelta(microseconds=1)}),
    ],
    ids=["fields_released", "unreadable-list", "purpose", "subject", "disclose_at", "at"],
)
def test_an_edited_row_is_named(engine: Engine, sql: str, params: dict[str, Any]) -> None:
    append(engine, 10)
    execute(engine, sql, **params)
    report = service.verify_chain(engine)
    assert not report.valid
    assert report.first_broken == 7
    assert report.reason is not None and "edited" in report.reason
    assert report.entries == 6  # entries 1–6 still vouch for themselves


def test_a_rewritten_hash_breaks_the_next_link(engine: Engine) -> None:
    """Editing an entry and recomputing its hash still shows: the next entry points at the old hash."""
    append(engine, 10)
    forged = record(purpose="curiosity")
    with Session(engine) as session:
        prev_hash = session.exec(select(AuditEntry.prev_hash).where(AuditEntry.seq == 7)).one()
    forged_hash = service.entry_hash(seq=7, prev_hash=prev_hash, record=forged)
    execute(
        engine,
        "UPDATE audit_entry SET purpose = 'curiosity', request_id = :rid, decision_id = :did, hash = :h WHERE seq = 7",
        rid=forged.request_id,
        did=forged.decision_id,
        h=forged_hash,
    )
    report = service.verify_chain(engine)
    assert (report.valid, report.first_broken) == (False, 8)
    assert report.reason is not None and "prev_hash" in report.reason


def test_a_deleted_middle_row_is_named(engine: Engine) -> None:
    append(engine, 10)
    execute(engine, "DELETE FROM audit_entry WHERE seq = 5")
    report = service.verify_chain(engine)
    assert (report.valid, report.first_broken) == (False, 5)
    assert report.reason is not None and "missing" in report.reason


def test_a_renumbered_row_breaks_the_chain(engine: Engine) -> None:
    """Filling the gap left by a removed entry with the next one, renumbered, still breaks a link."""
    append(engine, 10)
    execute(engine, "DELETE FROM audit_entry WHERE seq = 5")
    execute(engine, "UPDATE audit_entry SET seq = 5 WHERE seq = 6")
    report = service.verify_chain(engine)
    assert (report.valid, report.first_broken) == (False, 5)


def test_a_cut_off_tail_is_detected(engine: Engine) -> None:
    append(engine, 10)
    execute(engine, "DELETE FROM audit_entry WHERE seq > 8")
    report = service.verify_chain(engine)
    assert (report.valid, report.first_broken, report.head_seq) == (False, 9, 10)
    assert report.reason is not None and "cut off" in report.reason


def test_a_cut_off_tail_with_the_head_rolled_back_shows_only_against_a_noted_head(engine: Engine) -> None:
    """The limit of any chain: cut the tail and rewind the head too, and only a head noted earlier tells."""
    entries = append(engine, 10)
    execute(engine, "DELETE FROM audit_entry WHERE seq > 8")
    execute(engine, "UPDATE audit_head SET seq = 8, hash = :h WHERE id = 1", h=entries[7].hash)
    report = service.verify_chain(engine)
    assert report.valid
    assert report.head_hash != entries[-1].hash  # what an auditor who noted the head compares


def test_a_tampered_head_is_detected(engine: Engine) -> None:
    append(engine, 10)
    execute(engine, "UPDATE audit_head SET hash = :h WHERE id = 1", h="f" * 64)
    report = service.verify_chain(engine)
    assert (report.valid, report.first_broken) == (False, 10)
    assert report.reason is not None and "head" in report.reason


def test_entries_past_the_head_are_detected(engine: Engine) -> None:
    entries = append(engine, 10)
    execute(engine, "UPDATE audit_head SET seq = 8, hash = :h WHERE id = 1", h=entries[7].hash)
    report = service.verify_chain(engine)
    assert (report.valid, report.first_broken) == (False, 9)


def test_without_a_head_the_log_refuses_entries_and_is_not_vouched_for(engine: Engine) -> None:
    append(engine, 3)
    execute(engine, "DELETE FROM audit_head")
    report = service.verify_chain(engine)
    assert not report.valid
    assert report.head_seq is None
    with pytest.raises(service.AuditUnavailable):
        service.append_exchange(engine, record())
    with pytest.raises(service.AuditUnavailable):
        service.ensure_chain(engine)  # a new genesis head would hide what happened


def test_ensure_chain_is_idempotent_and_safe_when_processes_start_together(databases: TestDatabases) -> None:
    engine = make_engine(databases.new_url(f"audit_{uuid.uuid4().hex[:8]}"))
    try:
        metadata.create_all(engine)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: service.ensure_chain(engine), range(8)))
        service.ensure_chain(engine)
        with Session(engine) as session:
            heads = session.exec(select(AuditHead)).all()
        assert [(h.id, h.seq, h.hash) for h in heads] == [(1, 0, GENESIS_HASH)]
    finally:
        engine.dispose()


def test_200_concurrent_appends_give_200_chained_entries(engine: Engine) -> None:
    records = [record() for _ in range(200)]
    workers = 48
    start = threading.Barrier(workers)

    def append_one(index: int) -> int:
        if index < workers:
            start.wait(timeout=30)  # the first 48 append at once: the lock, not luck, must keep the order
        return service.append_exchange(engine, records[index]).seq

    with ThreadPoolExecutor(max_workers=workers) as pool:
        seqs = list(pool.map(append_one, range(len(records))))
    assert sorted(seqs) == list(range(1, 201))
    with Session(engine) as session:
        stored = session.exec(select(AuditEntry.seq, AuditEntry.request_id).order_by(col(AuditEntry.seq))).all()
    assert [seq for seq, _ in stored] == list(range(1, 201))
    assert {rid for _, rid in stored} == {r.request_id for r in records}
    report = service.verify_chain(engine)
    assert report.valid, report.reason
    assert (report.entries, report.head_seq) == (200, 200)


async def test_200_concurrent_appends_from_the_event_loop(engine: Engine) -> None:
    """As the gateway appends: each request hands its entry to the thread pool."""
    entries = await asyncio.gather(*(run_in_threadpool(service.append_exchange, engine, record()) for _ in range(200)))
    assert sorted(e.seq for e in entries) == list(range(1, 201))
    report = await run_in_threadpool(service.verify_chain, engine)
    assert (report.valid, report.entries) == (True, 200)


def test_verifying_while_appends_go_on_never_reports_a_false_break(engine: Engine) -> None:
    append(engine, 5)
    stop = threading.Event()

    def keep_appending() -> int:
        count = 0
        while not stop.is_set():
            service.append_exchange(engine, record())
            count += 1
        return count

    with ThreadPoolExecutor(max_workers=4) as pool:
        writers = [pool.submit(keep_appending) for _ in range(3)]
        try:
            reports = [service.verify_chain(engine, batch=4) for _ in range(15)]
        finally:
            stop.set()
        appended = sum(w.result() for w in writers)
    assert all(r.valid for r in reports), [r.reason for r in reports if not r.valid]
    assert service.verify_chain(engine).entries == 5 + appended


# --- group commit ------------------------------------------------------------------------------------------------


def test_a_group_appended_in_one_transaction_is_the_chain_one_by_one_appends_make(databases: TestDatabases) -> None:
    records = [record(at=T0 + timedelta(seconds=n)) for n in range(7)]
    chains = []
    for grouped in (False, True):
        engine = make_engine(databases.new_url(f"audit_{uuid.uuid4().hex[:8]}"))
        metadata.create_all(engine)
        service.ensure_chain(engine)
        try:
            service.append_exchange(engine, record())  # a chain that does not start at the genesis
            if grouped:
                entries = service.append_exchanges(engine, records[:3]) + service.append_exchanges(engine, records[3:])
            else:
                entries = [service.append_exchange(engine, r) for r in records]
            report = service.verify_chain(engine)
        finally:
            engine.dispose()
        assert report.valid, report.reason
        assert (report.entries, report.head_seq, report.head_hash) == (8, 8, entries[-1].hash)
        chains.append([(e.seq, e.request_id, e.prev_hash == GENESIS_HASH) for e in entries])
    assert chains[0] == chains[1]
    assert [seq for seq, _, _ in chains[1]] == list(range(2, 9))


class _HeldFirstGroup:
    """Stands in for ``append_exchanges`` in the group committer: holds the first group until ``go`` is set, and
    notes every group's request ids, so that a test decides which appends arrive together."""

    def __init__(self, real: Any, *, failing: str | None = None, error: Exception | None = None) -> None:
        self.real, self.failing = real, failing
        self.error = error or ValueError(f"no such column value: {failing}")
        self.go, self.first_started = threading.Event(), threading.Event()
        self.groups: list[list[str]] = []

    def __call__(self, engine: Engine, records: list[ExchangeRecord]) -> list[AuditEntry]:
        self.groups.append([r.request_id for r in records])
        if len(self.groups) == 1:
            self.first_started.set()
            assert self.go.wait(timeout=30)
        if any(r.request_id == self.failing for r in records):
            raise self.error
        return self.real(engine, records)


def _wait_for(condition: Any) -> None:
    for _ in range(3000):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError("condition not reached in 30 s")


def test_appends_that_arrive_while_a_group_is_written_share_the_next_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _HeldFirstGroup(service.append_exchanges)
    monkeypatch.setattr(group_commit, "append_exchanges", held)
    committer = group_commit.GroupCommit(engine)
    first, later = record(request_id="first"), [record(request_id=f"later-{n}") for n in range(10)]
    with ThreadPoolExecutor(max_workers=11) as pool:
        leading = pool.submit(committer.append, first)
        assert held.first_started.wait(timeout=30)
        waiting = [pool.submit(committer.append, r) for r in later]
        _wait_for(lambda: len(committer._waiting) == len(later))
        held.go.set()
        entries = [leading.result(timeout=30)] + [w.result(timeout=30) for w in waiting]
    # Two transactions: the first alone, then the ten that queued behind it, led by the first of them.
    assert held.groups == [["first"], [r.request_id for r in later]]
    assert (committer.groups, committer.appended) == (2, 11)
    assert [e.request_id for e in entries] == ["first"] + [r.request_id for r in later]
    assert [e.seq for e in entries] == list(range(1, 12))
    report = service.verify_chain(engine)
    assert (report.valid, report.entries) == (True, 11)


def test_a_record_that_fails_its_group_fails_alone(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    held = _HeldFirstGroup(service.append_exchanges, failing="bad")
    monkeypatch.setattr(group_commit, "append_exchanges", held)
    committer = group_commit.GroupCommit(engine)
    later = [record(request_id=name) for name in ("good-1", "bad", "good-2")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        leading = pool.submit(committer.append, record(request_id="first"))
        assert held.first_started.wait(timeout=30)
        waiting = [pool.submit(committer.append, r) for r in later]
        _wait_for(lambda: len(committer._waiting) == len(later))
        held.go.set()
        assert leading.result(timeout=30).seq == 1
        with pytest.raises(ValueError, match="bad"):
            waiting[1].result(timeout=30)
        good = [waiting[0].result(timeout=30), waiting[2].result(timeout=30)]
    # The group of three failed as a whole; written again one by one, only the bad record's append failed.
    assert held.groups == [["first"], ["good-1", "bad", "good-2"], ["good-1"], ["bad"], ["good-2"]]
    assert [(e.request_id, e.seq) for e in good] == [("good-1", 2), ("good-2", 3)]
    report = service.verify_chain(engine)
    assert (report.valid, report.entries) == (True, 3)


def test_a_database_that_stays_locked_fails_the_group_at_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = OperationalError("INSERT INTO audit_entry …", {}, Exception("database is locked"))
    held = _HeldFirstGroup(service.append_exchanges, failing="b", error=locked)
    monkeypatch.setattr(group_commit, "append_exchanges", held)
    committer = group_commit.GroupCommit(engine)
    with ThreadPoolExecutor(max_workers=3) as pool:
        leading = pool.submit(committer.append, record(request_id="first"))
        assert held.first_started.wait(timeout=30)
        waiting = [pool.submit(committer.append, record(request_id=name)) for name in ("a", "b")]
        _wait_for(lambda: len(committer._waiting) == 2)
        held.go.set()
        assert leading.result(timeout=30).seq == 1
        for append in waiting:
            with pytest.raises(OperationalError, match="locked"):
                append.result(timeout=30)
    # Not written again one by one: a locked database is the same for every record, and each try waits.
    assert held.groups == [["first"], ["a", "b"]]
    assert service.verify_chain(engine).entries == 1


def test_a_lone_append_is_written_at_once_and_its_error_is_its_own(engine: Engine) -> None:
    committer = group_commit.GroupCommit(engine)
    assert committer.append(record()).seq == 1
    with Session(engine) as session:
        session.exec(text("DELETE FROM audit_head"))  # type: ignore[call-overload]
        session.commit()
    with pytest.raises(service.AuditUnavailable):
        committer.append(record())
    assert (committer.groups, committer.appended) == (2, 2)


def test_200_appends_from_48_threads_through_one_committer_chain_without_gaps(engine: Engine) -> None:
    committer = group_commit.GroupCommit(engine)
    records = [record() for _ in range(200)]
    workers = 48
    start = threading.Barrier(workers)

    def append_one(index: int) -> AuditEntry:
        if index < workers:
            start.wait(timeout=30)
        return committer.append(records[index])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        entries = list(pool.map(append_one, range(len(records))))
    assert [e.request_id for e in entries] == [r.request_id for r in records]
    assert sorted(e.seq for e in entries) == list(range(1, 201))
    assert committer.appended == 200
    report = service.verify_chain(engine)
    assert (report.valid, report.entries, report.head_seq) == (True, 200, 200)


# --- the tracker's query -----------------------------------------------------------------------------------------


def test_access_log_is_newest_first_and_pages_by_cursor(engine: Engine) -> None:
    mine = append(engine, 5)
    append(engine, 2, subject=OTHER_SUBJECT)
    with Session(engine) as session:
        pages = []
        before = None
        while True:
            page = service.access_log(session, subject=SUBJECT, now=T0, limit=2, before=before)
            pages.append([e.seq for e in page.entries])
            if page.next is None:
                break
            before = page.next
    assert pages == [[5, 4], [3, 2], [1]]
    assert {e.seq for e in mine} == {1, 2, 3, 4, 5}


def test_access_log_hides_delayed_entries_until_their_date(engine: Engine) -> None:
    append(engine, 1)
    append(engine, 1, disclose_at=T0 + timedelta(days=30), purpose="investigation")
    with Session(engine) as session:
        now = service.access_log(session, subject=SUBJECT, now=T0 + timedelta(days=29), limit=10, before=None)
        later = service.access_log(session, subject=SUBJECT, now=T0 + timedelta(days=30), limit=10, before=None)
        beijing = timezone(timedelta(hours=8))
        local_now = (T0 + timedelta(days=29, hours=23)).astimezone(beijing)  # same instant, other zone
        local = service.access_log(session, subject=SUBJECT, now=local_now, limit=10, before=None)
    assert [e.seq for e in now.entries] == [1]
    assert [e.seq for e in later.entries] == [2, 1]
    assert [e.seq for e in local.entries] == [1]


def test_access_log_leaves_out_my_own_look_unless_asked(engine: Engine) -> None:
    append(engine, 1)
    append(engine, 1, requester_kind="resident", user=SUBJECT, requester_city=None, purpose="self-service")
    append(engine, 1, requester_kind="resident", user=OTHER_SUBJECT, requester_city=None, purpose="family")
    with Session(engine) as session:
        default = service.access_log(session, subject=SUBJECT, now=T0, limit=10, before=None)
        everything = service.access_log(session, subject=SUBJECT, now=T0, limit=10, before=None, include_own=True)
    assert [e.seq for e in default.entries] == [3, 1]
    assert [e.seq for e in everything.entries] == [3, 2, 1]


# --- the routes --------------------------------------------------------------------------------------------------


async def client_token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await client.post("/v1/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def my_access_log(client: httpx.AsyncClient, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of the tracker, followed to its end."""
    items: list[dict[str, Any]] = []
    before = None
    while True:
        query = {"limit": 100, **params} | ({} if before is None else {"before": before})
        response = await client.get("/v1/me/access-log", params=query, headers=bearer(token))
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if body["next"] is None:
            return items
        before = body["next"]


async def test_my_access_log_tells_when_who_why_and_what(world: World) -> None:
    engine: Engine = world.gateway.state.engine
    subject = pseudonym(LIU_YANG, key=TEST_HASH_KEY)
    now = datetime.now(UTC)
    lookup = record(subject=subject, at=now - timedelta(minutes=3))
    denied = record(subject=subject, at=now - timedelta(minutes=2), outcome="denied", fields_released=())
    delayed = record(subject=subject, at=now - timedelta(minutes=1), disclose_at=now + timedelta(days=90))
    own = record(subject=subject, at=now, requester_kind="resident", user=subject, requester_city=None)
    for r in (lookup, denied, delayed, own):
        await run_in_threadpool(service.append_exchange, engine, r)
    ours = {r.request_id for r in (lookup, denied, delayed, own)}

    token = await login(world.client, LIU_YANG)
    items = [i for i in await my_access_log(world.client, token) if i["request_id"] in ours]
    assert [i["request_id"] for i in items] == [denied.request_id, lookup.request_id]  # newest first
    seen = items[1]
    assert seen["who"] == {
        "kind": "official",
        "city": {"code": "430200", "name": "株洲", "name_en": "Zhuzhou"},
        "department": "provident_fund",
        "role": "clerk",
        "client_id": "czt-portal",
    }
    assert seen["why"] == {"purpose": "case-handling", "case_ref": "株公积金〔2026〕17号"}
    assert seen["what"]["categories"] == ["identity", "provident_fund.account"]
    assert [c["name"] for c in seen["what"]["cities"]] == ["长沙", "株洲"]
    assert "identity.id_number~partial" in seen["what"]["fields_released"]
    assert (seen["outcome"], seen["decision_id"]) == ("partial", lookup.decision_id)
    assert datetime.fromisoformat(seen["at"]) == lookup.at
    assert items[0]["outcome"] == "denied"

    with_own = [i for i in await my_access_log(world.client, token, include_own=True) if i["request_id"] in ours]
    assert [i["request_id"] for i in with_own] == [own.request_id, denied.request_id, lookup.request_id]
    assert with_own[0]["who"]["city"] is None


async def test_lookups_sent_at_once_are_each_on_record_before_their_answer(world: World) -> None:
    """Through the gateway's group commit: every lookup's decision is in the chain, which still verifies."""
    engine: Engine = world.gateway.state.engine
    committer = world.gateway.state.governance.audit
    appended_before = committer.appended
    token = await login(world.client, LIU_YANG)
    answers = await asyncio.gather(*(world.client.get("/v1/me/records", headers=bearer(token)) for _ in range(12)))
    assert [a.status_code for a in answers] == [200] * 12
    decisions = {a.json()["decision_id"] for a in answers}
    with Session(engine) as session:
        rows = session.exec(select(AuditEntry.seq).where(col(AuditEntry.decision_id).in_(decisions))).all()
    assert len(rows) == 12, rows
    assert committer.appended - appended_before >= 12  # a background flow of another test may append too
    assert (await run_in_threadpool(service.verify_chain, engine)).valid


async def test_my_access_log_shows_nobody_elses_records(world: World) -> None:
    engine: Engine = world.gateway.state.engine
    elsewhere = record(subject=pseudonym("430302195803089240", key=TEST_HASH_KEY))
    await run_in_threadpool(service.append_exchange, engine, elsewhere)
    token = await login(world.client, LIU_YANG)
    assert elsewhere.request_id not in {i["request_id"] for i in await my_access_log(world.client, token)}


async def test_an_unknown_city_is_named_by_its_code(world: World) -> None:
    subject = pseudonym(LIU_YANG, key=TEST_HASH_KEY)
    gone = record(subject=subject, requester_city="430600", cities=("430600",))
    await run_in_threadpool(service.append_exchange, world.gateway.state.engine, gone)
    token = await login(world.client, LIU_YANG)
    (item,) = [i for i in await my_access_log(world.client, token) if i["request_id"] == gone.request_id]
    assert item["who"]["city"] == {"code": "430600", "name": "430600", "name_en": ""}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"before": 0}, {"limit": "many"}])
async def test_access_log_rejects_bad_paging(world: World, params: dict[str, Any]) -> None:
    token = await login(world.client, LIU_YANG)
    response = await world.client.get("/v1/me/access-log", params=params, headers=bearer(token))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["invalid-params"][0]["name"].startswith("query.")


async def test_access_log_is_for_signed_in_residents(world: World) -> None:
    anonymous = await world.client.get("/v1/me/access-log")
    assert anonymous.status_code == 401
    official = await login(world.client, "zz-gjj-tan", DEMO_OFFICIAL_PASSWORD)
    response = await world.client.get("/v1/me/access-log", headers=bearer(official))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


async def test_an_auditor_verifies_the_chain_and_reads_the_raw_log(world: World) -> None:
    engine: Engine = world.gateway.state.engine
    appended = [await run_in_threadpool(service.append_exchange, engine, record()) for _ in range(3)]
    token = await client_token(world.client, "demo-auditor", "czt-auditor-secret")

    verified = await world.client.get("/v1/admin/audit/verify", headers=bearer(token))
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["valid"] is True, report
    assert report["head_seq"] >= appended[-1].seq
    assert report["entries"] == report["head_seq"]

    first = await world.client.get("/v1/admin/audit", params={"limit": 2}, headers=bearer(token))
    assert first.status_code == 200, first.text
    page = first.json()
    seqs = [e["seq"] for e in page["entries"]]
    assert len(seqs) == 2 and seqs[0] > seqs[1] and page["next"] == seqs[1]
    following = await world.client.get(
        "/v1/admin/audit", params={"limit": 100, "before": appended[-1].seq + 1}, headers=bearer(token)
    )
    entries = following.json()["entries"]
    assert [e["seq"] for e in entries[:3]] == [appended[2].seq, appended[1].seq, appended[0].seq]
    newest = entries[0]
    assert (newest["hash"], newest["prev_hash"]) == (appended[2].hash, appended[2].prev_hash)
    assert newest["fields_released"] == [
        "identity.name",
        "identity.id_number~partial",
        "provident_fund.account.balance",
    ]
    assert newest["request_id"] == appended[2].request_id


@pytest.mark.parametrize("path", ["/v1/admin/audit/verify", "/v1/admin/audit"])
async def test_only_auditors_read_the_audit_log(world: World, path: str) -> None:
    integrator = await client_token(world.client, "demo-integrator", "czt-integrator-secret")
    resident = await login(world.client, LIU_YANG)
    for token in (integrator, resident):
        response = await world.client.get(path, headers=bearer(token))
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["type"] == "urn:czt:problem:forbidden"
    assert (await world.client.get(path)).status_code == 401
