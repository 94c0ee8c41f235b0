"""HTTP metrics: counted by route template (never the raw path), timed, in flight; exposed on ``GET /metrics`` by the
gateway and by every city."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from commons.metrics import UNMATCHED, MetricsMiddleware
from commons.metrics import router as metrics_router
from commons.problems import install_problem_handlers
from commons.request_id import RequestIdMiddleware
from mock_cities.personas import PERSONAS
from tests.conftest import World, bearer, login

ID_NUMBER = PERSONAS[0].id_number


@dataclass
class Probe:
    """An app wired like the gateway and the cities, under a service name no other test uses."""

    app: FastAPI
    client: httpx.AsyncClient
    service: str

    def requests(self, method: str, route: str, status: int) -> float:
        labels = {"service": self.service, "method": method, "route": route, "status": str(status)}
        return REGISTRY.get_sample_value("czt_http_requests_total", labels) or 0.0

    def timed(self, method: str, route: str) -> float:
        labels = {"service": self.service, "method": method, "route": route}
        return REGISTRY.get_sample_value("czt_http_request_duration_seconds_count", labels) or 0.0

    def in_flight(self) -> float | None:
        return REGISTRY.get_sample_value("czt_http_requests_in_flight", {"service": self.service})


@pytest.fixture
async def probe() -> AsyncIterator[Probe]:
    service = f"probe-{uuid.uuid4().hex[:8]}"
    app = FastAPIOffline()  # as the gateway and the cities: its docs pages are routes of their own
    seen_in_flight: list[float | None] = []
    residents = APIRouter(prefix="/v1/residents")

    @residents.get("/{id_number}/records")
    async def records(id_number: str) -> dict[str, str]:
        seen_in_flight.append(REGISTRY.get_sample_value("czt_http_requests_in_flight", {"service": service}))
        return {"id_number": id_number}

    @residents.get("/{id_number}/boom")
    async def boom(id_number: str) -> None:
        raise RuntimeError("a bug")

    nested = APIRouter(prefix="/persons")

    @nested.get("/{id_number}")
    async def person(id_number: str) -> dict[str, str]:
        return {}

    outer = APIRouter(prefix="/local")
    outer.include_router(nested, prefix="/v1")
    app.include_router(residents)
    app.include_router(outer)
    app.include_router(metrics_router)
    app.add_middleware(MetricsMiddleware, service=service)
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app, {})
    app.state.seen_in_flight = seen_in_flight
    # raise_app_exceptions=False: the 500 is answered by ServerErrorMiddleware, which re-raises for the server's log.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe.test") as client:
        yield Probe(app, client, service)


async def test_requests_are_counted_by_route_template_not_by_path(probe: Probe) -> None:
    for id_number in (ID_NUMBER, "430104198611239369"):
        assert (await probe.client.get(f"/v1/residents/{id_number}/records")).status_code == 200
    assert probe.requests("GET", "/v1/residents/{id_number}/records", 200) == 2
    assert probe.timed("GET", "/v1/residents/{id_number}/records") == 2
    exposition = (await probe.client.get("/metrics")).text
    assert ID_NUMBER not in exposition
    assert "430104198611239369" not in exposition


async def test_a_path_no_route_matches_is_unmatched(probe: Probe) -> None:
    assert (await probe.client.get(f"/v2/people/{ID_NUMBER}")).status_code == 404
    assert (await probe.client.get("/wp-login.php")).status_code == 404
    assert probe.requests("GET", UNMATCHED, 404) == 2
    assert ID_NUMBER not in (await probe.client.get("/metrics")).text


async def test_a_route_keeps_its_template_whatever_it_answers(probe: Probe) -> None:
    assert (await probe.client.get(f"/v1/residents/{ID_NUMBER}/boom")).status_code == 500
    assert (await probe.client.delete(f"/v1/residents/{ID_NUMBER}/records")).status_code == 405
    assert probe.requests("GET", "/v1/residents/{id_number}/boom", 500) == 1
    assert probe.requests("DELETE", "/v1/residents/{id_number}/records", 405) == 1


async def test_routers_included_with_a_prefix_get_the_whole_template(probe: Probe) -> None:
    assert (await probe.client.get(f"/local/v1/persons/{ID_NUMBER}")).status_code == 200
    assert probe.requests("GET", "/local/v1/persons/{id_number}", 200) == 1


async def test_docs_pages_and_static_files_are_counted_under_their_route(probe: Probe) -> None:
    assert (await probe.client.get("/docs")).status_code == 200
    assert (await probe.client.get("/openapi.json")).status_code == 200
    static = [line.split('"')[1] for line in (await probe.client.get("/docs")).text.split("src=")[1:]]
    assert static, "the docs page loads its script from the app"
    assert (await probe.client.get(static[0])).status_code == 200
    assert probe.requests("GET", "/docs", 200) == 2
    assert probe.requests("GET", "/openapi.json", 200) == 1
    assert probe.requests("GET", "/static-offline-docs/{path}", 200) == 1  # the mount, not each file
    assert sum(probe.requests("GET", route, 200) for route in (UNMATCHED, static[0])) == 0


async def test_an_unknown_method_is_other_not_a_label_of_its_own(probe: Probe) -> None:
    await probe.client.request("PROPFIND", f"/v1/residents/{ID_NUMBER}/records")
    assert probe.requests("OTHER", "/v1/residents/{id_number}/records", 405) == 1


async def test_in_flight_counts_the_request_being_handled(probe: Probe) -> None:
    await probe.client.get(f"/v1/residents/{ID_NUMBER}/records")
    assert probe.app.state.seen_in_flight == [1.0]
    assert probe.in_flight() == 0.0


async def test_metrics_is_prometheus_text_and_not_in_the_api_description(probe: Probe) -> None:
    await probe.client.get(f"/v1/residents/{ID_NUMBER}/records")
    response = await probe.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert {"czt_http_requests", "czt_http_request_duration_seconds", "czt_http_requests_in_flight"} <= set(families)
    assert "/metrics" not in probe.app.openapi()["paths"]


async def test_metrics_speaks_openmetrics_to_a_scraper_that_asks(probe: Probe) -> None:
    response = await probe.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def samples(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``, read from an exposition."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def exposition(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_gateway_and_cities_expose_their_requests(world: World) -> None:
    """One records lookup: +1 on the gateway's route, +1 on each city's exchange route, read from each /metrics."""
    slugs = {"430100": "changsha", "430200": "zhuzhou", "430300": "xiangtan"}
    exchange = {"method": "GET", "route": "/exchange/v1/persons/{id_number}/records"}
    async with AsyncExitStack() as stack:
        city_clients = {
            code: await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://city.test")
            )
            for code, app in world.cities.items()
        }
        gateway_before = samples(await exposition(world.client), "czt_http_requests_total", route="/v1/me/records")
        cities_before = {
            code: samples(await exposition(client), "czt_http_requests_total", service=slugs[code], **exchange)
            for code, client in city_clients.items()
        }
        token = await login(world.client, ID_NUMBER)
        assert (await world.client.get("/v1/me/records", headers=bearer(token))).status_code == 200

        gateway = await exposition(world.client)
        assert samples(gateway, "czt_http_requests_total", route="/v1/me/records") == gateway_before + 1
        assert samples(gateway, "czt_http_requests_total", service="gateway", route="/v1/me/records", status="200")
        assert samples(gateway, "czt_http_request_duration_seconds_count", service="gateway", route="/v1/me/records")
        for code, client in city_clients.items():
            after = samples(await exposition(client), "czt_http_requests_total", service=slugs[code], **exchange)
            assert after == cities_before[code] + 1, code
