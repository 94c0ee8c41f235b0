"""Signed answers: what the middleware signs is exactly what the verifier accepts, and nothing else."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from commons.jwks import StaticKeys
from commons.keys import SigningKey
from commons.request_id import RequestIdMiddleware
from commons.response_signing import (
    SIGNATURE_HEADER,
    InvalidResponseSignature,
    ResponseSigningMiddleware,
    body_digest,
    verify_response_signature,
)

KEY = SigningKey.generate()


def signed_app() -> FastAPI:
    app = FastAPI()

    @app.get("/exchange/thing")
    def thing() -> dict[str, str]:
        return {"balance": "3821.50"}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(ResponseSigningMiddleware, key=KEY, issuer="430200", prefixes=("/exchange/",))
    app.add_middleware(RequestIdMiddleware)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=signed_app()), base_url="http://city") as c:
        yield c


async def answer(client: httpx.AsyncClient, request_id: str = "rid-1") -> httpx.Response:
    return await client.get("/exchange/thing", headers={"X-Request-ID": request_id})


async def verify(response: httpx.Response, **overrides: object) -> None:
    arguments: dict[str, object] = {
        "body": response.content,
        "status": response.status_code,
        "keys": StaticKeys(KEY.jwks()),
        "issuer": "430200",
        "request_id": "rid-1",
    }
    arguments.update(overrides)
    await verify_response_signature(response.headers.get(SIGNATURE_HEADER), **arguments)  # type: ignore[arg-type]


async def test_a_signed_answer_verifies(client: httpx.AsyncClient) -> None:
    response = await answer(client)
    assert response.json() == {"balance": "3821.50"}
    await verify(response)


async def test_routes_outside_the_prefixes_are_not_signed(client: httpx.AsyncClient) -> None:
    assert SIGNATURE_HEADER not in (await client.get("/health")).headers


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"body": b'{"balance":"9999999.00"}'}, "does not match"),
        ({"status": 404}, "does not match"),
        ({"request_id": "rid-2"}, "another request"),
        ({"issuer": "430100"}, "bad signature"),
        ({"keys": StaticKeys(SigningKey.generate().jwks())}, "does not publish"),
    ],
    ids=["tampered-body", "other-status", "replayed", "impostor-city", "unknown-key"],
)
async def test_anything_but_the_signed_answer_is_refused(
    client: httpx.AsyncClient, overrides: dict[str, object], reason: str
) -> None:
    response = await answer(client)
    with pytest.raises(InvalidResponseSignature, match=reason):
        await verify(response, **overrides)


async def test_missing_and_stale_signatures_are_refused() -> None:
    body = b"{}"
    with pytest.raises(InvalidResponseSignature, match="not signed"):
        await verify_response_signature(
            None, body=body, status=200, keys=StaticKeys(KEY.jwks()), issuer="430200", request_id="r"
        )
    stale = KEY.sign(
        {
            "iss": "430200",
            "aud": "czt-gateway",
            "request_id": "r",
            "status": 200,
            "body_sha256": body_digest(body),
            "iat": int(time.time()) - 3600,
        }
    )
    with pytest.raises(InvalidResponseSignature, match="too old"):
        await verify_response_signature(
            stale, body=body, status=200, keys=StaticKeys(KEY.jwks()), issuer="430200", request_id="r"
        )
