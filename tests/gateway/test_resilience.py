"""Gateway resilience through the gateway, with faults injected: deadlines, retries of reads, circuit breakers.

Transports in this file wrap the real in-process city (``httpx.ASGITransport``) and misbehave on its exchange
routes only: ``/health`` and the city's JWKS stay reachable, as they would behind a proxy failing one route.
The last tests drive the same behaviours through the sandbox's own fault injection (``mock_cities.sandbox``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from commons.jwks import StaticKeys
from commons.keys import SigningKey
from gateway.settings import CityEntry
from mock_cities.app import create_city_app
from mock_cities.personas import PERSONAS
from mock_cities.profiles import CityProfile
from mock_cities.sandbox.faults import FaultKind, FaultSpec
from mock_cities.settings import CitySettings
from tests.conftest import World, bearer, login, start_cities

CHEN_JING, WANG_XIUYING = (next(p for p in PERSONAS if p.key == k) for k in ("chen-jing", "wang-xiuying"))
XIANGTAN = "430300"
FILINGS = "/v1/medical-insurance/filings"

Fault = Callable[[httpx.Request], httpx.Response]


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("connection reset by peer", request=request)


def closed_early(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)


def answering(status: int) -> Fault:
    def fault(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"title": f"HTTP {status}"}, request=request)

    return fault


class Flaky(httpx.AsyncBaseTransport):
    """The city behind a faulty link: the first ``failures`` exchange requests (of ``method``, when given) get
    ``fault`` instead of the city; every exchange request is kept, to count what the city was sent."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, fault: Fault, *, failures: float, method: str | None = None
    ) -> None:
        self.inner, self.fault, self.failures, self.method = inner, fault, failures, method
        self.requests: list[httpx.Request] = []
        self.failed = 0

    def heal(self) -> None:
        self.failures = self.failed

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        in_scope = request.url.path.startswith("/exchange/") and self.method in (None, request.method)
        if not in_scope:
            return await self.inner.handle_async_request(request)
        self.requests.append(request)
        if self.failed < self.failures:
            self.failed += 1
            return self.fault(request)
        return await self.inner.handle_async_request(request)


class Hangs(httpx.AsyncBaseTransport):
    """Accepts exchange requests and never answers them (until cancelled)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/exchange/"):
            return await self.inner.handle_async_request(request)
        self.requests.append(request)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class Held(httpx.AsyncBaseTransport):
    """Passes requests through; once ``hold()`` is called, holds exchange requests until released, telling
    when one has arrived."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.holding = False
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.held: list[httpx.Request] = []

    def hold(self) -> None:
        self.holding = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.holding and request.url.path.startswith("/exchange/"):
            self.held.append(request)
            self.arrived.set()
            await self.release.wait()
        return await self.inner.handle_async_request(request)


def xiangtan_entry(entries: list[CityEntry], **settings: Any) -> list[CityEntry]:
    """The registry with 湘潭's entry changed (validated: a bad setting fails here, not deep in the gateway)."""
    return [CityEntry.model_validate({**e.model_dump(), **settings}) if e.code == XIANGTAN else e for e in entries]


def by_city(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["city"]["code"]: result for result in body["cities"]}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def records_of(gateway: World, token: str) -> dict[str, dict[str, Any]]:
    response = await gateway.client.get("/v1/me/records", headers=bearer(token))
    assert response.status_code == 200, response.text
    return by_city(response.json())


def health_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return by_city(body)


# --- deadlines --------------------------------------------------------------------------------------------


async def test_a_city_that_hangs_forever_times_out_and_the_fan_out_answers_in_time(
    world: World, city_entries: list[CityEntry]
) -> None:
    hangs = Hangs(world.transports[XIANGTAN])
    entries = xiangtan_entry(city_entries, timeout_s=0.5, retries=2)
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: hangs}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        started = time.monotonic()
        response = await gateway.client.get("/v1/me/records", headers=bearer(token))
        took = time.monotonic() - started
    assert response.status_code == 200
    body = response.json()
    # Generous: the point is that it returned at all, long before the city would (never).
    assert took < 10
    assert body["complete"] is False
    cities = by_city(body)
    assert cities[XIANGTAN]["status"] == "timeout"
    assert "0.5s" in cities[XIANGTAN]["detail"]
    # Waiting for an answer is not retried: the city may be at work, and the deadline is spent anyway.
    assert cities[XIANGTAN]["attempts"] == 1 and len(hangs.requests) == 1
    assert cities[XIANGTAN]["breaker"] == "closed"
    assert cities["430100"]["status"] == cities["430200"]["status"] == "ok"


async def test_the_deadline_covers_the_retries_too(world: World, city_entries: list[CityEntry]) -> None:
    # Every attempt is refused and the backoff window (100 s) dwarfs the deadline (2 s): the call ends with
    # the failure at hand rather than sleeping into its deadline (which would make it a timeout).
    dead = Flaky(world.transports[XIANGTAN], refused, failures=float("inf"))
    entries = xiangtan_entry(
        city_entries, timeout_s=2.0, retries=10, retry_backoff_s=100, retry_backoff_max_s=100, breaker_failures=100
    )
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: dead}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        started = time.monotonic()
        xiangtan = (await records_of(gateway, token))[XIANGTAN]
        took = time.monotonic() - started
    assert took < 10
    assert xiangtan["status"] == "unavailable" and "ConnectError" in xiangtan["detail"]
    assert 1 <= xiangtan["attempts"] == len(dead.requests) < 11


# --- retries of reads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [refused, reset, closed_early, answering(502), answering(503), answering(504), answering(429)],
    ids=["refused", "reset", "closed-early", "502", "503", "504", "429"],
)
async def test_a_read_that_fails_twice_then_works_succeeds_on_the_third_attempt(
    world: World, city_entries: list[CityEntry], fault: Fault
) -> None:
    flaky = Flaky(world.transports[XIANGTAN], fault, failures=2)
    entries = xiangtan_entry(city_entries, timeout_s=5.0, retries=2, retry_backoff_s=0.01, retry_backoff_max_s=0.05)
    retries_before = metric("czt_city_call_retries_total", city=XIANGTAN)
    ok_before = metric("czt_city_call_duration_seconds_count", city=XIANGTAN, outcome="ok")
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: flaky}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        xiangtan = (await records_of(gateway, token))[XIANGTAN]
    assert xiangtan["status"] == "ok"
    assert xiangtan["records"]["person"]["id_number"] == CHEN_JING.id_number
    assert xiangtan["attempts"] == 3 and len(flaky.requests) == 3
    # The same request each time: same id, same service token.
    assert len({r.headers["X-Request-ID"] for r in flaky.requests}) == 1
    assert len({r.headers["Authorization"] for r in flaky.requests}) == 1
    assert xiangtan["breaker"] == "closed"
    assert metric("czt_city_call_retries_total", city=XIANGTAN) == retries_before + 2
    assert metric("czt_city_call_duration_seconds_count", city=XIANGTAN, outcome="ok") == ok_before + 1


async def test_retries_are_bounded(world: World, city_entries: list[CityEntry]) -> None:
    down = Flaky(world.transports[XIANGTAN], answering(503), failures=float("inf"))
    entries = xiangtan_entry(city_entries, timeout_s=5.0, retries=3, retry_backoff_s=0.01, retry_backoff_max_s=0.02)
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: down}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        xiangtan = (await records_of(gateway, token))[XIANGTAN]
    assert xiangtan["status"] == "error" and "HTTP 503" in xiangtan["detail"]
    assert xiangtan["attempts"] == 4 and len(down.requests) == 4


@pytest.mark.parametrize(
    ("status", "outcome"), [(500, "error"), (401, "denied"), (403, "denied"), (400, "error")], ids=str
)
async def test_answers_that_are_not_transient_are_not_retried(
    world: World, city_entries: list[CityEntry], status: int, outcome: str
) -> None:
    broken = Flaky(world.transports[XIANGTAN], answering(status), failures=float("inf"))
    entries = xiangtan_entry(city_entries, timeout_s=5.0, retries=2, retry_backoff_s=0.01, retry_backoff_max_s=0.02)
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: broken}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        xiangtan = (await records_of(gateway, token))[XIANGTAN]
    assert xiangtan["status"] == outcome
    assert xiangtan["attempts"] == 1 and len(broken.requests) == 1


async def test_retries_can_be_switched_off(world: World, city_entries: list[CityEntry]) -> None:
    flaky = Flaky(world.transports[XIANGTAN], refused, failures=1)
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(
            stack, transports={XIANGTAN: flaky}, entries=xiangtan_entry(city_entries, retries=0)
        )
        token = await login(gateway.client, CHEN_JING.id_number)
        xiangtan = (await records_of(gateway, token))[XIANGTAN]
    assert xiangtan["status"] == "unavailable" and xiangtan["attempts"] == 1 and len(flaky.requests) == 1


async def test_a_write_is_never_retried(world: World, city_entries: list[CityEntry]) -> None:
    # 王秀英 is insured in 湘潭, which keeps her 异地就医备案: the filing is a POST to 湘潭. A 503 is just the
    # answer a GET would be retried on; a write is sent once, and the caller is told.
    flaky = Flaky(world.transports[XIANGTAN], answering(503), failures=float("inf"), method="POST")
    entries = xiangtan_entry(city_entries, timeout_s=5.0, retries=3, retry_backoff_s=0.01, retry_backoff_max_s=0.02)
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: flaky}, entries=entries)
        wang = bearer(await login(gateway.client, WANG_XIUYING.id_number))
        filed = await gateway.client.post(
            FILINGS,
            json={"care_city_code": "430100", "valid_from": "2031-01-01", "valid_to": "2031-12-31"},
            headers=wang,
        )
    assert filed.status_code == 502, filed.text
    assert filed.headers["content-type"] == "application/problem+json"
    assert "湘潭" in filed.json()["detail"]
    (sent,) = flaky.requests
    assert sent.method == "POST" and sent.url.path.endswith("/medical-insurance/filings")


# --- the circuit breaker ----------------------------------------------------------------------------------


async def test_failures_in_a_row_open_the_breaker_and_then_calls_never_reach_the_city(
    world: World, city_entries: list[CityEntry]
) -> None:
    dead = Flaky(world.transports[XIANGTAN], refused, failures=float("inf"))
    entries = xiangtan_entry(city_entries, retries=0, breaker_failures=2, breaker_open_s=600)
    opened_before = metric("czt_city_breaker_transitions_total", city=XIANGTAN, to="open")
    short_before = metric("czt_city_calls_short_circuited_total", city=XIANGTAN)
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: dead}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        assert (await gateway.client.get("/v1/health")).json()["status"] == "ok"

        first = (await records_of(gateway, token))[XIANGTAN]
        assert (first["status"], first["breaker"], first["attempts"]) == ("unavailable", "closed", 1)
        second = (await records_of(gateway, token))[XIANGTAN]
        assert (second["status"], second["breaker"], second["attempts"]) == ("unavailable", "open", 1)
        assert len(dead.requests) == 2
        assert metric("czt_city_breaker_state", city=XIANGTAN) == 2
        assert metric("czt_city_breaker_transitions_total", city=XIANGTAN, to="open") == opened_before + 1

        third = await gateway.client.get("/v1/me/records", headers=bearer(token))
        xiangtan = by_city(third.json())[XIANGTAN]
        assert len(dead.requests) == 2  # short-circuited: the city never saw it
        assert (xiangtan["status"], xiangtan["breaker"], xiangtan["attempts"]) == ("unavailable", "open", 0)
        assert "circuit open" in xiangtan["detail"] and "ConnectError" in xiangtan["detail"]
        assert third.json()["complete"] is False
        assert metric("czt_city_calls_short_circuited_total", city=XIANGTAN) == short_before + 1

        # /v1/health: 湘潭's own /health still answers (only its exchange routes fail), but the open breaker
        # makes the gateway degraded.
        health = (await gateway.client.get("/v1/health")).json()
        assert health["status"] == "degraded"
        assert health_of(health)[XIANGTAN] == {**health_of(health)[XIANGTAN], "status": "ok", "breaker": "open"}
        assert health_of(health)["430100"]["breaker"] == "closed"

        # Every flow's per-city status shows the breaker.
        fund = await gateway.client.get(
            "/v1/provident-fund/loan-eligibility", params={"city": "430100"}, headers=bearer(token)
        )
        assert {c["code"]: c["breaker"] for c in fund.json()["cities"]} == {
            "430100": "closed",
            "430200": "closed",
            XIANGTAN: "open",
        }
        hours = await gateway.client.get(
            "/v1/talent/continuing-education", params={"city": "430100"}, headers=bearer(token)
        )
        assert hours.json()["breakers"][XIANGTAN] == "open" and hours.json()["cities"][XIANGTAN] == "unavailable"
        enrolment = await gateway.client.get("/v1/medical-insurance/enrolment", headers=bearer(token))
        assert by_city(enrolment.json())[XIANGTAN]["breaker"] == "open"
        assert len(dead.requests) == 2


async def test_answers_that_say_no_do_not_open_the_breaker(world: World, city_entries: list[CityEntry]) -> None:
    # 刘洋 has no records in 湘潭: its 404 is an answer from a city that is up.
    liu_yang = next(p for p in PERSONAS if p.key == "liu-yang")
    recording = Flaky(world.transports[XIANGTAN], refused, failures=0)
    entries = xiangtan_entry(city_entries, breaker_failures=1, breaker_open_s=600)
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: recording}, entries=entries)
        token = await login(gateway.client, liu_yang.id_number)
        for _ in range(3):
            xiangtan = (await records_of(gateway, token))[XIANGTAN]
            assert (xiangtan["status"], xiangtan["breaker"]) == ("not_found", "closed")
    assert len(recording.requests) == 3


async def test_after_open_s_one_trial_goes_through_and_a_healthy_city_closes_the_breaker(
    world: World, city_entries: list[CityEntry]
) -> None:
    open_s = 0.3
    flaky = Flaky(world.transports[XIANGTAN], answering(503), failures=float("inf"))
    held = Held(flaky)
    entries = xiangtan_entry(city_entries, timeout_s=30.0, retries=0, breaker_failures=1, breaker_open_s=open_s)
    async with AsyncExitStack() as stack:
        gateway = await world.another_gateway(stack, transports={XIANGTAN: held}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        assert (await records_of(gateway, token))[XIANGTAN]["breaker"] == "open"
        await asyncio.sleep(open_s * 1.5)  # the only timing here: at least open_s has passed
        health = (await gateway.client.get("/v1/health")).json()
        assert health["status"] == "degraded" and health_of(health)[XIANGTAN]["breaker"] == "half_open"
        assert metric("czt_city_breaker_state", city=XIANGTAN) == 1

        # The trial fails: open again, for another open_s.
        trial = (await records_of(gateway, token))[XIANGTAN]
        assert (trial["status"], trial["breaker"], trial["attempts"]) == ("error", "open", 1)
        assert len(flaky.requests) == 2
        await asyncio.sleep(open_s * 1.5)

        # The city recovers. While the next trial is in flight every other call is refused at once …
        flaky.heal()
        held.hold()
        first = asyncio.create_task(records_of(gateway, token))
        await asyncio.wait_for(held.arrived.wait(), timeout=30)
        meanwhile = (await records_of(gateway, token))[XIANGTAN]
        assert (meanwhile["status"], meanwhile["breaker"], meanwhile["attempts"]) == ("unavailable", "half_open", 0)
        assert "half-open" in meanwhile["detail"]
        assert len(held.held) == 1
        # … and its success closes the breaker.
        held.release.set()
        closed = (await first)[XIANGTAN]
        assert (closed["status"], closed["breaker"]) == ("ok", "closed")
        after = (await records_of(gateway, token))[XIANGTAN]
        assert (after["status"], after["breaker"]) == ("ok", "closed")
        health = (await gateway.client.get("/v1/health")).json()
        assert health["status"] == "ok" and health_of(health)[XIANGTAN]["breaker"] == "closed"
        assert metric("czt_city_breaker_state", city=XIANGTAN) == 0


# --- the same through the sandbox's fault injection -------------------------------------------------------

ADMIN_TOKEN = "resilience-admin-token-0123456789"


async def sandboxed_xiangtan(
    stack: AsyncExitStack,
    world: World,
    profiles: list[CityProfile],
    city_database_urls: dict[str, str],
    faults: list[FaultSpec],
) -> FastAPI:
    """A sandboxed 湘潭 over the world's 湘潭 database, carrying ``faults`` from the start."""
    profile = next(p for p in profiles if p.code == XIANGTAN)
    settings = CitySettings(
        profile=profile.slug,
        database_url=city_database_urls[XIANGTAN],
        sandbox=True,
        admin_token=ADMIN_TOKEN,
        faults=faults,
    )
    app = create_city_app(settings, key_source=StaticKeys(world.signing_key.jwks()), signing_key=SigningKey.generate())
    await start_cities(stack, {XIANGTAN: app})
    return app


async def fault_counters(city: FastAPI) -> dict[str, tuple[int, int]]:
    """Fault id → (requests it matched, times it fired), from the sandbox's own ``GET /_admin/faults``."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=city), base_url="http://city.test") as admin:
        response = await admin.get("/_admin/faults", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200, response.text
    return {f["id"]: (f["matched"], f["fired"]) for f in response.json()["faults"]}


async def test_sandbox_faults_fail_two_reads_then_the_third_attempt_succeeds(
    world: World, city_entries: list[CityEntry], profiles: list[CityProfile], city_database_urls: dict[str, str]
) -> None:
    faults = [FaultSpec(kind=FaultKind.ERROR, status=503, path="/exchange/*", times=2, id="two-503s")]
    entries = xiangtan_entry(city_entries, timeout_s=5.0, retries=2, retry_backoff_s=0.01, retry_backoff_max_s=0.05)
    async with AsyncExitStack() as stack:
        xiangtan_app = await sandboxed_xiangtan(stack, world, profiles, city_database_urls, faults)
        gateway = await world.another_gateway(stack, cities={**world.cities, XIANGTAN: xiangtan_app}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        xiangtan = (await records_of(gateway, token))[XIANGTAN]
        counters = await fault_counters(xiangtan_app)
    assert (xiangtan["status"], xiangtan["attempts"], xiangtan["breaker"]) == ("ok", 3, "closed")
    assert xiangtan["records"]["person"]["id_number"] == CHEN_JING.id_number
    assert counters["two-503s"] == (3, 2)


async def test_sandbox_error_on_a_write_is_not_retried(
    world: World, city_entries: list[CityEntry], profiles: list[CityProfile], city_database_urls: dict[str, str]
) -> None:
    faults = [FaultSpec(kind=FaultKind.ERROR, status=503, method="POST", path="/exchange/*", id="writes-fail")]
    entries = xiangtan_entry(city_entries, timeout_s=5.0, retries=3, retry_backoff_s=0.01, retry_backoff_max_s=0.02)
    async with AsyncExitStack() as stack:
        xiangtan_app = await sandboxed_xiangtan(stack, world, profiles, city_database_urls, faults)
        gateway = await world.another_gateway(stack, cities={**world.cities, XIANGTAN: xiangtan_app}, entries=entries)
        wang = bearer(await login(gateway.client, WANG_XIUYING.id_number))
        filed = await gateway.client.post(
            FILINGS,
            json={"care_city_code": "430100", "valid_from": "2032-01-01", "valid_to": "2032-12-31"},
            headers=wang,
        )
        counters = await fault_counters(xiangtan_app)
    assert filed.status_code == 502, filed.text
    assert counters["writes-fail"] == (1, 1)


async def test_sandbox_outage_opens_the_breaker(
    world: World, city_entries: list[CityEntry], profiles: list[CityProfile], city_database_urls: dict[str, str]
) -> None:
    faults = [FaultSpec(kind=FaultKind.OUTAGE, path="/exchange/*", id="down")]
    entries = xiangtan_entry(
        city_entries,
        timeout_s=5.0,
        retries=2,
        retry_backoff_s=0.01,
        retry_backoff_max_s=0.02,
        breaker_failures=2,
        breaker_open_s=600,
    )
    async with AsyncExitStack() as stack:
        xiangtan_app = await sandboxed_xiangtan(stack, world, profiles, city_database_urls, faults)
        gateway = await world.another_gateway(stack, cities={**world.cities, XIANGTAN: xiangtan_app}, entries=entries)
        token = await login(gateway.client, CHEN_JING.id_number)
        calls = [(await records_of(gateway, token))[XIANGTAN] for _ in range(3)]
        health = (await gateway.client.get("/v1/health")).json()
        counters = await fault_counters(xiangtan_app)
    assert [(c["status"], c["attempts"], c["breaker"]) for c in calls] == [
        ("error", 3, "closed"),
        ("error", 3, "open"),
        ("unavailable", 0, "open"),
    ]
    assert "circuit open" in calls[2]["detail"] and "503" in calls[2]["detail"]
    # 湘潭's /health is outside the outage's scope and answers: only the breaker makes the gateway degraded.
    assert health["status"] == "degraded"
    assert (health_of(health)[XIANGTAN]["status"], health_of(health)[XIANGTAN]["breaker"]) == ("ok", "open")
    assert counters["down"] == (6, 6)  # nothing reached 湘潭 once the breaker opened
