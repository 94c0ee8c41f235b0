"""Governance end to end through the gateway: purpose, policy, masks, consent, audit, tracker, shadow."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select

from gateway.app import create_app
from gateway.audit.models import AuditEntry
from gateway.audit.service import verify_chain
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.policy.middleware import DECISION_ID_HEADER
from gateway.policy.replay import replay_log
from gateway.settings import GatewaySettings, policy_path
from governance.engine import compile_policy
from governance.policy import PolicyError, load_policy
from mock_cities.personas import PERSONAS
from schemas.problems import PROBLEM_MEDIA_TYPE
from tests.conftest import World, bearer, login
from tests.gateway.faults import DeadCity, Recording

LIU_YANG, WANG_XIUYING, CHEN_JING = (
    next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "wang-xiuying", "chen-jing")
)
CITY_CODES = ("430100", "430200", "430300")
FUND_OFFICIAL = "zz-gjj-tan"  # 株洲 公积金中心
TALENT_OFFICIAL = "xt-rsj-luo"  # 湘潭 人社局


async def official(client: httpx.AsyncClient, username: str = FUND_OFFICIAL) -> dict[str, str]:
    return bearer(await login(client, username, DEMO_OFFICIAL_PASSWORD))


async def integrator(client: httpx.AsyncClient) -> dict[str, str]:
    grant = await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-integrator", "czt-integrator-secret"),
    )
    assert grant.status_code == 200, grant.text
    return bearer(grant.json()["access_token"])


async def auditor(client: httpx.AsyncClient) -> dict[str, str]:
    grant = await client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials"}, auth=("demo-auditor", "czt-auditor-secret")
    )
    assert grant.status_code == 200, grant.text
    return bearer(grant.json()["access_token"])


async def lookup(client: httpx.AsyncClient, headers: dict[str, str], id_number: str, **params: str) -> httpx.Response:
    return await client.get(f"/v1/residents/{id_number}/records", params=params, headers=headers)


def ok_cities(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["city"]["code"]: r["records"] for r in body["cities"] if r["records"] is not None}


def disclosure(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["category"]: d for d in body["disclosure"]}


async def access_log(client: httpx.AsyncClient, id_number: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/access-log", headers=bearer(await login(client, id_number)))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def without_consents(client: httpx.AsyncClient, id_number: str) -> dict[str, str]:
    """The resident's headers, after revoking every consent they hold (other tests share the database)."""
    headers = bearer(await login(client, id_number))
    listed = await client.get("/v1/me/consents", params={"status": "active"}, headers=headers)
    for consent in listed.json():
        await client.delete(f"/v1/me/consents/{consent['consent_id']}", headers=headers)
    return headers


# --- purpose, fields, masks -----------------------------------------------------------------------------


async def test_an_official_without_a_purpose_is_refused(world: World) -> None:
    response = await lookup(world.client, await official(world.client), LIU_YANG.id_number)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert "query.purpose" in response.json()["detail"]


async def test_an_official_gets_exactly_the_released_fields_masked_as_the_policy_says(world: World) -> None:
    response = await lookup(world.client, await official(world.client), LIU_YANG.id_number, purpose="fund-transfer")
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers[DECISION_ID_HEADER] == body["decision_id"]
    assert body["policy"].startswith("default@")
    records = ok_cities(body)
    assert records, "at least one city holds records on 刘洋"
    for record in records.values():
        # identity: name and gender in clear, the ID number partly (first 6, last 4)
        assert record["person"]["name"] == LIU_YANG.name
        assert record["person"]["id_number"] == LIU_YANG.id_number[:6] + "*" * 8 + LIU_YANG.id_number[-4:]
        # other departments' domains are withheld entirely
        assert "medical_insurance" not in record and "talent" not in record
    funds = [r["provident_fund"] for r in records.values() if r.get("provident_fund")]
    assert funds
    for fund in funds:
        account = fund["account"]
        assert "*" in account["account_no"]
        assert {"status", "balance", "deposit_months"} <= set(account)
    decided = disclosure(body)
    assert decided["identity"]["masked"] == {"id_number": "partial"}
    assert decided["provident_fund.account"]["rule"] == "fund-centre-services"
    assert decided["medical_insurance.enrolment"] == decided["medical_insurance.enrolment"] | {
        "allowed": False,
        "rule": "officials-other-domains",
    }


async def test_a_resident_sees_the_officials_access_in_their_tracker(world: World) -> None:
    case_ref = f"ZZ-GJJ-{uuid.uuid4().hex[:8]}"
    response = await lookup(
        world.client, await official(world.client), LIU_YANG.id_number, purpose="fund-transfer", case_ref=case_ref
    )
    assert response.status_code == 200
    entries = [e for e in await access_log(world.client, LIU_YANG.id_number) if e["why"]["case_ref"] == case_ref]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["decision_id"] == response.json()["decision_id"]
    assert entry["who"]["kind"] == "official"
    assert entry["who"]["city"]["code"] == "430200"
    assert entry["who"]["department"] == "provident_fund"
    assert entry["why"]["purpose"] == "fund-transfer"
    assert "provident_fund.account" in entry["what"]["categories"]
    assert "identity.id_number~partial" in entry["what"]["fields_released"]


async def test_a_delayed_disclosure_stays_out_of_the_tracker_until_its_date(world: World) -> None:
    case_ref = f"ZZ-CHECK-{uuid.uuid4().hex[:8]}"
    response = await lookup(
        world.client, await official(world.client), LIU_YANG.id_number, purpose="case-handling", case_ref=case_ref
    )
    assert response.status_code == 200
    assert disclosure(response.json())["provident_fund.account"]["rule"] == "fund-centre-case-check"
    entries = await access_log(world.client, LIU_YANG.id_number)
    assert not [e for e in entries if e["why"]["case_ref"] == case_ref]


async def test_a_denial_names_the_rule_or_its_absence(world: World) -> None:
    # An official for a purpose no rule of their department serves: the explicit deny rule answers.
    denied = await lookup(world.client, await official(world.client), LIU_YANG.id_number, purpose="medical-filing")
    assert denied.status_code == 403
    problem = denied.json()
    assert problem["type"] == "urn:czt:problem:policy-denied"
    assert {d["rule"] for d in problem["denials"]} == {"officials-other-domains"}
    assert problem["decision_id"] == denied.headers[DECISION_ID_HEADER]
    # An API client for a purpose no rule speaks of: default deny, no rule named.
    nobody = await lookup(world.client, await integrator(world.client), LIU_YANG.id_number, purpose="case-handling")
    assert nobody.status_code == 403
    assert nobody.json()["type"] == "urn:czt:problem:policy-denied"
    assert {d["rule"] for d in nobody.json()["denials"]} == {None}
    assert "default deny" in nobody.json()["detail"]


async def test_a_client_without_the_read_scope_is_refused_before_any_rule_and_audited(world: World) -> None:
    request_id = f"no-scope-{uuid.uuid4().hex}"
    response = await world.client.get(
        f"/v1/residents/{LIU_YANG.id_number}/records",
        params={"purpose": "loan-application"},
        headers={**await auditor(world.client), "X-Request-ID": request_id},
    )
    assert response.status_code == 403
    assert response.json()["type"] == "urn:czt:problem:forbidden"
    assert "records:read" in response.json()["detail"]
    with Session(world.gateway.state.engine) as session:
        (entry,) = session.exec(select(AuditEntry).where(col(AuditEntry.request_id) == request_id)).all()
    assert (entry.outcome, json.loads(entry.rules), json.loads(entry.fields_released)) == (
        "denied",
        ["(missing-scope)"],
        [],
    )
    # No policy would change a refusal made before any rule: replay counts it as skipped, not as re-decided.
    with Session(world.gateway.state.engine) as session:
        report = replay_log(session=session, candidate=compile_policy(load_policy(policy_path("open"))),
                            request_ids=[request_id])  # fmt: skip
    assert report.skipped == {"ungated (missing-scope)": 1}


async def test_a_resident_cannot_read_another_residents_records(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    response = await lookup(world.client, bearer(token), CHEN_JING.id_number, purpose="self-service")
    assert response.status_code == 403
    assert "own records" in response.json()["detail"]


# --- consent --------------------------------------------------------------------------------------------


async def test_consent_lets_a_client_in_until_it_is_revoked(world: World) -> None:
    client_headers = await integrator(world.client)
    resident = await without_consents(world.client, WANG_XIUYING.id_number)
    before = await lookup(world.client, client_headers, WANG_XIUYING.id_number, purpose="loan-application")
    assert before.status_code == 403
    problem = before.json()
    assert problem["type"] == "urn:czt:problem:consent-required"
    assert set(problem["consent_needed"]["categories"]) == {"identity", "provident_fund.account"}

    grant = await world.client.post(
        "/v1/me/consents",
        json={
            "grantee": {"kind": "client", "client_id": "demo-integrator"},
            "categories": ["identity", "provident_fund.account"],
            "purposes": ["loan-application"],
            "valid_until": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
        headers=resident,
    )
    assert grant.status_code == 201, grant.text
    consent_id = grant.json()["consent_id"]

    allowed = await lookup(world.client, client_headers, WANG_XIUYING.id_number, purpose="loan-application")
    assert allowed.status_code == 200, allowed.text
    body = allowed.json()
    assert disclosure(body)["provident_fund.account"]["consent"] == "given"
    for record in ok_cities(body).values():
        assert record["person"]["id_number"].startswith("h:")
        assert record["person"]["name"].startswith(WANG_XIUYING.name[0]) and "*" in record["person"]["name"]
        if record.get("provident_fund"):
            account = record["provident_fund"]["account"]
            assert account["employer"] == "***" and "balance" in account
            assert len(account["opened_on"]) == 4
            assert account["account_no"].startswith("h:")
            assert "deposits" not in record["provident_fund"]
    used = await world.client.get(f"/v1/me/consents/{consent_id}", headers=resident)
    assert used.json()["use_count"] == 1

    revoked = await world.client.delete(f"/v1/me/consents/{consent_id}", headers=resident)
    assert revoked.status_code == 200
    after = await lookup(world.client, client_headers, WANG_XIUYING.id_number, purpose="loan-application")
    assert after.status_code == 403
    assert after.json()["type"] == "urn:czt:problem:consent-required"


# --- switching the policy is configuration, not code ----------------------------------------------------


async def test_strict_policy_changes_what_is_shared_without_code_changes(world: World) -> None:
    async with AsyncExitStack() as stack:
        strict = await world.another_gateway(stack, policy="strict")
        headers = await official(strict.client)
        liu = await without_consents(strict.client, LIU_YANG.id_number)
        refused = await lookup(strict.client, headers, LIU_YANG.id_number, purpose="fund-transfer")
        assert refused.status_code == 403
        assert refused.json()["type"] == "urn:czt:problem:consent-required"
        assert refused.json()["policy"].startswith("strict@")

        grant = await strict.client.post(
            "/v1/me/consents",
            json={
                "grantee": {"kind": "official", "city_code": "430200", "department": "provident_fund"},
                "categories": ["identity", "provident_fund.*"],
                "purposes": ["fund-transfer"],
                "valid_until": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
            headers=liu,
        )
        assert grant.status_code == 201, grant.text
        allowed = await lookup(strict.client, headers, LIU_YANG.id_number, purpose="fund-transfer")
        assert allowed.status_code == 200, allowed.text
        for record in ok_cities(allowed.json()).values():
            assert record["person"]["id_number"].startswith("h:")  # strict: a pseudonym, not a partial number
            if record.get("provident_fund"):
                assert "employer" not in record["provident_fund"]["account"]
                assert "deposits" not in record["provident_fund"]
        await strict.client.delete(f"/v1/me/consents/{grant.json()['consent_id']}", headers=liu)

        # A resident's own services work under every policy.
        loan = await strict.client.get("/v1/provident-fund/loan-eligibility", params={"city": "430100"}, headers=liu)
        assert loan.status_code == 200, loan.text


async def test_open_policy_releases_everything_to_officials(world: World) -> None:
    async with AsyncExitStack() as stack:
        permissive = await world.another_gateway(stack, policy="open")
        response = await lookup(
            permissive.client, await official(permissive.client, TALENT_OFFICIAL), LIU_YANG.id_number,
            purpose="case-handling",
        )  # fmt: skip
        assert response.status_code == 200
        assert all(d["allowed"] for d in response.json()["disclosure"])
        for record in ok_cities(response.json()).values():
            assert record["person"]["id_number"] == LIU_YANG.id_number


def test_a_broken_policy_file_stops_the_gateway_naming_file_line_and_rule(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "policy: broken\ntitle: Broken\nrules:\n"
        "  - id: fund-centre\n    categories: [provident_fund.account]\n    purposes: [fund-transfer]\n"
        "    mask: {balance: blur}\n"
    )
    with pytest.raises(PolicyError) as error:
        create_app(GatewaySettings(policy=str(broken), data_dir=tmp_path), hash_key=b"k")
    assert f"{broken}:7 (rule fund-centre)" in str(error.value)
    assert "blur" in str(error.value) or "partial" in str(error.value)


# --- every flow goes through the policy -----------------------------------------------------------------


async def test_an_official_starting_a_transfer_under_strict_needs_consent(world: World) -> None:
    async with AsyncExitStack() as stack:
        strict = await world.another_gateway(stack, policy="strict")
        response = await strict.client.post(
            "/v1/provident-fund/transfers",
            json={"id_number": LIU_YANG.id_number, "source_city": "430200", "destination_city": "430100"},
            headers=await official(strict.client, "cs-ybj-zhou"),
        )
        assert response.status_code == 403
        # 长沙's 医保 official is not the destination's fund centre: refused before any policy question.
        assert response.json()["type"] == "urn:czt:problem:forbidden"


# --- shadow policy --------------------------------------------------------------------------------------


async def test_shadow_policy_divergences_are_recorded_and_listed_for_admins(world: World) -> None:
    async with AsyncExitStack() as stack:
        shadowed = await world.another_gateway(stack, shadow_policy="strict")
        await without_consents(shadowed.client, LIU_YANG.id_number)
        response = await lookup(
            shadowed.client, await official(shadowed.client), LIU_YANG.id_number, purpose="fund-transfer"
        )
        assert response.status_code == 200  # the active (default) policy decides
        decision_id = response.json()["decision_id"]
        admin = await auditor(shadowed.client)
        page = await shadowed.client.get("/v1/admin/shadow/divergences", params={"limit": 200}, headers=admin)
        assert page.status_code == 200, page.text
        (divergence,) = [d for d in page.json()["items"] if d["decision_id"] == decision_id]
        assert divergence["active_outcome"] == "partial"
        assert divergence["shadow_outcome"] == "denied"
        assert divergence["shadow_policy"].startswith("strict@")
        changed = {d["category"]: d for d in divergence["differences"]}
        assert changed["identity"]["active"]["allowed"] is True
        assert changed["identity"]["shadow"]["consent"] == "missing"

        # A request on which both policies agree leaves no divergence.
        own = await shadowed.client.get(
            "/v1/me/records", headers=bearer(await login(shadowed.client, CHEN_JING.id_number))
        )
        page = await shadowed.client.get("/v1/admin/shadow/divergences", params={"limit": 200}, headers=admin)
        assert own.json()["decision_id"] not in {d["decision_id"] for d in page.json()["items"]}

        forbidden = await shadowed.client.get("/v1/admin/shadow/divergences", headers=await official(shadowed.client))
        assert forbidden.status_code == 403


async def test_the_policies_in_force_are_readable(world: World) -> None:
    response = await world.client.get("/v1/policy", headers=bearer(await login(world.client, LIU_YANG.id_number)))
    assert response.status_code == 200
    body = response.json()
    assert body["active"]["name"] == "default" and body["shadow"] is None
    assert body["active"]["rules"][0]["id"] == "resident-own-records"


# --- audit under load -----------------------------------------------------------------------------------


async def test_200_concurrent_lookups_make_200_chained_audit_entries(world: World) -> None:
    request_ids = [f"load-{uuid.uuid4().hex}" for _ in range(200)]
    async with AsyncExitStack() as stack:
        # The audit entry is written before any city is asked, so the cities can be down: what is under
        # load is the gateway's chain, not three in-process cities sharing this test's one thread pool.
        # (tests/e2e runs the same load against real processes.)
        patient = await world.another_gateway(stack, transports={code: DeadCity() for code in CITY_CODES})
        headers = await official(patient.client)

        async def one(request_id: str) -> int:
            response = await patient.client.get(
                f"/v1/residents/{LIU_YANG.id_number}/records",
                params={"purpose": "fund-transfer"},
                headers={**headers, "X-Request-ID": request_id},
            )
            return response.status_code

        statuses = await asyncio.gather(*(one(r) for r in request_ids))
    assert statuses == [200] * 200
    engine = world.gateway.state.engine
    report = await run_in_threadpool(verify_chain, engine)
    assert report.valid, report
    with Session(engine) as session:
        seqs = session.exec(select(AuditEntry.seq).where(col(AuditEntry.request_id).in_(request_ids))).all()
    assert len(seqs) == 200 and len(set(seqs)) == 200


async def test_a_refused_lookup_is_recorded_and_asks_no_city(world: World) -> None:
    async with AsyncExitStack() as stack:
        seen = {code: Recording(world.transports[code]) for code in CITY_CODES}
        gateway = await world.another_gateway(stack, transports=dict(seen))
        response = await lookup(
            gateway.client, await official(gateway.client), LIU_YANG.id_number, purpose="medical-filing"
        )
    assert response.status_code == 403, response.text
    decision_id = response.json()["decision_id"]
    assert not [r for city in seen.values() for r in city.requests if r.url.path.endswith("/records")]
    with Session(world.gateway.state.engine) as session:
        (entry,) = session.exec(select(AuditEntry).where(AuditEntry.decision_id == decision_id)).all()
    assert entry.outcome == "denied" and json.loads(entry.cities) == []
