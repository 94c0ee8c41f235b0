"""One city backend over HTTP: the canonical exchange API, its local API, and its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from commons.db import make_engine
from commons.jwks import StaticKeys
from commons.keys import SigningKey
from commons.response_signing import SIGNATURE_HEADER, verify_response_signature
from commons.server_timing import SERVER_TIMING_HEADER, parse
from gateway.exchange.tokens import ServiceTokenMinter
from mock_cities.personas import PERSONAS
from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from mock_cities.seed import seed_city
from tests.conftest import World, city_app
from tests.databases import TestDatabases

LIU_YANG, WANG_XIUYING = (next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "wang-xiuying"))


def service_headers(key: SigningKey, city_code: str) -> dict[str, str]:
    minter = ServiceTokenMinter(key, issuer="czt-gateway", ttl_s=60)
    token = minter.mint(
        city_code=city_code, subject="tester", client_id="tests", purpose="case-handling", decision_id="d-1"
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def zhuzhou(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.cities["430200"])
    async with httpx.AsyncClient(transport=transport, base_url="http://zhuzhou.test") as client:
        yield client


async def test_health_names_the_city_and_its_dialect(zhuzhou: httpx.AsyncClient) -> None:
    body = (await zhuzhou.get("/health")).json()
    assert body == {"status": "ok", "city": {"code": "430200", "name": "株洲", "name_en": "Zhuzhou"}, "dialect": "nhsa"}


async def test_each_domain_has_its_own_canonical_route(zhuzhou: httpx.AsyncClient, signing_key: SigningKey) -> None:
    headers = service_headers(signing_key, "430200")
    base = f"/exchange/v1/persons/{LIU_YANG.id_number}"
    medical = (await zhuzhou.get(f"{base}/medical-insurance", headers=headers)).json()
    assert medical["enrolment"]["status"] == "terminated"
    assert medical["contributions"] and medical["contributions"][0]["month"] < medical["contributions"][-1]["month"]
    fund = (await zhuzhou.get(f"{base}/provident-fund", headers=headers)).json()
    assert fund["account"]["status"] == "sealed"
    talent = (await zhuzhou.get(f"{base}/talent", headers=headers)).json()
    assert talent["skill_certificates"][0]["occupation"] == "电工"
    assert talent["skill_certificates"][0]["level"] == 3


async def test_a_domain_the_city_does_not_hold_is_a_404(world: World, signing_key: SigningKey) -> None:
    transport = httpx.ASGITransport(app=world.cities["430300"])
    async with httpx.AsyncClient(transport=transport, base_url="http://xiangtan.test") as xiangtan:
        response = await xiangtan.get(
            f"/exchange/v1/persons/{WANG_XIUYING.id_number}/provident-fund",
            headers=service_headers(signing_key, "430300"),
        )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "provident-fund" in response.json()["detail"]


async def test_a_broken_local_record_is_a_problem_not_a_trace(
    databases: TestDatabases, profiles: list[CityProfile], population: Population, signing_key: SigningKey
) -> None:
    zhuzhou = next(p for p in profiles if p.code == "430200")
    url = databases.new_url("zhuzhou_broken")
    engine = make_engine(url)
    seed_city(engine=engine, profile=zhuzhou, population=population)
    with engine.begin() as connection:
        # A status code the exchange standard has no meaning for, as a legacy batch job might leave behind.
        connection.execute(text("UPDATE hf_acct SET acct_stas = '7'"))
    engine.dispose()

    app = city_app(zhuzhou, url, signing_key)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://zhuzhou.test") as client:
            response = await client.get(
                f"/exchange/v1/persons/{LIU_YANG.id_number}/records", headers=service_headers(signing_key, "430200")
            )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Local record does not map to the exchange standard"
    assert "acct_stas" in problem["detail"]
    assert "Traceback" not in response.text


async def test_server_timing_tells_the_citys_own_phases(zhuzhou: httpx.AsyncClient, signing_key: SigningKey) -> None:
    response = await zhuzhou.get(
        f"/exchange/v1/persons/{LIU_YANG.id_number}/records", headers=service_headers(signing_key, "430200")
    )
    phases = parse(response.headers[SERVER_TIMING_HEADER])
    assert list(phases) == ["auth", "read", "sign", "total"]
    assert phases["auth"][0] + phases["read"][0] + phases["sign"][0] <= phases["total"][0]


async def test_openapi_documents_problem_responses(zhuzhou: httpx.AsyncClient) -> None:
    spec = (await zhuzhou.get("/openapi.json")).json()
    responses = spec["paths"]["/exchange/v1/persons/{id_number}/records"]["get"]["responses"]
    assert set(responses["401"]["content"]) == {"application/problem+json"}
    assert set(responses["422"]["content"]) == {"application/problem+json"}


async def test_every_exchange_answer_is_signed_with_the_published_key(
    zhuzhou: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    keys = StaticKeys((await zhuzhou.get("/.well-known/jwks.json")).json())
    for path in (f"/exchange/v1/persons/{LIU_YANG.id_number}/records", f"/local/v1/persons/{LIU_YANG.id_number}"):
        response = await zhuzhou.get(path, headers={**service_headers(signing_key, "430200"), "X-Request-ID": "r-9"})
        await verify_response_signature(
            response.headers[SIGNATURE_HEADER],
            body=response.content,
            status=response.status_code,
            keys=keys,
            issuer="430200",
            request_id="r-9",
        )
    assert SIGNATURE_HEADER not in (await zhuzhou.get("/health")).headers
