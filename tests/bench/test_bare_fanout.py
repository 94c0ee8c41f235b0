"""The benchmark's bare fan-out (``bench/bare_fanout.py``), in the uvicorn process the benchmark starts it in.

Three fake cities (aiohttp test servers in this test's event loop) each hold their answer until all three have been
asked: a fan-out that sent its calls one after the other would never get a first answer (the cities give up after
10 s and answer 504), so the test needs no clock to tell parallel from sequential."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.bare_fanout import PATH, bare_fanout
from czt.launch import free_port_run

pytestmark = pytest.mark.e2e


class Cities:
    """Three fake cities answering ``/records`` once all three have been asked."""

    def __init__(self, *, failing: str | None = None) -> None:
        self.failing = failing
        self.asked: list[str] = []
        self.tokens: dict[str, str | None] = {}
        self._all_asked = asyncio.Event()
        self.servers = {name: TestServer(self._app(name)) for name in ("changsha", "zhuzhou", "xiangtan")}

    def _app(self, name: str) -> web.Application:
        async def records(request: web.Request) -> web.Response:
            self.asked.append(name)
            self.tokens[name] = request.headers.get("Authorization")
            if len(self.asked) == len(self.servers):
                self._all_asked.set()
            try:
                await asyncio.wait_for(self._all_asked.wait(), timeout=10)
            except TimeoutError:
                return web.json_response({"error": "asked alone"}, status=504)
            if name == self.failing:
                return web.json_response({"error": "down"}, status=503)
            return web.json_response({"city": name})

        app = web.Application()
        app.router.add_get("/records", records)
        return app

    def calls(self) -> list[dict[str, object]]:
        return [
            {"url": str(server.make_url("/records")), "headers": {"Authorization": f"Bearer {name}"}}
            for name, server in self.servers.items()
        ]


@asynccontextmanager
async def _started(cities: Cities) -> AsyncIterator[None]:
    for server in cities.servers.values():
        await server.start_server()
    try:
        yield
    finally:
        for server in cities.servers.values():
            await server.close()


async def _ask(cities: Cities) -> httpx.Response:
    port = free_port_run(1)
    # Starting the process blocks; the fake cities wait in this loop, and are only asked once it has started.
    with bare_fanout(cities.calls(), port=port):
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.get(f"http://127.0.0.1:{port}{PATH}")


async def test_the_bare_fan_out_asks_the_three_cities_at_once_and_joins_their_answers() -> None:
    cities = Cities()
    async with _started(cities):
        answer = await _ask(cities)
    assert answer.status_code == 200
    assert answer.json() == [{"city": "changsha"}, {"city": "zhuzhou"}, {"city": "xiangtan"}]  # in call order
    assert sorted(cities.asked) == ["changsha", "xiangtan", "zhuzhou"]
    assert cities.tokens == {name: f"Bearer {name}" for name in cities.servers}  # each call its own headers


async def test_a_failing_city_fails_the_bare_lookup_and_is_named() -> None:
    cities = Cities(failing="zhuzhou")
    async with _started(cities):
        zhuzhou = cities.calls()[1]["url"]
        answer = await _ask(cities)
    assert answer.status_code == 502
    assert json.loads(answer.content) == {"failed": [zhuzhou]}
