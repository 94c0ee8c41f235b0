"""Replay: the decisions on record, decided again under a candidate policy, with consents as they stood then.

Exact tests write entries into fresh databases of their own; the end-to-end tests make real exchanges through the
shared ``world`` gateway, whose log other tests append to as well, so they replay only their own request ids.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from commons.db import make_engine
from gateway.audit import service as audit_service
from gateway.audit.models import AuditEntry, ExchangeRecord
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.consent.models import Consent, GranteeKind
from gateway.consent.service import covering_consents, covers_at
from gateway.db import metadata
from gateway.policy.replay import ReplayReport, reevaluate, replay_entries, replay_log
from gateway.policy.service import HOLDER_PRESENTED, ISSUER_REVOCATION
from gateway.settings import policy_path
from governance.catalogue import CATEGORY_NAMES
from governance.engine import CompiledPolicy, Requester, RequesterKind, compile_policy
from governance.masks import pseudonym
from governance.policy import load_policy, parse_policy
from tests.conftest import TEST_HASH_KEY, World, bearer, login
from tests.databases import TestDatabases

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)
ZHUZHOU, CHANGSHA = "430200", "430100"
LIU_YANG = "430203199005129171"
FUND_LOOKUP = ("identity", "provident_fund.account")
STRICT_FUND_FIELDS = {
    "identity.name~partial",
    "identity.id_number~hash",
    "provident_fund.account.status",
    "provident_fund.account.balance",
    "provident_fund.account.account_no~hash",
}
"""Some of what strict releases to the 公积金中心 for a transfer, with consent."""


def shipped(name: str) -> CompiledPolicy:
    return compile_policy(load_policy(policy_path(name)))


DEFAULT, STRICT, OPEN = shipped("default"), shipped("strict"), shipped("open")


def new_subject() -> str:
    return pseudonym(uuid.uuid4().hex, key=TEST_HASH_KEY)


def record(**overrides: Any) -> ExchangeRecord:
    """株洲 公积金中心's lookup of a resident for a transfer, as the default policy decided it."""
    values: dict[str, Any] = {
        "at": T0,
        "request_id": uuid.uuid4().hex,
        "decision_id": uuid.uuid4().hex,
        "service": "records.lookup",
        "policy": DEFAULT.version,
        "requester_kind": "official",
        "client_id": "czt-portal",
        "user": "zz-gjj-tan",
        "requester_city": ZHUZHOU,
        "requester_department": "provident_fund",
        "requester_role": "clerk",
        "subject": new_subject(),
        "cities": (CHANGSHA, ZHUZHOU),
        "categories": FUND_LOOKUP,
        "purpose": "fund-transfer",
        "case_ref": None,
        "outcome": "allowed",
        "rules": ("fund-centre-services",),
        "fields_released": ("identity.name", "provident_fund.account.balance"),
        "consents": (),
        "disclose_at": None,
    }
    values.update(overrides)
    return ExchangeRecord(**values)


def consent(
    subject: str,
    *,
    city: str | None = ZHUZHOU,
    department: str | None = "provident_fund",
    client_id: str | None = None,
    categories: tuple[str, ...] = FUND_LOOKUP,
    purposes: tuple[str, ...] = ("fund-transfer",),
    created_at: datetime = T0 - timedelta(days=2),
    valid_from: datetime | None = None,
    valid_until: datetime = T0 + timedelta(days=30),
    revoked_at: datetime | None = None,
) -> Consent:
    """A consent row as the grant route stores it (a client grantee when ``client_id`` is given)."""
    return Consent(
        consent_id=uuid.uuid4().hex,
        subject=subject,
        grantee_kind=GranteeKind.CLIENT if client_id else GranteeKind.OFFICIAL,
        grantee_city=None if client_id else city,
        grantee_department=None if client_id else department,
        grantee_client_id=client_id,
        categories=json.dumps(categories),
        purposes=json.dumps(purposes),
        valid_from=created_at if valid_from is None else valid_from,
        valid_until=valid_until,
        created_at=created_at,
        revoked_at=revoked_at,
    )


@pytest.fixture
def engine(databases: TestDatabases) -> Iterator[Engine]:
    """A fresh gateway database with an empty audit chain."""
    engine = make_engine(databases.new_url(f"replay_{uuid.uuid4().hex[:8]}"))
    metadata.create_all(engine)
    audit_service.ensure_chain(engine)
    yield engine
    engine.dispose()


def append(engine: Engine, **overrides: Any) -> AuditEntry:
    return audit_service.append_exchange(engine, record(**overrides))


def store(engine: Engine, *rows: Consent) -> None:
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


def replay(engine: Engine, candidate: CompiledPolicy, **options: Any) -> ReplayReport:
    with Session(engine) as session:
        return replay_log(session=session, candidate=candidate, **options)


# --- one entry, decided again ------------------------------------------------------------------------------------


def test_strict_refuses_an_official_lookup_that_had_no_consent(engine: Engine) -> None:
    result = reevaluate(append(engine), [], candidate=STRICT)
    assert not isinstance(result, str)
    assert result.outcome.name == "denied"
    assert result.outcome.consent_only
    assert result.fields == frozenset()
    assert {d.rule for d in result.decisions.values()} == {
        "official-identity-consented",
        "fund-centre-transfer-consented",
    }


def test_a_consent_active_at_the_entrys_time_counts(engine: Engine) -> None:
    entry = append(engine)
    assert entry.subject is not None
    # Granted before, revoked after: it covered the exchange when it happened.
    active_then = consent(entry.subject, revoked_at=T0 + timedelta(hours=1))
    result = reevaluate(entry, [active_then], candidate=STRICT)
    assert not isinstance(result, str)
    assert result.outcome.name == "allowed"
    assert result.fields >= STRICT_FUND_FIELDS


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(
            {"created_at": T0 + timedelta(seconds=1), "valid_from": T0 - timedelta(days=1)}, id="granted-after"
        ),
        pytest.param({"revoked_at": T0 - timedelta(seconds=1)}, id="revoked-before"),
        pytest.param({"revoked_at": T0}, id="revoked-at-that-moment"),
        pytest.param({"valid_until": T0}, id="expired"),
        pytest.param({"valid_from": T0 + timedelta(days=1)}, id="not-yet-valid"),
    ],
)
def test_a_consent_not_in_force_at_the_entrys_time_does_not_count(engine: Engine, when: dict[str, Any]) -> None:
    entry = append(engine)
    assert entry.subject is not None
    result = reevaluate(entry, [consent(entry.subject, **when)], candidate=STRICT)
    assert not isinstance(result, str)
    assert result.outcome.name == "denied"


@pytest.mark.parametrize(
    "grant",
    [
        pytest.param({"city": CHANGSHA}, id="another-city"),
        pytest.param({"department": "medical_insurance"}, id="another-department"),
        pytest.param({"client_id": "demo-integrator"}, id="a-client"),
        pytest.param({"purposes": ("loan-application",)}, id="another-purpose"),
    ],
)
def test_a_consent_to_someone_else_or_for_something_else_does_not_count(engine: Engine, grant: dict[str, Any]) -> None:
    entry = append(engine)
    assert entry.subject is not None
    result = reevaluate(entry, [consent(entry.subject, **grant), consent(new_subject())], candidate=STRICT)
    assert not isinstance(result, str)
    assert result.outcome.name == "denied"


def test_a_city_wide_consent_covers_the_department_and_each_category_counts_alone(engine: Engine) -> None:
    entry = append(engine)
    assert entry.subject is not None
    identity_only = consent(entry.subject, department=None, categories=("identity",))
    result = reevaluate(entry, [identity_only], candidate=STRICT)
    assert not isinstance(result, str)
    assert result.outcome.name == "partial"
    assert result.fields == {"identity.name~partial", "identity.id_number~hash"}


def test_the_historical_rule_agrees_with_the_live_lookup_now(engine: Engine) -> None:
    """covers_at (Python, any moment) and covering_consents (SQL, now) must never drift apart."""
    now = datetime.now(UTC)
    subject = new_subject()
    windows: tuple[dict[str, Any], ...] = (
        {},
        {"revoked_at": now - timedelta(hours=1)},
        {"valid_until": now - timedelta(hours=1)},
    )
    rows = [
        consent(subject, city=city, department=department, client_id=client, created_at=now - timedelta(days=1), **when)
        for city, department, client, when in itertools.product(
            (ZHUZHOU, CHANGSHA),
            (None, "provident_fund", "talent"),
            (None, "demo-integrator"),
            windows,
        )
    ]
    rows.append(consent(subject, created_at=now - timedelta(days=1), valid_from=now + timedelta(days=1)))
    store(engine, *rows)
    requesters = [
        Requester(RequesterKind.OFFICIAL, "czt-portal", city=city, department=department)
        for city, department in itertools.product((ZHUZHOU, CHANGSHA, None), (None, "provident_fund", "talent"))
    ] + [
        Requester(RequesterKind.CLIENT, "demo-integrator"),
        Requester(RequesterKind.CLIENT, "demo-auditor"),
        Requester(RequesterKind.RESIDENT, "czt-portal", city=ZHUZHOU),
    ]
    with Session(engine) as session:
        stored = session.exec(select(Consent).where(col(Consent.subject) == subject)).all()
        for requester in requesters:
            live = {c.consent_id for c in covering_consents(session, subject=subject, requester=requester, now=now)}
            replayed = {c.consent_id for row in stored if (c := covers_at(row, requester=requester, at=now))}
            assert replayed == live, requester


def test_a_resident_reading_their_own_records_needs_no_consent_and_another_residents_stays_refused(
    engine: Engine,
) -> None:
    me = new_subject()
    own = {
        "service": "records.self",
        "requester_kind": "resident",
        "user": me,
        "subject": me,
        "requester_city": None,
        "requester_department": None,
        "requester_role": None,
        "categories": CATEGORY_NAMES,
        "purpose": "self-service",
    }
    mine = reevaluate(append(engine, **own), [], candidate=STRICT)
    theirs = reevaluate(append(engine, **own | {"subject": new_subject()}), [], candidate=OPEN)
    assert not isinstance(mine, str) and not isinstance(theirs, str)
    assert mine.outcome.name == "allowed"
    assert theirs.outcome.name == "denied"
    assert "own records" in (theirs.outcome.refusal or "")


def test_a_mask_that_changes_shows_as_one_form_removed_and_another_added(engine: Engine) -> None:
    candidate = compile_policy(
        parse_policy(
            """
policy: hash-names
title: t
rules:
  - id: fund
    requester: {kind: official}
    categories: [identity]
    purposes: [fund-transfer]
    mask: {name: hash}
"""
        )
    )
    append(engine, categories=("identity",), fields_released=("identity.name~partial",))
    report = replay(engine, candidate)
    assert report.transitions == {"allowed→allowed": 1}
    assert report.fields_added == {"identity.name~hash": 1}
    assert report.fields_removed == {"identity.name~partial": 1}
    assert report.by_rule == {"fund": 1}
    assert report.changed_entries[0].candidate_rules == {"identity": "fund"}


# --- the report --------------------------------------------------------------------------------------------------


def test_the_report_counts_transitions_services_rules_fields_and_residents(engine: Engine) -> None:
    someone, someone_else = new_subject(), new_subject()
    append(engine, subject=someone)
    append(engine, subject=someone, purpose="loan-application")
    append(engine, subject=someone_else)
    append(
        engine,
        subject=someone_else,
        service="provident_fund.transfer",
        categories=("provident_fund.account",),
        fields_released=("provident_fund.account.balance",),
    )
    store(engine, consent(someone_else, created_at=T0 - timedelta(days=1)))

    report = replay(engine, STRICT)

    assert (report.entries_read, report.reevaluated, report.skipped) == (4, 4, {})
    assert report.candidate == STRICT.version
    assert report.recorded_policies == {DEFAULT.version: 4}
    assert (report.changed, report.unchanged) == (4, 0)
    # someone had no consent: both their lookups refused; someone else's consent lets theirs through
    assert report.transitions == {"allowed→denied": 2, "allowed→allowed": 2}
    assert report.consent_only == 2
    assert report.residents_affected == 2
    assert report.by_service["records.lookup"].model_dump() == {"reevaluated": 3, "changed": 3}
    assert report.by_service["provident_fund.transfer"].model_dump() == {"reevaluated": 1, "changed": 1}
    assert report.by_rule["fund-centre-transfer-consented"] == 4
    assert report.fields_removed["identity.name"] == 3
    assert report.fields_removed["provident_fund.account.balance"] == 2
    assert report.fields_added["identity.name~partial"] == 1
    assert [e.seq for e in report.changed_entries] == [1, 2, 3, 4]
    refused = report.changed_entries[0]
    assert refused.requester == "official zz-gjj-tan (430200 provident_fund clerk)"
    assert (refused.recorded_outcome, refused.candidate_outcome) == ("allowed", "denied")
    assert refused.fields_added == [] and refused.fields_removed == ["identity.name", "provident_fund.account.balance"]
    assert refused.candidate_reason is not None and "consent" in refused.candidate_reason
    assert report.changed_entries[2].candidate_reason is None


def test_entries_no_rule_gates_and_unreadable_ones_are_skipped_by_reason(engine: Engine) -> None:
    append(engine, rules=(HOLDER_PRESENTED,), service="talent.credential-verification")
    append(engine, rules=(HOLDER_PRESENTED,), service="talent.credential-verification")
    append(engine, rules=(ISSUER_REVOCATION,), service="talent.credential-revocation")
    append(engine, service="records.retired-service")
    append(engine, categories=("identity", "provident_fund.pension"))
    broken = append(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entry SET categories = 'not json' WHERE seq = :seq"), {"seq": broken.seq})
    append(engine)

    report = replay(engine, DEFAULT)

    assert report.entries_read == 7
    assert report.reevaluated == 1
    assert sum(report.skipped.values()) == 6
    assert report.skipped[f"ungated {HOLDER_PRESENTED}"] == 2
    assert report.skipped[f"ungated {ISSUER_REVOCATION}"] == 1
    assert any("records.retired-service" in reason for reason in report.skipped)
    assert any("provident_fund.pension" in reason for reason in report.skipped)
    assert any("unreadable" in reason for reason in report.skipped)


def test_limit_takes_the_most_recent_entries_and_keep_bounds_the_list_not_the_counts(engine: Engine) -> None:
    for _ in range(5):
        append(engine)
    report = replay(engine, STRICT, limit=3, keep=2)
    assert (report.entries_read, report.first_seq, report.last_seq) == (3, 3, 5)
    assert report.changed == 3
    assert [e.seq for e in report.changed_entries] == [3, 4]


def test_reading_in_batches_gives_each_entry_its_own_subjects_consents(engine: Engine) -> None:
    subjects = [new_subject() for _ in range(7)]
    for subject in subjects:
        append(engine, subject=subject)
    store(engine, *(consent(subject) for subject in subjects[::2]))
    report = replay(engine, STRICT, batch=2)
    assert report.entries_read == 7
    allowed = {e.subject for e in report.changed_entries if e.candidate_outcome == "allowed"}
    assert allowed == set(subjects[::2])


def test_an_empty_log_reads_nothing(engine: Engine) -> None:
    report = replay(engine, STRICT)
    assert (report.entries_read, report.first_seq, report.changed, report.changed_entries) == (0, None, 0, [])


def test_the_pure_tally_needs_no_database(engine: Engine) -> None:
    entries = [append(engine), append(engine)]
    assert entries[0].subject is not None
    report = replay_entries(((e, [consent(entries[0].subject)]) for e in entries), candidate=STRICT, keep=0)
    assert report.transitions == {"allowed→allowed": 1, "allowed→denied": 1}
    assert report.changed_entries == []


# --- real exchanges through the gateway --------------------------------------------------------------------------


async def clear_consents(client: httpx.AsyncClient, id_number: str) -> dict[str, str]:
    """The resident's headers, after revoking every consent they hold (other tests share the database)."""
    headers = bearer(await login(client, id_number))
    listed = await client.get("/v1/me/consents", headers=headers)
    for held in listed.json():
        if held["status"] in ("active", "pending"):
            await client.delete(f"/v1/me/consents/{held['consent_id']}", headers=headers)
    return headers


async def integrator(client: httpx.AsyncClient) -> dict[str, str]:
    grant = await client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials"}, auth=("demo-integrator", "czt-integrator-secret")
    )
    assert grant.status_code == 200, grant.text
    return bearer(grant.json()["access_token"])


async def fund_lookup(world: World, headers: dict[str, str], request_id: str) -> int:
    response = await world.client.get(
        f"/v1/residents/{LIU_YANG}/records",
        params={"purpose": "fund-transfer"},
        headers={**headers, "X-Request-ID": request_id},
    )
    return response.status_code


def replay_world(world: World, candidate: CompiledPolicy, request_ids: list[str]) -> dict[str, Any]:
    """The replay of these requests' entries: the report, and each changed entry by its request id."""
    engine = make_engine(world.gateway_database_url)
    try:
        with Session(engine) as session:
            report = replay_log(session=session, candidate=candidate, request_ids=request_ids)
    finally:
        engine.dispose()
    assert report.entries_read == len(request_ids)
    return {"report": report, "changed": {e.request_id: e for e in report.changed_entries}}


async def test_real_decisions_replay_unchanged_under_their_own_policy_and_change_under_others(world: World) -> None:
    liu = await clear_consents(world.client, LIU_YANG)
    official = bearer(await login(world.client, "zz-gjj-tan", DEMO_OFFICIAL_PASSWORD))
    tag = uuid.uuid4().hex[:8]
    by_official, by_client, by_herself = f"replay-off-{tag}", f"replay-cli-{tag}", f"replay-own-{tag}"
    assert await fund_lookup(world, official, by_official) == 200
    refused = await world.client.get(
        f"/v1/residents/{LIU_YANG}/records",
        params={"purpose": "case-handling"},
        headers={**(await integrator(world.client)), "X-Request-ID": by_client},
    )
    assert refused.status_code == 403
    own = await world.client.get("/v1/me/records", headers={**liu, "X-Request-ID": by_herself})
    assert own.status_code == 200
    ids = [by_official, by_client, by_herself]

    # The policy that made them decides them the same way again: the rebuilt requests and fields are faithful.
    same = replay_world(world, DEFAULT, ids)["report"]
    assert (same.reevaluated, same.changed, same.skipped) == (3, 0, {})

    strict = replay_world(world, STRICT, ids)
    assert set(strict["changed"]) == {by_official}  # her own records stay hers; the client saw nothing anyway
    looked_up = strict["changed"][by_official]
    assert (looked_up.recorded_outcome, looked_up.candidate_outcome) == ("partial", "denied")
    assert "identity.id_number~partial" in looked_up.fields_removed
    assert strict["report"].consent_only == 1

    opened = replay_world(world, OPEN, ids)["changed"]
    assert (opened[by_client].recorded_outcome, opened[by_client].candidate_outcome) == ("denied", "allowed")
    assert "identity.id_number~partial" in opened[by_client].fields_added
    assert by_herself not in opened


async def test_a_consent_counts_for_the_exchanges_made_while_it_was_in_force(world: World) -> None:
    liu = await clear_consents(world.client, LIU_YANG)
    official = bearer(await login(world.client, "zz-gjj-tan", DEMO_OFFICIAL_PASSWORD))
    tag = uuid.uuid4().hex[:8]
    before, during, after = (f"replay-{when}-{tag}" for when in ("before", "during", "after"))

    assert await fund_lookup(world, official, before) == 200
    granted = await world.client.post(
        "/v1/me/consents",
        json={
            "grantee": {"kind": "official", "city_code": ZHUZHOU, "department": "provident_fund"},
            "categories": ["identity", "provident_fund.*"],
            "purposes": ["fund-transfer"],
            # back-dated: a grant made later must still not count for the lookup before it
            "valid_from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
        headers=liu,
    )
    assert granted.status_code == 201, granted.text
    assert await fund_lookup(world, official, during) == 200
    revoked = await world.client.delete(f"/v1/me/consents/{granted.json()['consent_id']}", headers=liu)
    assert revoked.status_code == 200
    assert await fund_lookup(world, official, after) == 200

    changed = replay_world(world, STRICT, [before, during, after])["changed"]
    assert changed[before].candidate_outcome == "denied"
    assert changed[after].candidate_outcome == "denied"
    # While consented, strict releases its own (fewer, more masked) fields: same outcome, other fields.
    assert (changed[during].recorded_outcome, changed[during].candidate_outcome) == ("partial", "partial")
    assert "identity.id_number~hash" in changed[during].fields_added
    assert "identity.id_number~partial" in changed[during].fields_removed


async def test_replay_reads_a_log_another_gateway_is_appending_to(world: World) -> None:
    """Replay only reads: a gateway under another policy keeps appending and the chain stays intact."""
    async with AsyncExitStack() as stack:
        strict = await world.another_gateway(stack, policy="strict")
        request_id = f"replay-strict-{uuid.uuid4().hex[:8]}"
        official = bearer(await login(strict.client, "zz-gjj-tan", DEMO_OFFICIAL_PASSWORD))
        await fund_lookup(strict, official, request_id)
        report = replay_world(world, STRICT, [request_id])["report"]
        assert report.recorded_policies == {STRICT.version: 1}
        assert report.changed == 0
    engine = make_engine(world.gateway_database_url)
    try:
        assert audit_service.verify_chain(engine).valid
    finally:
        engine.dispose()
