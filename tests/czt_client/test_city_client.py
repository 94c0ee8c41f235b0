"""The city client against in-process city apps, with service tokens minted as the gateway mints them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from commons.keys import SigningKey
from czt_client import CityExchangeClient, CztApiError, CztContractError, UntrustedAnswer
from schemas.cities import CityRef
from schemas.medical_insurance import ClaimItem, SettlementRequest
from schemas.problems import ProblemType
from schemas.purposes import Purpose
from services.provident_fund.models import LedgerState
from tests.conftest import World
from tests.czt_client.conftest import service_token

CHEN_JING = "430104198611239369"
WANG_XIUYING = "430302195803089240"
NOBODY = "110101190101019972"  # valid, held by no city


def client_for(app: FastAPI, code: str, **options: Any) -> CityExchangeClient:
    return CityExchangeClient(
        f"http://city-{code}.test",
        city_code=code,
        transport=httpx.ASGITransport(app=app),
        **options,
    )


@pytest.fixture
async def xiangtan(world: World, signing_key: SigningKey) -> AsyncIterator[CityExchangeClient]:
    async with client_for(world.cities["430300"], "430300") as client:
        client.token = service_token(signing_key, "430300", CHEN_JING)
        yield client


async def test_health_and_keys_are_public(xiangtan: CityExchangeClient) -> None:
    health = await xiangtan.health()
    assert (health.status, health.city.code, health.dialect) == ("ok", "430300", "legacy_envelope")
    keys = await xiangtan.jwks()
    assert keys["keys"][0]["crv"] == "P-256"


async def test_canonical_records_come_signed_and_typed(xiangtan: CityExchangeClient) -> None:
    records = await xiangtan.person_records(CHEN_JING)  # the signature is verified against the city's JWKS
    assert records.city.code == "430300" and records.person.name == "陈静"
    medical = await xiangtan.medical_insurance(CHEN_JING)
    assert medical == records.medical_insurance
    fund = await xiangtan.provident_fund(CHEN_JING)
    assert fund.account.status == "sealed"
    talent = await xiangtan.talent(CHEN_JING)
    assert talent.titles[0].series == "工程"
    rules = await xiangtan.rules()
    assert rules.city.code == "430300"
    local = await xiangtan.local_document(CHEN_JING)
    assert local["msg"] == "成功"


async def test_city_errors_raise_typed_problems(xiangtan: CityExchangeClient, signing_key: SigningKey) -> None:
    with pytest.raises(CztApiError) as unknown:
        await xiangtan.person_records(NOBODY)
    assert (unknown.value.status, unknown.value.type) == (404, ProblemType.RESIDENT_NOT_FOUND)

    with pytest.raises(CztApiError) as malformed:
        await xiangtan.person_records(CHEN_JING[:17] + "0")
    assert [p.name for p in malformed.value.invalid_params] == ["path.id_number"]

    with pytest.raises(CztApiError) as no_token:
        await xiangtan.person_records(CHEN_JING, token=None)
    assert (no_token.value.status, no_token.value.type) == (401, ProblemType.UNAUTHENTICATED)

    with pytest.raises(CztApiError) as elsewhere:
        await xiangtan.person_records(CHEN_JING, token=service_token(signing_key, "430100", CHEN_JING))
    assert elsewhere.value.status == 401 and "audience" in (elsewhere.value.detail or "").lower()


async def test_an_answer_from_another_city_is_untrusted(world: World, signing_key: SigningKey) -> None:
    # A client that means 株洲 but reaches 长沙: 长沙's answer is signed by 长沙, not by 株洲.
    token = service_token(signing_key, "430100", CHEN_JING)
    async with client_for(world.cities["430100"], "430200", token=token) as confused:
        with pytest.raises(UntrustedAnswer, match="untrusted answer from city 430200"):
            await confused.person_records(CHEN_JING)
    async with client_for(world.cities["430100"], "430200", token=token, verify_signatures=False) as unchecked:
        with pytest.raises(CztContractError, match="claims to come from city 430100, not 430200"):
            await unchecked.person_records(CHEN_JING)


async def test_a_tampered_answer_is_untrusted(world: World, signing_key: SigningKey) -> None:
    inner = httpx.ASGITransport(app=world.cities["430100"])

    class Tamper(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await inner.handle_async_request(request)
            body = await response.aread()
            if "/exchange/" in request.url.path:
                body = body.replace("陈静".encode(), "陈净".encode())
            return httpx.Response(response.status_code, headers=response.headers, content=body)

    token = service_token(signing_key, "430100", CHEN_JING)
    async with CityExchangeClient("http://cs.test", city_code="430100", token=token, transport=Tamper()) as city:
        with pytest.raises(UntrustedAnswer, match="does not match its signature"):
            await city.person_records(CHEN_JING)


async def test_transfer_steps_are_idempotent_on_the_transfer_id(
    own_cities: dict[str, FastAPI], signing_key: SigningKey
) -> None:
    token = service_token(signing_key, "430300", CHEN_JING, Purpose.FUND_TRANSFER)
    async with client_for(own_cities["430300"], "430300", token=token) as xiangtan:
        first = await xiangtan.release_transfer("client-test-0001", id_number=CHEN_JING, destination_city="430100")
        again = await xiangtan.release_transfer("client-test-0001", id_number=CHEN_JING, destination_city="430100")
        late = await xiangtan.reserve_transfer("client-test-0001", id_number=CHEN_JING, destination_city="430100")
    assert first == again == late and first.state == LedgerState.RELEASED

    async with client_for(own_cities["430300"], "430300") as xiangtan:
        with pytest.raises(CztApiError) as wrong_purpose:
            await xiangtan.release_transfer(
                "client-test-0002",
                id_number=CHEN_JING,
                destination_city="430100",
                token=service_token(signing_key, "430300", CHEN_JING),
            )
    assert wrong_purpose.value.status == 403  # a valid token whose purpose does not cover the step


async def test_a_repeated_claim_returns_the_first_statement(
    own_cities: dict[str, FastAPI], signing_key: SigningKey
) -> None:
    claim = SettlementRequest(
        claim_id="client-test-claim-1",
        id_number=WANG_XIUYING,
        hospital="中南大学湘雅医院",
        service_date=date(2026, 3, 2),
        items=[ClaimItem(code="A1", name="门诊诊查", amount=Decimal("830.00"))],
        total=Decimal("830.00"),
        care_city=CityRef(code="430100", name="长沙"),
    )
    token = service_token(signing_key, "430300", WANG_XIUYING, Purpose.MEDICAL_SETTLEMENT)
    async with client_for(own_cities["430300"], "430300", token=token) as xiangtan:
        first = await xiangtan.settle_claim(claim)
        again = await xiangtan.settle_claim(claim)
    assert first == again
    assert first.insuring_city.code == "430300" and first.total == Decimal("830.00")


async def test_city_code_must_be_a_city_code() -> None:
    with pytest.raises(ValueError, match="6-digit"):
        CityExchangeClient("http://city.test", city_code="xiangtan")


async def test_pinned_keys_replace_the_citys_published_ones(world: World, signing_key: SigningKey) -> None:
    token = service_token(signing_key, "430200", CHEN_JING)
    app = world.cities["430200"]
    published = app.state.signing_key.jwks()
    async with client_for(app, "430200", token=token, jwks=published) as pinned:
        assert (await pinned.person_records(CHEN_JING)).city.code == "430200"
    async with client_for(app, "430200", token=token, jwks=SigningKey.generate().jwks()) as wrong_pin:
        with pytest.raises(UntrustedAnswer, match="a key the city does not publish"):
            await wrong_pin.person_records(CHEN_JING)
