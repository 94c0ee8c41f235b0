"""Scenarios of docs/testing.md that no other file covers: providers, identity, and faults from the sandbox.

Each city misbehaves through the sandbox's own fault injection (``mock_cities.sandbox``), exactly as an
integrator would make it misbehave with ``czt fault set``; the gateway must degrade, never break.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from typing import Any

import httpx
from fastapi import FastAPI

from gateway.settings import CityEntry
from mock_cities.personas import PERSONAS
from mock_cities.profiles import CityProfile
from mock_cities.sandbox.faults import FaultKind, FaultSpec
from tests.conftest import World, bearer, city_app, login, start_cities

LIU_YANG, CHEN_JING = (next(p for p in PERSONAS if p.key == k) for k in ("liu-yang", "chen-jing"))
CHANGSHA, ZHUZHOU, XIANGTAN = "430100", "430200", "430300"
ADMIN_TOKEN = "scenario-admin-token-0123456789"


async def records(world: World, token: str) -> dict[str, Any]:
    response = await world.client.get("/v1/me/records", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_city(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["city"]["code"]: result for result in body["cities"]}


async def with_faulty_zhuzhou(
    stack: AsyncExitStack,
    world: World,
    profiles: list[CityProfile],
    city_database_urls: dict[str, str],
    city_entries: list[CityEntry],
    faults: list[FaultSpec],
    **zhuzhou: Any,
) -> tuple[World, FastAPI]:
    """A gateway whose 株洲 runs in sandbox mode with ``faults`` from start-up; ``zhuzhou`` sets its registry entry."""
    profile = next(p for p in profiles if p.code == ZHUZHOU)
    app = city_app(
        profile, city_database_urls[ZHUZHOU], world.signing_key, sandbox=True, admin_token=ADMIN_TOKEN, faults=faults
    )
    await start_cities(stack, {ZHUZHOU: app})
    entries = [e.model_copy(update=zhuzhou) if e.code == ZHUZHOU else e for e in city_entries]
    gateway = await world.another_gateway(stack, cities={**world.cities, ZHUZHOU: app}, entries=entries)
    return gateway, app


async def test_data_from_two_providers_and_none_from_the_third(world: World) -> None:
    """刘洋 lived in 株洲 and lives in 长沙: two cities answer with records, 湘潭 holds nothing on him."""
    body = await records(world, await login(world.client, LIU_YANG.id_number))
    cities = by_city(body)
    assert {code: r["status"] for code, r in cities.items()} == {
        CHANGSHA: "ok",
        ZHUZHOU: "ok",
        XIANGTAN: "not_found",
    }
    assert body["complete"] is True  # "holds nothing" is an answer, not a failure
    assert cities[ZHUZHOU]["records"]["provident_fund"]["account"]["status"] == "sealed"
    assert cities[CHANGSHA]["records"]["provident_fund"]["account"]["status"] == "normal"


async def test_a_city_answering_about_another_person_is_an_error_not_data(world: World) -> None:
    """Identity mismatch: a signed, well-formed answer about someone else never reaches the caller as data."""

    class WrongPerson(httpx.AsyncBaseTransport):
        """株洲's routing bug: every lookup is answered for 陈静."""

        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            path = request.url.path.replace(LIU_YANG.id_number, CHEN_JING.id_number)
            moved = httpx.Request(request.method, request.url.copy_with(path=path), headers=request.headers)
            return await self.inner.handle_async_request(moved)

    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(
            stack, transports={ZHUZHOU: WrongPerson(httpx.ASGITransport(app=world.cities[ZHUZHOU]))}
        )
        body = await records(gateway, await login(gateway.client, LIU_YANG.id_number))
    zhuzhou = by_city(body)[ZHUZHOU]
    assert (zhuzhou["status"], zhuzhou["records"]) == ("error", None)
    assert "another person" in zhuzhou["detail"]
    assert body["complete"] is False
    assert CHEN_JING.name not in str(body)


async def test_malformed_json_from_a_city_is_an_error_for_that_city_only(
    world: World, profiles: list[CityProfile], city_database_urls: dict[str, str], city_entries: list[CityEntry]
) -> None:
    faults = [FaultSpec(kind=FaultKind.MALFORMED, path="/exchange/*", id="garbled", seed=1)]
    async with AsyncExitStack() as stack:
        gateway, _ = await with_faulty_zhuzhou(stack, world, profiles, city_database_urls, city_entries, faults)
        body = await records(gateway, await login(gateway.client, LIU_YANG.id_number))
    cities = by_city(body)
    assert cities[ZHUZHOU]["status"] == "error" and cities[ZHUZHOU]["records"] is None
    assert cities[CHANGSHA]["status"] == "ok"


async def test_a_connection_reset_mid_answer_is_unavailable_after_the_retries(
    world: World, profiles: list[CityProfile], city_database_urls: dict[str, str], city_entries: list[CityEntry]
) -> None:
    faults = [FaultSpec(kind=FaultKind.RESET, path="/exchange/*", id="cut", seed=1)]
    async with AsyncExitStack() as stack:
        gateway, _ = await with_faulty_zhuzhou(
            stack, world, profiles, city_database_urls, city_entries, faults, retries=1, retry_backoff_s=0.01
        )
        body = await records(gateway, await login(gateway.client, LIU_YANG.id_number))
    zhuzhou = by_city(body)[ZHUZHOU]
    assert (zhuzhou["status"], zhuzhou["attempts"]) == ("unavailable", 2)
    assert by_city(body)[CHANGSHA]["status"] == "ok"


async def test_a_city_that_hangs_for_an_hour_is_a_timeout_within_its_deadline(
    world: World, profiles: list[CityProfile], city_database_urls: dict[str, str], city_entries: list[CityEntry]
) -> None:
    faults = [FaultSpec(kind=FaultKind.LATENCY, ms=3_600_000, path="/exchange/*", id="hang", seed=1)]
    async with AsyncExitStack() as stack:
        gateway, _ = await with_faulty_zhuzhou(
            stack, world, profiles, city_database_urls, city_entries, faults, timeout_s=0.5
        )
        token = await login(gateway.client, LIU_YANG.id_number)
        started = time.monotonic()
        body = await records(gateway, token)
        elapsed = time.monotonic() - started
    assert by_city(body)[ZHUZHOU]["status"] == "timeout"
    assert by_city(body)[CHANGSHA]["status"] == "ok"
    assert elapsed < 10  # an hour-long hang, answered within the half-second deadline (generous on a loaded box)


async def test_a_body_dribbled_past_the_deadline_is_a_timeout(
    world: World, profiles: list[CityProfile], city_database_urls: dict[str, str], city_entries: list[CityEntry]
) -> None:
    faults = [FaultSpec(kind=FaultKind.DRIBBLE, ms=60_000, path="/exchange/*", id="slow-body", seed=1)]
    async with AsyncExitStack() as stack:
        gateway, _ = await with_faulty_zhuzhou(
            stack, world, profiles, city_database_urls, city_entries, faults, timeout_s=0.5
        )
        body = await records(gateway, await login(gateway.client, LIU_YANG.id_number))
    assert by_city(body)[ZHUZHOU]["status"] == "timeout"
    assert by_city(body)[CHANGSHA]["status"] == "ok"


async def test_a_seeded_flaky_city_fails_the_same_requests_on_every_run(
    world: World, profiles: list[CityProfile], city_database_urls: dict[str, str], city_entries: list[CityEntry]
) -> None:
    """Reproducible chaos: the same seed gives the same sequence of failed and served lookups, run after run."""
    faults = [FaultSpec(kind=FaultKind.ERROR, status=500, probability=0.5, path="/exchange/*", id="coin", seed=42)]

    async def run() -> list[str]:
        async with AsyncExitStack() as stack:
            gateway, _ = await with_faulty_zhuzhou(
                stack, world, profiles, city_database_urls, city_entries, faults, retries=0, breaker_failures=1000
            )
            token = await login(gateway.client, LIU_YANG.id_number)
            return [by_city(await records(gateway, token))[ZHUZHOU]["status"] for _ in range(12)]

    first, second = await run(), await run()
    assert first == second
    assert {"ok", "error"} == set(first)
