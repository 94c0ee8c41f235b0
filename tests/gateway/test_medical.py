"""医保 through the gateway: enrolment (互认), 异地就医备案, 异地就医直接结算 by the insuring city's rules.

The world's databases live for the whole session, so each test settles claims in a year of its own: the
deductible and the cap of one test's year are never touched by another's.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from sqlmodel import Session

from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.auth.models import OfficialAccount
from gateway.auth.passwords import hash_password
from mock_cities.personas import PERSONAS
from mock_cities.population import Population
from schemas.idcard import make_id_number
from tests.conftest import World, bearer, login
from tests.gateway.faults import DeadCity

LIU_YANG, WANG_XIUYING, CHEN_JING = (
    next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "wang-xiuying", "chen-jing")
)
CLAIMS, FILINGS = "/v1/medical-insurance/claims", "/v1/medical-insurance/filings"
XIANGTAN_CLERK = "xt-ybj-test"  # 湘潭's 医保 clerk exists only in these tests; the demo has 长沙's


def claim(id_number: str, service_date: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "claim_id": f"ZY{uuid.uuid4().hex[:16]}",
        "id_number": id_number,
        "hospital": "中南大学湘雅二医院",
        "admission_date": service_date,
        "service_date": service_date,
        "items": [
            {"code": "110200", "name": "诊查费", "amount": "25.00"},
            {"code": "270800", "name": "病理检查", "amount": "1475.50"},
            {"code": "120400", "name": "药品费", "amount": "3499.50"},
        ],
        "total": "5000.00",
    }
    return {**body, **changes}


class AnswerLost(httpx.AsyncBaseTransport):
    """Delivers claims to the city, which settles them, but loses every answer on the way back."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/medical-insurance/claims"):
            await response.aread()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def lapsed_everywhere(population: Population) -> str:
    """A generated resident no city insures any more (enrolments suspended or terminated)."""
    for index in range(population.person_count() - len(PERSONAS)):
        records = population.all_records(index).values()
        if all(r.medical_insurance is None or r.medical_insurance.enrolment.status != "active" for r in records):
            return next(iter(records)).person.id_number
    raise AssertionError("the test population has no resident whose enrolment lapsed everywhere")


def yuan(text: str) -> Decimal:
    return Decimal(text)


def ratio_share(amount: Decimal, ratio: str) -> Decimal:
    return (amount * Decimal(ratio)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


async def official(world: World, username: str = "cs-ybj-zhou") -> dict[str, str]:
    if username == XIANGTAN_CLERK:
        with Session(world.gateway.state.engine) as session:
            session.merge(
                OfficialAccount(
                    username=XIANGTAN_CLERK,
                    name="测试 (湘潭市医疗保障局)",
                    city_code="430300",
                    department="medical_insurance",
                    role="clerk",
                    password_hash=hash_password(DEMO_OFFICIAL_PASSWORD),
                )
            )
            session.commit()
    return bearer(await login(world.client, username, DEMO_OFFICIAL_PASSWORD))


async def resident(client: httpx.AsyncClient, id_number: str) -> dict[str, str]:
    return bearer(await login(client, id_number))


async def changsha_balance(client: httpx.AsyncClient, auth: dict[str, str]) -> Decimal:
    body = (await client.get("/v1/me/records", headers=auth)).json()
    changsha = next(c for c in body["cities"] if c["city"]["code"] == "430100")
    return Decimal(changsha["records"]["medical_insurance"]["enrolment"]["account_balance"])


async def test_wang_xiuying_filed_so_her_changsha_claim_gets_xiangtans_full_resident_ratio(world: World) -> None:
    wang = await resident(world.client, WANG_XIUYING.id_number)
    filed = await world.client.post(
        FILINGS, json={"care_city_code": "430100", "valid_from": "2023-01-01", "valid_to": "2023-12-31"}, headers=wang
    )
    assert filed.status_code == 201, filed.text
    filing = filed.json()
    assert filing["insuring_city"]["code"] == "430300" and filing["care_city"]["code"] == "430100"

    clerk = await official(world)
    body = claim(WANG_XIUYING.id_number, "2023-06-15")
    settled = await world.client.post(CLAIMS, json=body, headers=clerk)
    assert settled.status_code == 200, settled.text
    statement = settled.json()
    assert statement["patient_name"] == "王秀英"
    assert statement["insuring_city"]["code"] == "430300" and statement["care_city"]["code"] == "430100"
    rules = statement["rules"]
    assert rules["city"]["name"] == "湘潭" and rules["insurance_type"] == "resident"
    assert (rules["filing_found"], rules["filing_id"]) == (True, filing["filing_id"])
    assert (rules["base_ratio"], rules["ratio"], rules["deductible_per_year"]) == ("0.60", "0.60", "700.00")
    deductible = yuan(statement["deductible"])
    assert deductible == min(yuan("5000.00"), yuan(rules["deductible_remaining_before"]))
    assert yuan(statement["fund_paid"]) == ratio_share(yuan("5000.00") - deductible, "0.60")
    assert statement["account_paid"] == "0.00"  # 城乡居民 have no personal account
    parts = ("deductible", "fund_paid", "account_paid", "cash_paid")
    assert sum(yuan(statement[k]) for k in parts) == yuan(statement["total"]) == yuan("5000.00")

    # A retry (the hospital lost the answer) returns the same statement …
    retry = await world.client.post(CLAIMS, json=body, headers=clerk)
    assert retry.status_code == 200 and retry.json() == statement
    # … and charged the year nothing more: the next claim sees the cap used by the first claim only.
    following = (
        await world.client.post(CLAIMS, json=claim(WANG_XIUYING.id_number, "2023-07-01"), headers=clerk)
    ).json()
    assert yuan(following["rules"]["cap_remaining_before"]) == yuan(rules["cap_remaining_before"]) - yuan(
        statement["fund_paid"]
    )
    assert following["deductible"] == "0.00"

    conflicting = await world.client.post(CLAIMS, json={**body, "hospital": "长沙市第一医院"}, headers=clerk)
    assert conflicting.status_code == 409
    assert conflicting.headers["content-type"] == "application/problem+json"


async def test_without_a_filing_xiangtan_pays_its_reduced_ratio(world: World) -> None:
    clerk = await official(world)
    statement = (
        await world.client.post(CLAIMS, json=claim(WANG_XIUYING.id_number, "2022-04-02"), headers=clerk)
    ).json()
    rules = statement["rules"]
    assert (rules["filing_found"], rules["filing_id"]) == (False, None)
    assert (rules["base_ratio"], rules["ratio_reduction"], rules["ratio"]) == ("0.60", "0.15", "0.45")
    assert yuan(statement["fund_paid"]) == ratio_share(yuan("5000.00") - yuan(statement["deductible"]), "0.45")


async def test_a_filing_cancelled_later_still_covers_the_days_before(world: World) -> None:
    wang = await resident(world.client, WANG_XIUYING.id_number)
    filing = (
        await world.client.post(
            FILINGS,
            json={"care_city_code": "430100", "valid_from": "2021-01-01", "valid_to": "2021-12-31"},
            headers=wang,
        )
    ).json()
    cancel = f"{FILINGS}/{filing['filing_id']}/cancel"
    cancelled = await world.client.post(cancel, headers=wang)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await world.client.post(cancel, headers=wang)).json() == cancelled.json()
    listed = (await world.client.get(FILINGS, headers=wang)).json()
    assert listed["insuring_city"]["code"] == "430300"
    assert cancelled.json() in listed["filings"]
    statement = (
        await world.client.post(CLAIMS, json=claim(WANG_XIUYING.id_number, "2021-09-09"), headers=await official(world))
    ).json()
    assert statement["rules"]["filing_found"] is True


async def test_filings_are_validated(world: World) -> None:
    wang = await resident(world.client, WANG_XIUYING.id_number)
    dates = {"valid_from": "2026-01-01", "valid_to": "2026-12-31"}
    home = await world.client.post(FILINGS, json={"care_city_code": "430300", **dates}, headers=wang)
    assert home.status_code == 422 and "care_city_code" in home.json()["detail"]
    unknown = await world.client.post(FILINGS, json={"care_city_code": "430900", **dates}, headers=wang)
    assert unknown.status_code == 422 and "430900" in unknown.json()["detail"]
    backwards = await world.client.post(
        FILINGS, json={"care_city_code": "430100", "valid_from": "2026-05-01", "valid_to": "2026-04-30"}, headers=wang
    )
    assert backwards.status_code == 422
    assert backwards.json()["invalid-params"][0]["name"] == "body.valid_to"
    too_long = await world.client.post(
        FILINGS, json={"care_city_code": "430100", "valid_from": "2026-05-01", "valid_to": "2028-05-01"}, headers=wang
    )
    assert too_long.status_code == 422 and "2028-04-30" in too_long.json()["detail"]
    missing = await world.client.post(f"{FILINGS}/{uuid.uuid4().hex}/cancel", headers=wang)
    assert missing.status_code == 404
    clerk = await official(world)
    assert (await world.client.get(FILINGS, headers=clerk)).status_code == 403


async def test_chen_jings_claim_in_xiangtan_debits_her_changsha_account_once(world: World) -> None:
    chen = await resident(world.client, CHEN_JING.id_number)
    before = await changsha_balance(world.client, chen)
    clerk = await official(world, XIANGTAN_CLERK)
    body = claim(CHEN_JING.id_number, "2024-10-10")
    statement = (await world.client.post(CLAIMS, json=body, headers=clerk)).json()
    assert statement["insuring_city"]["code"] == "430100" and statement["care_city"]["code"] == "430300"
    assert statement["rules"]["insurance_type"] == "employee"
    assert statement["rules"]["ratio"] == "0.75"  # 长沙's employees 0.85, −0.10 without a filing for 湘潭
    account_paid = yuan(statement["account_paid"])
    assert account_paid == min(before, yuan("5000.00") - yuan(statement["deductible"]) - yuan(statement["fund_paid"]))
    assert account_paid > 0
    assert await changsha_balance(world.client, chen) == before - account_paid

    assert (await world.client.post(CLAIMS, json=body, headers=clerk)).json() == statement
    assert await changsha_balance(world.client, chen) == before - account_paid


async def test_the_same_claim_submitted_at_once_is_settled_and_charged_once(world: World) -> None:
    chen = await resident(world.client, CHEN_JING.id_number)
    before = await changsha_balance(world.client, chen)
    clerk = await official(world, XIANGTAN_CLERK)
    body = claim(
        CHEN_JING.id_number, "2025-02-14", total="60.00", items=[{"code": "1", "name": "挂号", "amount": "60"}]
    )
    answers = await asyncio.gather(*(world.client.post(CLAIMS, json=body, headers=clerk) for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    statements = [a.json() for a in answers]
    assert all(s == statements[0] for s in statements)
    assert await changsha_balance(world.client, chen) == before - yuan(statements[0]["account_paid"])


async def test_only_a_care_citys_medical_insurance_official_submits_claims(world: World) -> None:
    body = claim(WANG_XIUYING.id_number, "2020-03-03")
    fund_clerk = bearer(await login(world.client, "zz-gjj-tan", DEMO_OFFICIAL_PASSWORD))
    wang = await resident(world.client, WANG_XIUYING.id_number)
    integrator = (
        await world.client.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-integrator", "czt-integrator-secret"),
        )
    ).json()["access_token"]
    # Residents and clients are not officials of a care city: the operation itself is refused.
    for auth in (wang, bearer(integrator)):
        denied = await world.client.post(CLAIMS, json=body, headers=auth)
        assert denied.status_code == 403, denied.text
        assert denied.json()["type"] == "urn:czt:problem:forbidden"
    # A 公积金 clerk is an official, but the policy keeps 医保 data from other departments.
    denied = await world.client.post(CLAIMS, json=body, headers=fund_clerk)
    assert denied.status_code == 403, denied.text
    assert denied.json()["type"] == "urn:czt:problem:policy-denied"
    assert "officials-other-domains" in {d["rule"] for d in denied.json()["denials"]}
    # 长沙's clerk cannot settle a 长沙-insured patient across cities: that is a local claim.
    local = await world.client.post(
        CLAIMS, json=claim(CHEN_JING.id_number, "2020-03-03"), headers=await official(world)
    )
    assert local.status_code == 409 and "长沙" in local.json()["detail"]


async def test_bad_claims_are_problems_naming_the_field(world: World, population: Population) -> None:
    clerk = await official(world)
    wrong_total = await world.client.post(
        CLAIMS, json=claim(WANG_XIUYING.id_number, "2020-01-01", total="4999.99"), headers=clerk
    )
    assert wrong_total.status_code == 422
    assert [p["name"] for p in wrong_total.json()["invalid-params"]] == ["body.total"]
    too_precise = claim(WANG_XIUYING.id_number, "2020-01-01")
    too_precise["items"][0]["amount"] = "25.001"
    rejected = await world.client.post(CLAIMS, json=too_precise, headers=clerk)
    assert rejected.status_code == 422
    assert rejected.json()["invalid-params"][0]["name"] == "body.items.0.amount"
    backwards = claim(WANG_XIUYING.id_number, "2020-01-01", admission_date="2020-01-05")
    assert (await world.client.post(CLAIMS, json=backwards, headers=clerk)).json()["invalid-params"][0][
        "name"
    ] == "body.service_date"

    stranger = make_id_number("110101", date(1970, 1, 1), 123)  # 北京: no city here holds anyone from there
    unknown = await world.client.post(CLAIMS, json=claim(stranger, "2020-01-01"), headers=clerk)
    assert unknown.status_code == 404 and unknown.json()["type"] == "urn:czt:problem:resident-not-found"

    lapsed = lapsed_everywhere(population)
    not_insured = await world.client.post(CLAIMS, json=claim(lapsed, "2020-01-01"), headers=clerk)
    assert not_insured.status_code == 409 and not_insured.json()["type"] == "urn:czt:problem:not-insured"


async def test_the_insuring_city_down_is_a_clear_502_and_charges_nothing(world: World) -> None:
    chen = await resident(world.client, CHEN_JING.id_number)
    before = await changsha_balance(world.client, chen)
    await official(world, XIANGTAN_CLERK)
    body = claim(CHEN_JING.id_number, "2019-12-12")
    async with AsyncExitStack() as stack:
        degraded = await world.another_gateway(stack, transports={"430100": DeadCity()})
        clerk = bearer(await login(degraded.client, XIANGTAN_CLERK, DEMO_OFFICIAL_PASSWORD))
        failed = await degraded.client.post(CLAIMS, json=body, headers=clerk)
    assert failed.status_code == 502
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["type"] == "urn:czt:problem:upstream-error"
    assert "长沙" in failed.json()["detail"] and "unavailable" in failed.json()["detail"]
    assert await changsha_balance(world.client, chen) == before


async def test_a_lost_answer_is_a_502_and_the_retry_returns_the_one_charge(world: World) -> None:
    chen = await resident(world.client, CHEN_JING.id_number)
    before = await changsha_balance(world.client, chen)
    clerk = await official(world, XIANGTAN_CLERK)
    body = claim(CHEN_JING.id_number, "2020-11-11")
    async with AsyncExitStack() as stack:
        flaky = await world.another_gateway(stack, transports={"430100": AnswerLost(world.transports["430100"])})
        lost = await flaky.client.post(CLAIMS, json=body, headers=clerk)
    assert lost.status_code == 502
    assert "retry with the same id" in lost.json()["detail"]
    charged = await changsha_balance(world.client, chen)
    retry = await world.client.post(CLAIMS, json=body, headers=clerk)
    assert retry.status_code == 200
    assert charged == before - yuan(retry.json()["account_paid"])
    assert await changsha_balance(world.client, chen) == charged


async def test_the_enrolment_view_recognises_every_citys_months(world: World) -> None:
    chen = await resident(world.client, CHEN_JING.id_number)
    view = (await world.client.get("/v1/medical-insurance/enrolment", headers=chen)).json()
    assert view["complete"] is True
    assert view["insuring_city"]["code"] == "430100"
    months = {c["city"]["code"]: c["enrolment"]["contribution_months"] for c in view["cities"]}
    assert set(months) == {"430100", "430200", "430300"}
    assert view["recognised_contribution_months"] == sum(months.values())
    statuses = {c["city"]["code"]: c["enrolment"]["status"] for c in view["cities"]}
    assert statuses == {"430100": "active", "430200": "terminated", "430300": "terminated"}
