"""Cross-city decisions through the gateway: loan eligibility (异地缴存互认) and 学时互认."""

from __future__ import annotations

from contextlib import AsyncExitStack
from decimal import Decimal

from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from mock_cities.personas import PERSONAS
from tests.conftest import World, bearer, login
from tests.gateway.faults import DeadCity

LIU_YANG, CHEN_JING = (next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "chen-jing"))


async def test_liu_yang_is_eligible_in_changsha_with_his_zhuzhou_months_counted(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    records = (await world.client.get("/v1/me/records", headers=bearer(token))).json()
    months = {
        r["city"]["code"]: r["records"]["provident_fund"]["account"]["deposit_months"]
        for r in records["cities"]
        if r["records"] and r["records"]["provident_fund"]
    }
    response = await world.client.get(
        "/v1/provident-fund/loan-eligibility", params={"city": "430100"}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["eligible"] is True and body["complete"] is True
    assert body["lending_city"]["code"] == "430100"
    assert body["recognised_deposit_months"] == months["430100"] + months["430200"]
    checks = {c["rule"]: c for c in body["checks"]}
    assert checks["recognised-deposit-months"]["figures"]["months_430200"] == months["430200"]
    # Changsha's own rules: balance × 15, at most 700,000.
    expected = min(Decimal(body["recognised_balance"]) * 15, Decimal(700000))
    assert Decimal(body["loan_limit"]) == expected


async def test_no_loan_where_the_account_is_sealed(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    body = (
        await world.client.get("/v1/provident-fund/loan-eligibility", params={"city": "430200"}, headers=bearer(token))
    ).json()
    assert body["eligible"] is False
    check = next(c for c in body["checks"] if c["rule"] == "active-account-in-lending-city")
    assert check == {**check, "met": False, "figures": {"status": "sealed"}}
    assert body["loan_limit"] == "0.00"


async def test_eligibility_errors_are_problems(world: World) -> None:
    token = await login(world.client, LIU_YANG.id_number)
    unknown = await world.client.get(
        "/v1/provident-fund/loan-eligibility", params={"city": "430900"}, headers=bearer(token)
    )
    assert unknown.status_code == 404
    malformed = await world.client.get(
        "/v1/provident-fund/loan-eligibility", params={"city": "长沙"}, headers=bearer(token)
    )
    assert malformed.status_code == 422
    assert malformed.json()["invalid-params"][0]["name"] == "query.city"
    official = await login(world.client, "zz-gjj-tan", DEMO_OFFICIAL_PASSWORD)
    forbidden = await world.client.get(
        "/v1/provident-fund/loan-eligibility", params={"city": "430100"}, headers=bearer(official)
    )
    assert forbidden.status_code == 403


async def test_a_dead_city_leaves_the_answer_incomplete_not_broken(world: World) -> None:
    async with AsyncExitStack() as stack:
        degraded = await world.another_gateway(stack, transports={"430200": DeadCity()})
        token = await login(degraded.client, LIU_YANG.id_number)
        body = (
            await degraded.client.get(
                "/v1/provident-fund/loan-eligibility", params={"city": "430100"}, headers=bearer(token)
            )
        ).json()
        lending_dead = await degraded.client.get(
            "/v1/provident-fund/loan-eligibility", params={"city": "430200"}, headers=bearer(token)
        )
    assert body["complete"] is False
    assert {c["code"]: c["status"] for c in body["cities"]}["430200"] == "unavailable"
    assert "months_430200" not in next(c for c in body["checks"] if c["rule"] == "recognised-deposit-months")["figures"]
    # Without the lending city's rules there is nothing to decide by.
    assert lending_dead.status_code == 502
    assert lending_dead.headers["content-type"] == "application/problem+json"


async def test_chen_jing_meets_each_citys_requirement_only_with_all_three_cities(world: World) -> None:
    token = await login(world.client, CHEN_JING.id_number)
    for city, required in (("430100", 90), ("430200", 72), ("430300", 80)):
        response = await world.client.get(
            "/v1/talent/continuing-education", params={"city": city}, headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["required_hours_per_year"] == required
        assert body["years"], body
        for year in body["years"]:
            assert set(year["hours_by_city"]) == {"430100", "430200", "430300"}
            assert year["met"] is True
            assert year["met_by_any_single_city"] is False


async def test_title_evaluation_sees_the_whole_record(world: World) -> None:
    token = await login(world.client, CHEN_JING.id_number)
    body = (await world.client.get("/v1/talent/evaluation", params={"city": "430100"}, headers=bearer(token))).json()
    issuers = {c["issued_by"]["code"] for c in body["skill_certificates"]}
    assert issuers == {"430100", "430200", "430300"}
    assert [t["grade"] for t in body["titles"]] == ["junior", "intermediate"]
    assert body["highest_title"]["title"] == "工程师"
    assert body["highest_title"]["awarded_by"]["code"] == "430200"
