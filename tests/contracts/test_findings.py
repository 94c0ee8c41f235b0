"""What schemathesis found, pinned down: each was a 500 or an undocumented answer before it was fixed."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError

from commons.problems import install_problem_handlers
from commons.request_id import RequestIdMiddleware
from gateway.auth.demo import DEMO_OFFICIAL_PASSWORD
from gateway.exchange.tokens import ServiceTokenMinter
from mock_cities.personas import PERSONAS
from schemas.money import Yuan
from schemas.problems import PROBLEM_MEDIA_TYPE, ProblemType
from schemas.purposes import Purpose
from tests.conftest import World, bearer, login

NOT_UTF8 = b'{"grantee": "\xff\xfe"}'


async def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(world: World) -> None:
    # It was a 400 "internal-error" problem, documented nowhere: FastAPI cannot even decode the bytes as JSON.
    token = await login(world.client, PERSONAS[2].id_number)
    response = await world.client.post(
        "/v1/me/consents", content=NOT_UTF8, headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    problem = response.json()
    assert problem["type"] == ProblemType.VALIDATION
    assert problem["invalid-params"] == [{"name": "body", "reason": "cannot be parsed: not valid UTF-8"}]


async def test_json_that_does_not_parse_is_still_named_where_it_breaks(world: World) -> None:
    token = await login(world.client, PERSONAS[2].id_number)
    response = await world.client.post(
        "/v1/me/consents", content=b'{"grantee": ', headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["invalid-params"][0]["name"].startswith("body")


@pytest.mark.parametrize("amount", [1.7702340333003898e308, "1e40"])
def test_an_amount_beyond_any_ledger_is_invalid_not_a_crash(amount: object) -> None:
    with pytest.raises(ValidationError, match="is not an amount any ledger holds"):
        TypeAdapter(Yuan).validate_python(amount)


async def test_a_city_answers_an_absurd_transfer_amount_with_a_422(world: World) -> None:
    # It was decimal.InvalidOperation inside the Yuan validator: a 500 from POST …/transfers/{id}/post.
    zhuzhou = world.cities["430200"]
    minter = ServiceTokenMinter(world.signing_key, issuer="czt-gateway", ttl_s=60)
    token = minter.mint(
        city_code="430200",
        subject=PERSONAS[0].id_number,
        client_id="contract-test",
        purpose=Purpose.FUND_TRANSFER,
        decision_id="contract-test",
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=zhuzhou), base_url="http://city.test") as city:
        response = await city.post(
            "/exchange/v1/provident-fund/transfers/ZZ-contract-1/post",
            json={"id_number": PERSONAS[0].id_number, "source_city": "430100", "amount": 1.77e308, "months": 12},
            headers=bearer(token),
        )
    assert response.status_code == 422, response.text
    names = [param["name"] for param in response.json()["invalid-params"]]
    assert names == ["body.amount"]


NUL = "with\x00nul"
RESIDENT = PERSONAS[2].id_number  # 陈静: records in all three cities


async def _tokens(world: World) -> dict[str, str]:
    integrator = await world.client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-integrator",
            "client_secret": "czt-integrator-secret",
        },
    )
    return {
        "resident": await login(world.client, RESIDENT),
        "official": await login(world.client, "cs-ybj-zhou", DEMO_OFFICIAL_PASSWORD),
        "integrator": integrator.json()["access_token"],
    }


@pytest.mark.parametrize(
    ("who", "method", "url", "payload"),
    [
        (None, "POST", "/v1/auth/token", {"data": {"grant_type": "password", "username": NUL, "password": NUL}}),
        (
            None,
            "POST",
            "/v1/auth/token",
            {"data": {"grant_type": "client_credentials", "client_id": NUL, "client_secret": NUL}},
        ),
        (
            "integrator",
            "GET",
            f"/v1/residents/{RESIDENT}/records",
            {"params": {"purpose": "case-handling", "case_ref": NUL}},
        ),
        ("resident", "POST", "/v1/credentials/redeem", {"json": {"code": "ABCD\x00EFG", "purpose": "case-handling"}}),
        ("official", "POST", f"/v1/credentials/{'a' * 32}/revoke", {"json": {"reason": NUL}}),
        (
            "resident",
            "POST",
            "/v1/me/consents",
            {
                "json": {
                    "grantee": {"kind": "client", "client_id": NUL},
                    "categories": ["identity"],
                    "purposes": ["case-handling"],
                    "valid_until": "2099-01-01T00:00:00Z",
                }
            },
        ),
        (
            "official",
            "POST",
            "/v1/medical-insurance/claims",
            {
                "json": {
                    "claim_id": "CS-NUL-1",
                    "id_number": PERSONAS[1].id_number,
                    "hospital": NUL,
                    "service_date": "2026-01-05",
                    "items": [{"code": NUL, "name": NUL, "amount": "10.00"}],
                    "total": "10.00",
                }
            },
        ),
        (
            "resident",
            "POST",
            "/v1/me/credentials",
            {"json": {"kind": "skill_certificate", "city_code": "430100", "certificate_no": NUL}},
        ),
        ("resident", "POST", "/v1/credentials/verify", {"json": {"credential": NUL}}),
    ],
)
async def test_a_nul_character_in_text_input_is_never_a_server_error(
    world: World, who: str | None, method: str, url: str, payload: dict[str, object]
) -> None:
    # PostgreSQL stores no NUL in text and refuses it in query parameters: unchecked, it was a 500 there.
    tokens = await _tokens(world)
    headers = bearer(tokens[who]) if who else {}
    response = await world.client.request(method, url, headers=headers, **payload)  # type: ignore[arg-type]
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    ("url", "before"),
    [("/v1/admin/audit", 109033655595722), ("/v1/admin/shadow/divergences", -350046897654)],
)
async def test_a_cursor_beyond_any_row_is_a_422_naming_it(world: World, url: str, before: int) -> None:
    # PostgreSQL refused the comparison with an INTEGER column: a 500 there, an empty page on SQLite.
    auditor = await world.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": "demo-auditor", "client_secret": "czt-auditor-secret"},
    )
    response = await world.client.get(url, params={"before": before}, headers=bearer(auditor.json()["access_token"]))
    assert response.status_code == 422, response.text
    assert [param["name"] for param in response.json()["invalid-params"]] == ["query.before"]


async def test_a_usage_code_with_characters_no_code_has_is_a_422(world: World) -> None:
    token = await login(world.client, RESIDENT)
    response = await world.client.post(
        "/v1/credentials/redeem", json={"code": "ABCD\x00EFG", "purpose": "case-handling"}, headers=bearer(token)
    )
    assert response.status_code == 422, response.text
    assert [param["name"] for param in response.json()["invalid-params"]] == ["body.code"]


async def test_a_server_error_names_the_request_id_to_quote() -> None:
    # The 500 problem said "quote the request id" and gave "-": Starlette answers it outside RequestIdMiddleware.
    app = FastAPI()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app, {})
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "req-contract-500"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "req-contract-500"
    assert response.headers["X-Request-ID"] == "req-contract-500"
