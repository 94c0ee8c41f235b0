"""A city's credential office over HTTP: issuing signed credentials, revoking them, publishing the status list."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from jose import jws, jwt
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from commons.keys import SigningKey
from commons.response_signing import SIGNATURE_HEADER
from gateway.exchange.tokens import ServiceTokenMinter
from mock_cities.credentials import service as credential_service
from mock_cities.credentials.models import CredentialEntry, CredentialSettings
from mock_cities.personas import PERSONAS
from mock_cities.settings import CitySettings
from schemas.credentials import (
    CLAIMS_DIGEST_HEADER,
    CREDENTIAL_TYPE,
    STATUS_LIST_TYPE,
    CredentialClaims,
    CredentialKind,
    CredentialRequest,
    StatusListClaims,
    claims_digest,
)
from tests.conftest import World

LIU_YANG, CHEN_JING = (next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "chen-jing"))
ZHUZHOU = "430200"


def service_headers(key: SigningKey, city_code: str, *, subject: str = "tester") -> dict[str, str]:
    minter = ServiceTokenMinter(key, issuer="czt-gateway", ttl_s=60)
    token = minter.mint(
        city_code=city_code, subject=subject, client_id="tests", purpose="self-service", decision_id="d-1"
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def zhuzhou(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.cities[ZHUZHOU])
    async with httpx.AsyncClient(transport=transport, base_url="http://zhuzhou.test") as client:
        yield client


def city_key(world: World, code: str = ZHUZHOU) -> SigningKey:
    key: SigningKey = world.cities[code].state.signing_key
    return key


async def issue(
    client: httpx.AsyncClient, signing_key: SigningKey, id_number: str, body: dict[str, Any], city: str = ZHUZHOU
) -> httpx.Response:
    return await client.post(
        f"/exchange/v1/persons/{id_number}/credentials", json=body, headers=service_headers(signing_key, city)
    )


async def test_a_skill_certificate_is_a_jws_signed_with_the_city_key(
    world: World, zhuzhou: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    body = {"kind": "skill_certificate", "certificate_no": "ZZ2019JN0000000101"}
    response = await issue(zhuzhou, signing_key, LIU_YANG.id_number, body)
    assert response.status_code == 200, response.text
    assert response.headers[SIGNATURE_HEADER]  # an exchange answer like any other
    issued = response.json()
    token = issued["credential"]
    header = jwt.get_unverified_header(token)
    key = city_key(world)
    assert header["typ"] == CREDENTIAL_TYPE
    assert header["alg"] == "ES256"
    assert header["kid"] == key.kid
    (published,) = (await zhuzhou.get("/.well-known/jwks.json")).json()["keys"]
    claims = CredentialClaims.model_validate_json(jws.verify(token, published, algorithms=["ES256"]))
    assert header[CLAIMS_DIGEST_HEADER] == claims_digest(claims.model_dump(mode="json"))
    assert claims.iss == ZHUZHOU
    assert claims.sub == LIU_YANG.id_number
    assert claims.name == LIU_YANG.name
    assert claims.kind is CredentialKind.SKILL_CERTIFICATE
    assert claims.credential_subject.model_dump(mode="json") == {
        "certificate_no": "ZZ2019JN0000000101",
        "occupation": "电工",
        "level": 3,
        "issued_on": "2019-06-18",
        "issuer": "株洲市职业技能鉴定指导中心",
    }
    assert claims.status.status_list.uri == "urn:czt:status-list:430200"
    assert claims.exp - claims.iat == 365 * 86_400
    assert issued["claims"] == claims.model_dump(mode="json")


@pytest.mark.parametrize(
    ("persona", "city", "body", "expected"),
    [
        (
            CHEN_JING,
            ZHUZHOU,
            {"kind": "professional_title", "certificate_no": "ZZ2017ZC0000000302"},
            {"title": "工程师", "grade": "intermediate", "series": "工程"},
        ),
        (
            CHEN_JING,
            "430100",
            {"kind": "continuing_education", "year": 2024},
            {"year": 2024, "hours": 46, "required_hours": 90},
        ),
        (
            LIU_YANG,
            ZHUZHOU,
            {"kind": "deposit_certificate"},
            {"account_no": "ZZGJ0000000001", "status": "sealed", "deposit_months": 100, "monthly_deposit": "1440.00"},
        ),
    ],
    ids=["title", "continuing-education", "deposit"],
)
async def test_every_kind_carries_its_canonical_record(
    world: World, signing_key: SigningKey, persona: Any, city: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    transport = httpx.ASGITransport(app=world.cities[city])
    async with httpx.AsyncClient(transport=transport, base_url="http://city.test") as client:
        response = await issue(client, signing_key, persona.id_number, body, city)
    assert response.status_code == 200, response.text
    claims = response.json()["claims"]
    assert claims["kind"] == body["kind"]
    assert claims["credential_subject"] | expected == claims["credential_subject"]


async def test_a_deposit_certificate_states_the_balance_on_the_day_of_issue(
    zhuzhou: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    response = await issue(zhuzhou, signing_key, LIU_YANG.id_number, {"kind": "deposit_certificate"})
    claims = response.json()["claims"]
    subject = claims["credential_subject"]
    assert subject["balance"] == "112113.60"
    assert date.fromisoformat(subject["as_of"]) >= date(2026, 1, 1)
    assert claims["exp"] - claims["iat"] == 30 * 86_400  # a deposit certificate is for recent use


async def test_nothing_to_certify_is_a_404_problem(zhuzhou: httpx.AsyncClient, signing_key: SigningKey) -> None:
    response = await issue(
        zhuzhou, signing_key, LIU_YANG.id_number, {"kind": "skill_certificate", "certificate_no": "ZZ-NOPE"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:czt:problem:not-found"
    assert "ZZ-NOPE" in response.json()["detail"]
    no_hours = await issue(zhuzhou, signing_key, LIU_YANG.id_number, {"kind": "continuing_education", "year": 2024})
    assert no_hours.status_code == 404


async def test_a_selector_that_does_not_fit_the_kind_is_a_422(
    zhuzhou: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    for body in (
        {"kind": "skill_certificate"},
        {"kind": "continuing_education"},
        {"kind": "deposit_certificate", "year": 2024},
        {"kind": "diploma"},
    ):
        response = await issue(zhuzhou, signing_key, LIU_YANG.id_number, body)
        assert response.status_code == 422, body
        assert response.json()["type"] == "urn:czt:problem:validation-error"


async def test_issuing_and_revoking_need_a_service_token(zhuzhou: httpx.AsyncClient) -> None:
    issued = await zhuzhou.post(
        f"/exchange/v1/persons/{LIU_YANG.id_number}/credentials", json={"kind": "deposit_certificate"}
    )
    assert issued.status_code == 401
    revoked = await zhuzhou.post(f"/exchange/v1/credentials/{'0' * 32}/revoke", json={})
    assert revoked.status_code == 401


async def read_status_list(client: httpx.AsyncClient, key: SigningKey) -> StatusListClaims:
    response = await client.get("/credentials/status-list")  # public: no token
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/czt-status-list+jwt"
    assert jwt.get_unverified_header(response.text)["typ"] == STATUS_LIST_TYPE
    return StatusListClaims.model_validate_json(jws.verify(response.text, key.public_jwk, algorithms=["ES256"]))


async def test_revocation_sets_the_credential_bit_in_the_public_status_list(
    world: World, zhuzhou: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    key = city_key(world)
    issued = (await issue(zhuzhou, signing_key, LIU_YANG.id_number, {"kind": "deposit_certificate"})).json()
    index = issued["claims"]["status"]["status_list"]["idx"]
    jti = issued["claims"]["jti"]
    before = await read_status_list(zhuzhou, key)
    assert before.iss == ZHUZHOU
    assert before.sub == "urn:czt:status-list:430200"
    assert before.iat <= time.time() < before.exp
    assert not before.status_list.is_set(index)

    headers = service_headers(signing_key, ZHUZHOU, subject="zz-gjj-tan")
    revoked = await zhuzhou.post(f"/exchange/v1/credentials/{jti}/revoke", json={"reason": "信息有误"}, headers=headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.headers[SIGNATURE_HEADER]
    assert revoked.json()["jti"] == jti
    assert revoked.json()["issuer"] == ZHUZHOU
    assert (await read_status_list(zhuzhou, key)).status_list.is_set(index)

    again = await zhuzhou.post(f"/exchange/v1/credentials/{jti}/revoke", json={}, headers=headers)
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]  # the first revocation stands


async def test_the_status_list_is_also_on_the_exchange_as_a_signed_answer(
    zhuzhou: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    assert (await zhuzhou.get("/exchange/v1/credentials/status-list")).status_code == 401
    response = await zhuzhou.get("/exchange/v1/credentials/status-list", headers=service_headers(signing_key, ZHUZHOU))
    assert response.status_code == 200
    assert response.headers[SIGNATURE_HEADER]
    assert jwt.get_unverified_header(response.text)["typ"] == STATUS_LIST_TYPE


async def test_revoking_a_credential_the_city_never_issued_is_a_404(
    zhuzhou: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    response = await zhuzhou.post(
        f"/exchange/v1/credentials/{'ab' * 16}/revoke", json={}, headers=service_headers(signing_key, ZHUZHOU)
    )
    assert response.status_code == 404
    assert response.json()["type"] == "urn:czt:problem:not-found"
    junk = await zhuzhou.post(
        "/exchange/v1/credentials/not-a-jti/revoke", json={}, headers=service_headers(signing_key, ZHUZHOU)
    )
    assert junk.status_code == 422


async def test_every_credential_gets_its_own_index_and_id(zhuzhou: httpx.AsyncClient, signing_key: SigningKey) -> None:
    claims = [
        (await issue(zhuzhou, signing_key, LIU_YANG.id_number, {"kind": "deposit_certificate"})).json()["claims"]
        for _ in range(5)
    ]
    assert len({c["jti"] for c in claims}) == 5
    assert len({c["status"]["status_list"]["idx"] for c in claims}) == 5


async def test_validity_per_kind_is_the_city_setting(
    world: World, zhuzhou: httpx.AsyncClient, signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CZT_CITY_CREDENTIALS__VALIDITY_DAYS", '{"deposit_certificate": 7}')
    settings = CitySettings().credentials
    assert settings.validity_days[CredentialKind.DEPOSIT_CERTIFICATE] == 7
    assert settings.validity_days[CredentialKind.SKILL_CERTIFICATE] == 365  # the others keep their defaults
    monkeypatch.setattr(world.cities[ZHUZHOU].state, "credential_settings", settings)
    claims = (await issue(zhuzhou, signing_key, LIU_YANG.id_number, {"kind": "deposit_certificate"})).json()["claims"]
    assert claims["exp"] - claims["iat"] == 7 * 86_400

    monkeypatch.setenv("CZT_CITY_CREDENTIALS__VALIDITY_DAYS", '{"deposit_certificate": 0}')
    with pytest.raises(ValidationError, match="at least one day"):
        CitySettings()


def test_concurrent_issuances_get_distinct_indexes_even_from_a_crowded_list(world: World) -> None:
    app = world.cities[ZHUZHOU]
    # A tiny list makes index clashes likely: the unique index and a fresh draw must resolve them.
    settings = CredentialSettings(status_list_min_size=8)
    request = CredentialRequest(kind=CredentialKind.DEPOSIT_CERTIFICATE)
    barrier = threading.Barrier(8)
    indexes: list[int] = []

    def issue_one() -> None:
        with Session(app.state.engine) as session:
            barrier.wait()
            issued = credential_service.issue_credential(
                session=session,
                dialect=app.state.dialect,
                profile=app.state.profile,
                key=app.state.signing_key,
                settings=settings,
                id_number=LIU_YANG.id_number,
                request=request,
            )
            indexes.append(issued.claims.status.status_list.idx)

    threads = [threading.Thread(target=issue_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(indexes) == 8
    assert len(set(indexes)) == 8


async def test_a_drawn_index_already_taken_is_drawn_again(
    world: World, zhuzhou: httpx.AsyncClient, signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"kind": "deposit_certificate"}
    taken = (await issue(zhuzhou, signing_key, LIU_YANG.id_number, body)).json()["claims"]["status"]["status_list"]
    with Session(world.cities[ZHUZHOU].state.engine) as session:
        free = session.exec(select(func.max(CredentialEntry.status_index))).one() + 1
    draws = iter([taken["idx"], free])
    monkeypatch.setattr(credential_service.secrets, "randbelow", lambda _: next(draws))
    issued = (await issue(zhuzhou, signing_key, LIU_YANG.id_number, body)).json()["claims"]
    assert issued["status"]["status_list"]["idx"] == free
