"""The insuring city's side of 异地就医备案 and 直接结算 over HTTP, each city on a freshly seeded database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import httpx
import pytest

from commons.db import make_engine
from commons.keys import SigningKey
from gateway.exchange.tokens import ServiceTokenMinter
from mock_cities.personas import PERSONAS
from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from mock_cities.seed import seed_city
from schemas.purposes import Purpose
from tests.conftest import city_app, start_cities
from tests.databases import TestDatabases

LIU_YANG, WANG_XIUYING, CHEN_JING = (
    next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "wang-xiuying", "chen-jing")
)
CHANGSHA = {"code": "430100", "name": "长沙", "name_en": "Changsha"}
ZHUZHOU = {"code": "430200", "name": "株洲", "name_en": "Zhuzhou"}
XIANGTAN = {"code": "430300", "name": "湘潭", "name_en": "Xiangtan"}
CLAIMS = "/exchange/v1/medical-insurance/claims"

CityFactory = Callable[[str], Awaitable[httpx.AsyncClient]]


def headers(key: SigningKey, city_code: str, purpose: Purpose) -> dict[str, str]:
    minter = ServiceTokenMinter(key, issuer="czt-gateway", ttl_s=60)
    token = minter.mint(city_code=city_code, subject="tester", client_id="tests", purpose=purpose, decision_id="d-1")
    return {"Authorization": f"Bearer {token}"}


def filings_path(id_number: str) -> str:
    return f"/exchange/v1/persons/{id_number}/medical-insurance/filings"


def claim(id_number: str, *, care_city: dict[str, str] = CHANGSHA, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "claim_id": f"ZY-{uuid.uuid4().hex[:12]}",
        "id_number": id_number,
        "care_city": care_city,
        "hospital": "中南大学湘雅医院",
        "admission_date": "2024-03-04",
        "service_date": "2024-03-11",
        "items": [
            {"code": "250101", "name": "床位费", "amount": "560.00"},
            {"code": "310701", "name": "CT检查", "amount": "1440.00"},
            {"code": "120400", "name": "药品费", "amount": "3000.00"},
        ],
        "total": "5000.00",
    }
    return {**body, **changes}


@pytest.fixture
async def fresh_city(
    databases: TestDatabases, profiles: list[CityProfile], population: Population, signing_key: SigningKey
) -> AsyncIterator[CityFactory]:
    """Starts a city of the given code on its own freshly seeded database, for tests that count what it holds."""
    async with AsyncExitStack() as stack:

        async def start(code: str) -> httpx.AsyncClient:
            profile = next(p for p in profiles if p.code == code)
            url = databases.new_url(f"medical_{profile.slug}_{uuid.uuid4().hex[:6]}")
            engine = make_engine(url)
            seed_city(engine=engine, profile=profile, population=population)
            engine.dispose()
            app = city_app(profile, url, signing_key)
            await start_cities(stack, {code: app})
            transport = httpx.ASGITransport(app=app)
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=f"http://{profile.slug}.test")
            )

        yield start


async def test_a_filing_is_kept_listed_and_cancelled(fresh_city: CityFactory, signing_key: SigningKey) -> None:
    xiangtan = await fresh_city("430300")
    auth = headers(signing_key, "430300", Purpose.MEDICAL_FILING)
    application = {
        "filing_id": uuid.uuid4().hex,
        "care_city": CHANGSHA,
        "valid_from": "2024-01-01",
        "valid_to": "2024-12-31",
    }
    created = await xiangtan.post(filings_path(WANG_XIUYING.id_number), json=application, headers=auth)
    assert created.status_code == 200, created.text
    filing = created.json()
    assert filing["insuring_city"] == XIANGTAN and filing["care_city"] == CHANGSHA
    assert filing["status"] == "expired"  # 2024 is over; the filing still counts for claims of 2024

    retry = await xiangtan.post(filings_path(WANG_XIUYING.id_number), json=application, headers=auth)
    assert retry.json() == filing
    reused = await xiangtan.post(
        filings_path(WANG_XIUYING.id_number), json={**application, "valid_to": "2024-06-30"}, headers=auth
    )
    assert reused.status_code == 409
    overlapping = await xiangtan.post(
        filings_path(WANG_XIUYING.id_number),
        json={**application, "filing_id": uuid.uuid4().hex, "valid_from": "2024-12-01", "valid_to": "2025-05-31"},
        headers=auth,
    )
    assert overlapping.status_code == 409
    assert filing["filing_id"] in overlapping.json()["detail"]

    listed = (await xiangtan.get(filings_path(WANG_XIUYING.id_number), headers=auth)).json()
    assert listed == {"city": XIANGTAN, "filings": [filing]}

    cancel = f"{filings_path(WANG_XIUYING.id_number)}/{filing['filing_id']}/cancel"
    cancelled = (await xiangtan.post(cancel, headers=auth)).json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"]
    assert (await xiangtan.post(cancel, headers=auth)).json() == cancelled
    elsewhere = await xiangtan.post(f"{filings_path(CHEN_JING.id_number)}/{filing['filing_id']}/cancel", headers=auth)
    assert elsewhere.status_code == 404


async def test_filings_the_city_cannot_keep_are_refused(fresh_city: CityFactory, signing_key: SigningKey) -> None:
    zhuzhou = await fresh_city("430200")
    auth = headers(signing_key, "430200", Purpose.MEDICAL_FILING)
    application = {"filing_id": uuid.uuid4().hex, "valid_from": "2025-01-01", "valid_to": "2025-12-31"}
    # 刘洋's 株洲 enrolment ended when he moved to 长沙.
    terminated = await zhuzhou.post(
        filings_path(LIU_YANG.id_number), json={**application, "care_city": CHANGSHA}, headers=auth
    )
    assert terminated.status_code == 409
    assert terminated.json()["type"] == "urn:czt:problem:not-insured"
    home = await zhuzhou.post(
        filings_path(LIU_YANG.id_number), json={**application, "care_city": ZHUZHOU}, headers=auth
    )
    assert home.status_code == 422
    too_long = await zhuzhou.post(
        filings_path(LIU_YANG.id_number),
        json={**application, "care_city": CHANGSHA, "valid_to": "2027-01-01"},
        headers=auth,
    )
    assert too_long.status_code == 422
    assert too_long.json()["invalid-params"][0]["name"] == "body.valid_to"


async def test_every_route_wants_a_service_token_for_its_own_purpose(
    fresh_city: CityFactory, signing_key: SigningKey
) -> None:
    xiangtan = await fresh_city("430300")
    body = claim(WANG_XIUYING.id_number)
    assert (await xiangtan.post(CLAIMS, json=body)).status_code == 401
    wrong = await xiangtan.post(CLAIMS, json=body, headers=headers(signing_key, "430300", Purpose.CASE_HANDLING))
    assert wrong.status_code == 403
    foreign = await xiangtan.post(CLAIMS, json=body, headers=headers(signing_key, "430100", Purpose.MEDICAL_SETTLEMENT))
    assert foreign.status_code == 401
    filings = await xiangtan.get(
        filings_path(WANG_XIUYING.id_number), headers=headers(signing_key, "430300", Purpose.MEDICAL_SETTLEMENT)
    )
    assert filings.status_code == 403


async def test_a_claim_is_settled_once_by_the_citys_own_rules(fresh_city: CityFactory, signing_key: SigningKey) -> None:
    xiangtan = await fresh_city("430300")
    auth = headers(signing_key, "430300", Purpose.MEDICAL_SETTLEMENT)
    body = claim(WANG_XIUYING.id_number)
    first = await xiangtan.post(CLAIMS, json=body, headers=auth)
    assert first.status_code == 200, first.text
    statement = first.json()
    # 湘潭: deductible 700, residents 0.60, −0.15 without a filing: (5000 − 700) × 0.45 = 1935.
    assert {k: statement[k] for k in ("total", "deductible", "fund_paid", "account_paid", "cash_paid")} == {
        "total": "5000.00",
        "deductible": "700.00",
        "fund_paid": "1935.00",
        "account_paid": "0.00",
        "cash_paid": "2365.00",
    }
    assert statement["rules"]["city"] == XIANGTAN
    assert statement["rules"]["filing_found"] is False and statement["rules"]["ratio"] == "0.45"

    assert (await xiangtan.post(CLAIMS, json=body, headers=auth)).json() == statement
    # The same amounts written differently are the same claim.
    respelled = {**body, "total": "5000", "items": [{**i, "amount": str(Decimal(i["amount"]))} for i in body["items"]]}
    assert (await xiangtan.post(CLAIMS, json=respelled, headers=auth)).json() == statement
    changed = await xiangtan.post(CLAIMS, json={**body, "hospital": "湖南省人民医院"}, headers=auth)
    assert changed.status_code == 409
    assert changed.json()["type"] == "urn:czt:problem:conflict"
    # The deductible is used up for 2024: the next claim of the year pays none.
    second = (await xiangtan.post(CLAIMS, json=claim(WANG_XIUYING.id_number), headers=auth)).json()
    assert second["deductible"] == "0.00" and second["rules"]["deductible_remaining_before"] == "0.00"
    # Another care city's hospital may use the same claim id: ids are the care city's.
    from_zhuzhou = await xiangtan.post(CLAIMS, json={**body, "care_city": ZHUZHOU}, headers=auth)
    assert from_zhuzhou.status_code == 200 and from_zhuzhou.json()["care_city"] == ZHUZHOU


async def test_an_employees_claim_debits_the_account_in_the_local_dialect(
    fresh_city: CityFactory, signing_key: SigningKey
) -> None:
    changsha = await fresh_city("430100")
    local = f"/local/v1/persons/{CHEN_JING.id_number}"
    read = headers(signing_key, "430100", Purpose.SELF_SERVICE)

    async def balance() -> Decimal:
        document = (await changsha.get(local, headers=read)).json()
        return Decimal(document["medicalInsurance"]["enrolment"]["accountBalance"])

    before = await balance()
    body = claim(CHEN_JING.id_number, care_city=XIANGTAN, service_date="2024-05-20", admission_date=None)
    statement = (
        await changsha.post(CLAIMS, json=body, headers=headers(signing_key, "430100", Purpose.MEDICAL_SETTLEMENT))
    ).json()
    assert statement["rules"]["insurance_type"] == "employee"
    assert Decimal(statement["account_paid"]) > 0
    assert await balance() == before - Decimal(statement["account_paid"])


async def test_concurrent_retries_settle_and_charge_once(fresh_city: CityFactory, signing_key: SigningKey) -> None:
    changsha = await fresh_city("430100")
    auth = headers(signing_key, "430100", Purpose.MEDICAL_SETTLEMENT)
    path = f"/exchange/v1/persons/{CHEN_JING.id_number}/medical-insurance"
    before = Decimal((await changsha.get(path, headers=auth)).json()["enrolment"]["account_balance"])
    body = claim(CHEN_JING.id_number, care_city=XIANGTAN, service_date="2024-08-08", admission_date=None)
    answers = await asyncio.gather(*(changsha.post(CLAIMS, json=body, headers=auth) for _ in range(8)))
    assert {response.status_code for response in answers} == {200}
    statements = [response.json() for response in answers]
    assert all(statement == statements[0] for statement in statements)
    after = Decimal((await changsha.get(path, headers=auth)).json()["enrolment"]["account_balance"])
    assert after == before - Decimal(statements[0]["account_paid"])


async def test_a_claim_for_someone_not_insured_here_is_refused(
    fresh_city: CityFactory, signing_key: SigningKey
) -> None:
    zhuzhou = await fresh_city("430200")
    auth = headers(signing_key, "430200", Purpose.MEDICAL_SETTLEMENT)
    terminated = await zhuzhou.post(CLAIMS, json=claim(LIU_YANG.id_number), headers=auth)
    assert terminated.status_code == 409 and terminated.json()["type"] == "urn:czt:problem:not-insured"
    unknown = await zhuzhou.post(CLAIMS, json=claim(WANG_XIUYING.id_number), headers=auth)
    assert unknown.status_code == 404
