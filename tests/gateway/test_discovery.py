"""Service discovery: ``/v1/services`` lists the exchange, ``/v1/services/allowed`` agrees with enforcement."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx

from gateway.discovery.catalogue import OFFERINGS
from governance.catalogue import SERVICES
from schemas.purposes import Purpose
from tests.conftest import World, bearer, login
from tests.gateway.test_governance import CHEN_JING, LIU_YANG, auditor, integrator, official

CITY_CODES = ["430100", "430200", "430300"]


def by_id(entries: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(e["id"], e["purpose"]): e for e in entries}


async def test_services_list_every_city_and_service_without_signing_in(world: World) -> None:
    response = await world.client.get("/v1/services")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [c["city"]["code"] for c in body["cities"]] == CITY_CODES
    assert {s["id"] for s in body["services"]} == {s.value for s in SERVICES}
    assert all(set(c["services"]) == {s["id"] for s in body["services"]} for c in body["cities"])
    assert {c["breaker"] for c in body["cities"]} == {"closed"}
    lookup = next(s for s in body["services"] if s["id"] == "records.lookup")
    assert lookup["purpose"] is None and set(lookup["purposes"]) == {p.value for p in Purpose}
    assert lookup["routes"] == [{"method": "GET", "path": "/v1/residents/{id_number}/records"}]
    loan = next(s for s in body["services"] if s["id"] == "provident_fund.loan-eligibility")
    assert loan["purposes"] == ["loan-application"] and "deposit_months" in loan["needs"]["provident_fund.account"]
    assert body["policy"].startswith("default@")


def test_every_route_discovery_names_is_in_the_gateway_contract(world: World) -> None:
    paths = world.gateway.openapi()["paths"]
    served = {(method.upper(), path) for path, operations in paths.items() for method in operations}
    for offering in OFFERINGS:
        for route in offering.routes:
            assert (route.method, route.path) in served, (
                f"{offering.service}: {route.method} {route.path} is not served"
            )


async def test_allowed_needs_a_signed_in_caller(world: World) -> None:
    response = await world.client.get("/v1/services/allowed")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_resident_may_use_their_own_services_and_not_lookups(world: World) -> None:
    headers = bearer(await login(world.client, LIU_YANG.id_number))
    body = (await world.client.get("/v1/services/allowed", headers=headers)).json()
    allowed, refused = by_id(body["allowed"]), by_id(body["refused"])
    assert body["caller"]["kind"] == "resident"
    assert allowed[("records.self", "self-service")]["outcome"] == "allowed"
    assert allowed[("records.self", "self-service")]["cities"] == CITY_CODES
    assert allowed[("provident_fund.transfer", "fund-transfer")]["outcome"] == "allowed"
    assert ("talent.credential-verification", None) in allowed
    assert refused[("records.lookup", None)]["reason"] == "only clients or officials use records.lookup"
    assert refused[("medical_insurance.settlement", None)]["cities"] == []


async def test_an_official_sees_per_purpose_what_a_lookup_would_get(world: World) -> None:
    """For every purpose, the listed outcome is what a real lookup does: 200, policy-denied or consent-required."""
    headers = await official(world.client)
    body = (await world.client.get("/v1/services/allowed", headers=headers)).json()
    answers = {e["purpose"]: e for e in body["allowed"] + body["refused"] if e["id"] == "records.lookup"}
    assert set(answers) == {p.value for p in Purpose}
    expected_problem = {"consent-required": "consent-required", "denied": "policy-denied"}
    seen = set()
    for purpose, entry in answers.items():
        response = await world.client.get(
            f"/v1/residents/{CHEN_JING.id_number}/records", params={"purpose": purpose}, headers=headers
        )
        seen.add(entry["outcome"])
        if entry["outcome"] in ("allowed", "partial"):
            assert response.status_code == 200, (purpose, response.text)
        else:
            assert response.status_code == 403, (purpose, response.text)
            assert response.json()["type"] == f"urn:czt:problem:{expected_problem[entry['outcome']]}", purpose
            assert entry["reason"]
    assert {"denied"} < seen  # the default policy opens some purposes to a 公积金 clerk and not others
    caller = body["caller"]
    assert (caller["kind"], caller["city"], caller["department"], caller["role"]) == (
        "official",
        "430200",
        "provident_fund",
        "clerk",
    )


async def test_a_client_without_the_read_scope_is_refused_lookups_by_scope(world: World) -> None:
    body = (await world.client.get("/v1/services/allowed", headers=await auditor(world.client))).json()
    refused = by_id(body["refused"])
    assert refused[("records.lookup", None)]["reason"] == "the token lacks the records:read scope"
    assert ("talent.credential-verification", None) in by_id(body["allowed"])


async def test_an_integrator_with_the_read_scope_gets_lookups_decided_by_the_policy(world: World) -> None:
    body = (await world.client.get("/v1/services/allowed", headers=await integrator(world.client))).json()
    lookups = [e for e in body["allowed"] + body["refused"] if e["id"] == "records.lookup"]
    assert len(lookups) == len(Purpose)
    assert all(e["reason"] != "the token lacks the records:read scope" for e in lookups)


async def test_a_stricter_policy_turns_official_lookups_into_consent_requests(world: World) -> None:
    async with AsyncExitStack() as stack:
        strict = await world.another_gateway(stack, policy="strict")
        default_body = (await world.client.get("/v1/services/allowed", headers=await official(world.client))).json()
        strict_body = (await strict.client.get("/v1/services/allowed", headers=await official(strict.client))).json()

    def outcomes(body: dict[str, Any]) -> dict[str | None, str]:
        return {e["purpose"]: e["outcome"] for e in body["allowed"] + body["refused"] if e["id"] == "records.lookup"}

    assert strict_body["policy"].startswith("strict@")
    assert outcomes(default_body) != outcomes(strict_body)
    assert "consent-required" in outcomes(strict_body).values()


async def test_discovery_lists_a_city_added_by_configuration(world: World) -> None:
    from gateway.settings import CityEntry

    extra = CityEntry(code="430600", name="岳阳", name_en="Yueyang", url="http://city-430600.test")
    async with AsyncExitStack() as stack:
        bigger = await world.another_gateway(
            stack,
            entries=[*world.entries, extra],
            transports={"430600": httpx.MockTransport(lambda r: httpx.Response(404))},
        )
        body = (await bigger.client.get("/v1/services")).json()
    assert [c["city"]["code"] for c in body["cities"]] == [*CITY_CODES, "430600"]
