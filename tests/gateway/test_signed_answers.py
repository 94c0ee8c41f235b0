"""The gateway trusts a city's answer only when the city's signature on it verifies."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack

import httpx

from commons.keys import SigningKey
from gateway.settings import CityEntry
from mock_cities.personas import PERSONAS
from tests.conftest import World, bearer, login

CHEN_JING = next(p for p in PERSONAS if p.key == "chen-jing")


class Tampering(httpx.AsyncBaseTransport):
    """A man in the middle: raises every balance in the answer, keeping the city's signature."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if not request.url.path.startswith("/exchange/"):
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        forged = json.loads(body)
        forged["provident_fund"]["account"]["balance"] = "9999999.00"
        content = json.dumps(forged).encode()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, content=content)


async def chen_jing_statuses(
    world: World,
    entries: list[CityEntry],
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> dict[str, tuple[str, str | None]]:
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports=transports, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        body = (await gateway.client.get("/v1/me/records", headers=bearer(token))).json()
    return {r["city"]["code"]: (r["status"], r["detail"]) for r in body["cities"]}


async def test_a_tampered_answer_is_an_error_not_data(world: World) -> None:
    tampered = Tampering(world.transports["430100"])
    statuses = await chen_jing_statuses(world, world.entries, {"430100": tampered})
    status, detail = statuses["430100"]
    assert status == "error"
    assert detail is not None and "does not match its signature" in detail
    assert statuses["430200"][0] == statuses["430300"][0] == "ok"


async def test_pinned_keys_decide_whom_the_gateway_trusts(world: World, city_entries: list[CityEntry]) -> None:
    zhuzhou_keys = world.cities["430200"].state.signing_key.jwks()
    pinned = [
        entry.model_copy(update={"jwks": zhuzhou_keys if entry.code == "430200" else SigningKey.generate().jwks()})
        for entry in city_entries
    ]
    statuses = await chen_jing_statuses(world, pinned)
    assert statuses["430200"] == ("ok", None)
    for code in ("430100", "430300"):
        status, detail = statuses[code]
        assert status == "error"
        assert detail is not None and "key the city does not publish" in detail
