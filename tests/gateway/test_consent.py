"""Residents' consent: grant, list, revoke through the API, and the lookup policy enforcement relies on.

The first part checks the lookup (``covering_consents``, ``consent_for``, ``record_uses``) against a database of
its own; the rest runs the gateway over the three cities. The gateway database is shared by the whole session,
so every test asserts on its own consent ids or its own data subjects.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from commons.db import make_engine
from gateway.auth.demo import DEMO_CLIENTS, DEMO_OFFICIAL_PASSWORD
from gateway.consent.models import Consent, ConsentStatus, GranteeKind
from gateway.consent.service import (
    ConsentCover,
    consent_for,
    consent_status,
    consent_subject,
    covering_consents,
    record_uses,
)
from gateway.db import metadata
from governance.engine import Requester, RequesterKind
from schemas.problems import PROBLEM_MEDIA_TYPE, ProblemType
from tests.conftest import TEST_HASH_KEY, World, bearer, login
from tests.databases import TestDatabases

LIU_YANG, WANG_XIUYING, CHEN_JING = "430203199005129171", "430302195803089240", "430104198611239369"
CHANGSHA, ZHUZHOU = "430100", "430200"
INTEGRATOR = DEMO_CLIENTS[0]
FUND_OFFICIAL = Requester(RequesterKind.OFFICIAL, client_id="czt-gateway", city=ZHUZHOU, department="provident_fund")
NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
BEIJING = timezone(timedelta(hours=8))


def official(city: str | None, department: str | None) -> Requester:
    return Requester(RequesterKind.OFFICIAL, client_id="czt-gateway", city=city, department=department)


def client(client_id: str) -> Requester:
    return Requester(RequesterKind.CLIENT, client_id=client_id)


# --- consent_for: pure ---------------------------------------------------------------------------------------


def cover(consent_id: str, categories: set[str], purposes: set[str]) -> ConsentCover:
    return ConsentCover(consent_id=consent_id, categories=frozenset(categories), purposes=frozenset(purposes))


def test_consent_for_names_the_first_consent_covering_both_category_and_purpose() -> None:
    covers = [
        cover("a", {"provident_fund.account"}, {"loan-application"}),
        cover("b", {"provident_fund.account", "provident_fund.deposits"}, {"fund-transfer"}),
        cover("c", {"provident_fund.deposits"}, {"fund-transfer", "loan-application"}),
    ]
    assert consent_for(covers, category="provident_fund.account", purpose="loan-application") == "a"
    assert consent_for(covers, category="provident_fund.account", purpose="fund-transfer") == "b"
    assert consent_for(covers, category="provident_fund.deposits", purpose="fund-transfer") == "b"
    assert consent_for(covers, category="provident_fund.deposits", purpose="loan-application") == "c"


def test_consent_for_needs_category_and_purpose_in_the_same_consent() -> None:
    # One consent for the account (loans), another for deposits (transfers): neither covers account + transfers.
    covers = [
        cover("a", {"provident_fund.account"}, {"loan-application"}),
        cover("b", {"provident_fund.deposits"}, {"fund-transfer"}),
    ]
    assert consent_for(covers, category="provident_fund.account", purpose="fund-transfer") is None
    assert consent_for([], category="identity", purpose="case-handling") is None
    assert consent_for(iter(covers), category="provident_fund.deposits", purpose="fund-transfer") == "b"


# --- the lookup, against a database of its own ---------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(databases: TestDatabases) -> Iterator[Engine]:
    engine = make_engine(databases.new_url("consent"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def new_subject() -> str:
    """A data subject of one test alone (the database is shared by the module)."""
    return consent_subject(uuid.uuid4().hex, hash_key=TEST_HASH_KEY)


def insert(
    engine: Engine,
    *,
    subject: str,
    city: str | None = None,
    department: str | None = None,
    client_id: str | None = None,
    categories: tuple[str, ...] = ("provident_fund.account",),
    purposes: tuple[str, ...] = ("fund-transfer",),
    valid_from: datetime = NOW - timedelta(days=1),
    valid_until: datetime = NOW + timedelta(days=30),
    revoked_at: datetime | None = None,
) -> str:
    """A consent row written directly, as the grant route would store it."""
    consent_id = uuid.uuid4().hex
    row = Consent(
        consent_id=consent_id,
        subject=subject,
        grantee_kind=GranteeKind.CLIENT if client_id is not None else GranteeKind.OFFICIAL,
        grantee_city=city,
        grantee_department=department,
        grantee_client_id=client_id,
        categories=json.dumps(categories),
        purposes=json.dumps(purposes),
        valid_from=valid_from,
        valid_until=valid_until,
        created_at=min(valid_from, NOW),
        revoked_at=revoked_at,
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()
    return consent_id


def covering(engine: Engine, subject: str, requester: Requester, now: datetime = NOW) -> set[str]:
    with Session(engine) as session:
        return {c.consent_id for c in covering_consents(session, subject=subject, requester=requester, now=now)}


def test_a_city_wide_grant_covers_every_department_of_that_city_only(engine: Engine) -> None:
    subject = new_subject()
    consent_id = insert(engine, subject=subject, city=ZHUZHOU, department=None)
    assert covering(engine, subject, official(ZHUZHOU, "provident_fund")) == {consent_id}
    assert covering(engine, subject, official(ZHUZHOU, "medical_insurance")) == {consent_id}
    assert covering(engine, subject, official(ZHUZHOU, None)) == {consent_id}
    assert covering(engine, subject, official(CHANGSHA, "provident_fund")) == set()
    assert covering(engine, subject, official(None, "provident_fund")) == set()


def test_a_department_grant_covers_that_department_only(engine: Engine) -> None:
    subject = new_subject()
    consent_id = insert(engine, subject=subject, city=ZHUZHOU, department="provident_fund")
    assert covering(engine, subject, official(ZHUZHOU, "provident_fund")) == {consent_id}
    assert covering(engine, subject, official(ZHUZHOU, "medical_insurance")) == set()
    assert covering(engine, subject, official(ZHUZHOU, None)) == set()
    assert covering(engine, subject, official(CHANGSHA, "provident_fund")) == set()


def test_a_client_grant_covers_that_client_only(engine: Engine) -> None:
    subject = new_subject()
    consent_id = insert(engine, subject=subject, client_id=INTEGRATOR.client_id)
    assert covering(engine, subject, client(INTEGRATOR.client_id)) == {consent_id}
    assert covering(engine, subject, client("demo-auditor")) == set()
    # An official is never the client, not even one whose principal carries that client id.
    assert covering(engine, subject, Requester(RequesterKind.OFFICIAL, INTEGRATOR.client_id, city=ZHUZHOU)) == set()


def test_officials_grants_never_cover_clients_and_residents_are_never_grantees(engine: Engine) -> None:
    subject = new_subject()
    insert(engine, subject=subject, city=ZHUZHOU)
    insert(engine, subject=subject, client_id=INTEGRATOR.client_id)
    assert covering(engine, subject, Requester(RequesterKind.CLIENT, "czt-gateway", city=ZHUZHOU)) == set()
    assert covering(engine, subject, Requester(RequesterKind.RESIDENT, "czt-gateway", city=ZHUZHOU)) == set()


def test_only_the_subjects_own_consents_cover(engine: Engine) -> None:
    subject, someone_else = new_subject(), new_subject()
    mine = insert(engine, subject=subject, city=ZHUZHOU)
    insert(engine, subject=someone_else, city=ZHUZHOU)
    assert covering(engine, subject, FUND_OFFICIAL) == {mine}


def test_only_active_consents_cover(engine: Engine) -> None:
    subject = new_subject()
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=1)
    active = insert(engine, subject=subject, city=ZHUZHOU, valid_from=start, valid_until=end)
    insert(engine, subject=subject, city=ZHUZHOU, valid_from=start, valid_until=end, revoked_at=NOW)
    insert(engine, subject=subject, city=ZHUZHOU, valid_from=start - timedelta(days=9), valid_until=start)
    insert(engine, subject=subject, city=ZHUZHOU, valid_from=end, valid_until=end + timedelta(days=9))
    assert covering(engine, subject, FUND_OFFICIAL) == {active}


def test_validity_runs_from_valid_from_up_to_but_not_including_valid_until(engine: Engine) -> None:
    subject = new_subject()
    start, end = NOW, NOW + timedelta(hours=1)
    consent_id = insert(engine, subject=subject, city=ZHUZHOU, valid_from=start, valid_until=end)
    assert covering(engine, subject, FUND_OFFICIAL, start - timedelta(microseconds=1)) == set()
    assert covering(engine, subject, FUND_OFFICIAL, start) == {consent_id}
    assert covering(engine, subject, FUND_OFFICIAL, end - timedelta(microseconds=1)) == {consent_id}
    assert covering(engine, subject, FUND_OFFICIAL, end) == set()
    # The same instants in another offset (Beijing time) and naive (read as UTC) decide the same way.
    beijing = end.astimezone(BEIJING)
    assert covering(engine, subject, FUND_OFFICIAL, beijing - timedelta(microseconds=1)) == {consent_id}
    assert covering(engine, subject, FUND_OFFICIAL, beijing) == set()
    assert covering(engine, subject, FUND_OFFICIAL, end.replace(tzinfo=None)) == set()


def test_a_cover_carries_the_consents_categories_and_purposes(engine: Engine) -> None:
    subject = new_subject()
    consent_id = insert(
        engine,
        subject=subject,
        client_id=INTEGRATOR.client_id,
        categories=("talent.titles", "talent.skill_certificates"),
        purposes=("talent-evaluation", "credential-verification"),
    )
    with Session(engine) as session:
        (found,) = covering_consents(session, subject=subject, requester=client(INTEGRATOR.client_id), now=NOW)
    assert found == cover(
        consent_id, {"talent.titles", "talent.skill_certificates"}, {"talent-evaluation", "credential-verification"}
    )


def test_status_is_derived_from_the_clock_and_the_revocation(engine: Engine) -> None:
    row = Consent(
        consent_id="0" * 32,
        subject=new_subject(),
        grantee_kind=GranteeKind.OFFICIAL,
        grantee_city=ZHUZHOU,
        categories="[]",
        purposes="[]",
        valid_from=NOW.replace(tzinfo=None),  # as SQLite gives it back: naive, meaning UTC
        valid_until=NOW + timedelta(days=1),
        created_at=NOW,
    )
    assert consent_status(row, now=NOW - timedelta(seconds=1)) is ConsentStatus.PENDING
    assert consent_status(row, now=NOW) is ConsentStatus.ACTIVE
    assert consent_status(row, now=NOW + timedelta(days=1)) is ConsentStatus.EXPIRED
    row.revoked_at = NOW
    assert consent_status(row, now=NOW) is ConsentStatus.REVOKED
    assert consent_status(row, now=NOW + timedelta(days=2)) is ConsentStatus.REVOKED


def test_record_uses_counts_one_use_per_consent_and_request(engine: Engine) -> None:
    subject = new_subject()
    first, second = insert(engine, subject=subject, city=ZHUZHOU), insert(engine, subject=subject, city=ZHUZHOU)
    with Session(engine) as session:
        record_uses(session, [first, second, first], now=NOW)
        record_uses(session, [], now=NOW)
        record_uses(session, [first], now=NOW + timedelta(minutes=5))
    with Session(engine) as session:
        rows = {c: session.get(Consent, c) for c in (first, second)}
    assert rows[first] is not None and rows[second] is not None
    assert (rows[first].use_count, rows[second].use_count) == (2, 1)
    assert as_utc(rows[first].last_used_at) == NOW + timedelta(minutes=5)
    assert as_utc(rows[second].last_used_at) == NOW


def test_concurrent_uses_of_one_consent_are_all_counted(engine: Engine) -> None:
    consent_id = insert(engine, subject=new_subject(), city=ZHUZHOU)
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def use() -> None:
        try:
            with Session(engine) as session:
                start.wait()
                record_uses(session, [consent_id], now=NOW)
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(engine) as session:
        row = session.get(Consent, consent_id)
    assert row is not None and row.use_count == 20


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- through the gateway -------------------------------------------------------------------------------------


def fund_grant(**changes: Any) -> dict[str, Any]:
    """A grant to 株洲's provident-fund centre for a transfer, valid for 30 days; ``changes`` override."""
    body: dict[str, Any] = {
        "grantee": {"kind": "official", "city_code": ZHUZHOU, "department": "provident_fund"},
        "categories": ["provident_fund.*"],
        "purposes": ["fund-transfer"],
        "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }
    return body | changes


async def grant(world: World, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await world.client.post("/v1/me/consents", json=body or fund_grant(), headers=bearer(token))
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    return view


async def my_consents(world: World, token: str, status: str | None = None) -> list[dict[str, Any]]:
    params = {} if status is None else {"status": status}
    response = await world.client.get("/v1/me/consents", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    views: list[dict[str, Any]] = response.json()
    return views


def ids(views: list[dict[str, Any]]) -> list[str]:
    return [view["consent_id"] for view in views]


def gateway_session(world: World) -> Session:
    return Session(world.gateway.state.engine)


def covering_now(world: World, id_number: str, requester: Requester, now: datetime | None = None) -> set[str]:
    subject = consent_subject(id_number, hash_key=TEST_HASH_KEY)
    with gateway_session(world) as session:
        covers = covering_consents(session, subject=subject, requester=requester, now=now or datetime.now(UTC))
    return {c.consent_id for c in covers}


async def test_a_consent_is_granted_listed_used_and_revoked(world: World) -> None:
    token = await login(world.client, LIU_YANG)
    response = await world.client.post("/v1/me/consents", json=fund_grant(), headers=bearer(token))
    assert response.status_code == 201, response.text
    view = response.json()
    consent_id = view["consent_id"]
    assert response.headers["Location"] == f"/v1/me/consents/{consent_id}"
    assert view["status"] == "active"
    assert view["grantee"] == {"kind": "official", "city_code": ZHUZHOU, "department": "provident_fund"}
    assert view["categories"] == ["provident_fund.account", "provident_fund.deposits"]  # "provident_fund.*" expanded
    assert view["purposes"] == ["fund-transfer"]
    assert (view["use_count"], view["last_used_at"], view["revoked_at"]) == (0, None, None)

    assert consent_id in ids(await my_consents(world, token))
    assert consent_id in ids(await my_consents(world, token, "active"))
    assert consent_id not in ids(await my_consents(world, token, "revoked"))
    assert covering_now(world, LIU_YANG, FUND_OFFICIAL) >= {consent_id}

    with gateway_session(world) as session:
        record_uses(session, [consent_id], now=datetime.now(UTC))
    used = (await world.client.get(response.headers["Location"], headers=bearer(token))).json()
    assert used["use_count"] == 1 and used["last_used_at"] is not None

    revoked = await world.client.delete(f"/v1/me/consents/{consent_id}", headers=bearer(token))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"] is not None
    # Revocation counts from the very next lookup.
    assert consent_id not in covering_now(world, LIU_YANG, FUND_OFFICIAL)
    # Kept as evidence, with its history: still readable, listed as revoked.
    kept = (await world.client.get(f"/v1/me/consents/{consent_id}", headers=bearer(token))).json()
    assert (kept["status"], kept["use_count"]) == ("revoked", 1)
    assert consent_id in ids(await my_consents(world, token, "revoked"))
    assert consent_id not in ids(await my_consents(world, token, "active"))


async def test_revoking_twice_keeps_the_first_revocation(world: World) -> None:
    token = await login(world.client, LIU_YANG)
    consent_id = (await grant(world, token))["consent_id"]
    first = await world.client.delete(f"/v1/me/consents/{consent_id}", headers=bearer(token))
    again = await world.client.delete(f"/v1/me/consents/{consent_id}", headers=bearer(token))
    assert again.status_code == 200
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    assert again.json()["status"] == "revoked"


async def test_the_stored_consent_names_the_resident_by_pseudonym_only(world: World) -> None:
    token = await login(world.client, LIU_YANG)
    consent_id = (await grant(world, token))["consent_id"]
    with gateway_session(world) as session:
        row = session.get(Consent, consent_id)
    assert row is not None
    assert row.subject == consent_subject(LIU_YANG, hash_key=TEST_HASH_KEY)
    assert LIU_YANG not in row.model_dump_json()


async def test_an_expired_consent_is_listed_as_expired_and_covers_nothing(world: World) -> None:
    token = await login(world.client, LIU_YANG)
    now = datetime.now(UTC)
    lapsed = insert(
        world.gateway.state.engine,
        subject=consent_subject(LIU_YANG, hash_key=TEST_HASH_KEY),
        city=ZHUZHOU,
        department="provident_fund",
        valid_from=now - timedelta(days=30),
        valid_until=now - timedelta(seconds=1),
    )
    assert (await world.client.get(f"/v1/me/consents/{lapsed}", headers=bearer(token))).json()["status"] == "expired"
    assert lapsed in ids(await my_consents(world, token, "expired"))
    assert lapsed not in ids(await my_consents(world, token, "active"))
    assert lapsed not in covering_now(world, LIU_YANG, FUND_OFFICIAL)

    # A granted one lapses by itself once its validity ends.
    current = (await grant(world, token))["consent_id"]
    assert current in covering_now(world, LIU_YANG, FUND_OFFICIAL)
    assert current not in covering_now(world, LIU_YANG, FUND_OFFICIAL, now + timedelta(days=31))


async def test_a_consent_starting_later_is_pending_until_then(world: World) -> None:
    token = await login(world.client, LIU_YANG)
    now = datetime.now(UTC)
    body = fund_grant(
        valid_from=(now + timedelta(days=1)).isoformat(), valid_until=(now + timedelta(days=10)).isoformat()
    )
    view = await grant(world, token, body)
    assert view["status"] == "pending"
    assert view["consent_id"] in ids(await my_consents(world, token, "pending"))
    assert view["consent_id"] not in ids(await my_consents(world, token, "active"))
    assert view["consent_id"] not in covering_now(world, LIU_YANG, FUND_OFFICIAL)
    assert view["consent_id"] in covering_now(world, LIU_YANG, FUND_OFFICIAL, now + timedelta(days=2))


async def test_validity_given_in_beijing_time_is_the_same_instant(world: World) -> None:
    token = await login(world.client, LIU_YANG)
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    view = await grant(world, token, fund_grant(valid_until=until.astimezone(BEIJING).isoformat()))
    assert datetime.fromisoformat(view["valid_until"]) == until
    assert view["consent_id"] in covering_now(world, LIU_YANG, FUND_OFFICIAL, until - timedelta(seconds=1))
    assert view["consent_id"] not in covering_now(world, LIU_YANG, FUND_OFFICIAL, until)


async def test_consents_are_listed_newest_first_and_per_resident(world: World) -> None:
    token, other = await login(world.client, CHEN_JING), await login(world.client, WANG_XIUYING)
    older = (await grant(world, token))["consent_id"]
    newer = (await grant(world, token))["consent_id"]
    listed = ids(await my_consents(world, token))
    assert listed.index(newer) < listed.index(older)
    assert not {older, newer} & set(ids(await my_consents(world, other)))


async def test_a_client_grant_covers_that_client(world: World) -> None:
    token = await login(world.client, CHEN_JING)
    body = fund_grant(
        grantee={"kind": "client", "client_id": INTEGRATOR.client_id},
        categories=["talent.*", "identity"],
        purposes=["talent-evaluation", "credential-verification"],
    )
    view = await grant(world, token, body)
    assert view["grantee"] == {"kind": "client", "client_id": INTEGRATOR.client_id}
    assert view["categories"] == [
        "talent.skill_certificates",
        "talent.titles",
        "talent.continuing_education",
        "identity",
    ]
    assert view["consent_id"] in covering_now(world, CHEN_JING, client(INTEGRATOR.client_id))
    assert view["consent_id"] not in covering_now(world, CHEN_JING, FUND_OFFICIAL)


async def test_a_city_wide_grant_leaves_department_out(world: World) -> None:
    token = await login(world.client, CHEN_JING)
    view = await grant(world, token, fund_grant(grantee={"kind": "official", "city_code": CHANGSHA}))
    assert view["grantee"] == {"kind": "official", "city_code": CHANGSHA, "department": None}
    assert view["consent_id"] in covering_now(world, CHEN_JING, official(CHANGSHA, "medical_insurance"))


def _in_five_years_and_a_day() -> str:
    return (datetime.now(UTC) + timedelta(days=5 * 366 + 1)).isoformat()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"categories": ["provident_fund.pension"]}, "body.categories"),
        ({"categories": ["pension.*"]}, "body.categories"),
        ({"categories": []}, "body.categories"),
        ({"purposes": ["self-service"]}, "body.purposes"),
        ({"purposes": ["gossip"]}, "body.purposes"),
        ({"purposes": []}, "body.purposes"),
        (
            {
                "valid_from": (datetime.now(UTC) + timedelta(days=9)).isoformat(),
                "valid_until": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            },
            "body.valid_until",
        ),
        ({"valid_until": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}, "body.valid_until"),
        ({"valid_until": _in_five_years_and_a_day()}, "body.valid_until"),
        ({"grantee": {"kind": "official", "city_code": "439900"}}, "body.grantee.city_code"),
        ({"grantee": {"kind": "client", "client_id": "no-such-client"}}, "body.grantee.client_id"),
        ({"grantee": {"kind": "resident", "id_number": WANG_XIUYING}}, "body.grantee"),
    ],
    ids=[
        "unknown-category",
        "unknown-domain",
        "no-category",
        "self-service",
        "unknown-purpose",
        "no-purpose",
        "until-before-from",
        "until-past",
        "over-five-years",
        "unknown-city",
        "unknown-client",
        "resident-grantee",
    ],
)
async def test_an_invalid_grant_is_a_problem_naming_the_field(
    world: World, changes: dict[str, Any], field: str
) -> None:
    token = await login(world.client, LIU_YANG)
    before = set(ids(await my_consents(world, token)))
    response = await world.client.post("/v1/me/consents", json=fund_grant(**changes), headers=bearer(token))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem = response.json()
    assert problem["type"] == ProblemType.VALIDATION
    assert problem["detail"].startswith(field), problem
    assert problem["invalid-params"], problem  # every invalid grant names its field, however it was found
    for param in problem["invalid-params"]:
        assert param["name"].startswith(field), problem
    assert set(ids(await my_consents(world, token))) == before  # nothing stored


async def test_another_residents_consent_is_not_found(world: World) -> None:
    owner, other = await login(world.client, LIU_YANG), await login(world.client, WANG_XIUYING)
    consent_id = (await grant(world, owner))["consent_id"]
    for method in ("GET", "DELETE"):
        response = await world.client.request(method, f"/v1/me/consents/{consent_id}", headers=bearer(other))
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert response.json()["type"] == ProblemType.NOT_FOUND
    # Her attempt to revoke it changed nothing.
    assert (await world.client.get(f"/v1/me/consents/{consent_id}", headers=bearer(owner))).json()["status"] == "active"
    unknown = await world.client.get(f"/v1/me/consents/{uuid.uuid4().hex}", headers=bearer(owner))
    assert unknown.status_code == 404


async def test_officials_and_clients_have_no_consents_of_their_own(world: World) -> None:
    officer = await login(world.client, "zz-gjj-tan", DEMO_OFFICIAL_PASSWORD)
    grant_response = await world.client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": INTEGRATOR.client_id,
            "client_secret": INTEGRATOR.secret,
        },
    )
    integrator = grant_response.json()["access_token"]
    for token in (officer, integrator):
        listed = await world.client.get("/v1/me/consents", headers=bearer(token))
        granted = await world.client.post("/v1/me/consents", json=fund_grant(), headers=bearer(token))
        for response in (listed, granted):
            assert response.status_code == 403, response.text
            assert response.json()["type"] == ProblemType.FORBIDDEN
    assert (await world.client.get("/v1/me/consents")).status_code == 401
