"""Server-Timing: phases timed deep inside a request reach its response header."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from commons.server_timing import SERVER_TIMING_HEADER, ServerTimingMiddleware, Timings, parse, record, timed


def test_a_name_added_again_is_summed_and_keeps_its_place() -> None:
    timings = Timings()
    timings.add("release", 1.25)
    timings.add("city-430100", 50.0, "ok")
    timings.add("release", 0.75)
    assert timings.header() == 'release;dur=2.00, city-430100;dur=50.00;desc="ok"'


def test_a_description_is_a_safe_quoted_string_and_reads_back() -> None:
    timings = Timings()
    timings.add("city-430300", 3.0, 'a "quoted" \\ 长沙, city; here')
    header = timings.header()
    assert header.isascii()
    assert parse(header) == {"city-430300": (3.0, 'a "quoted" \\ ??, city; here')}


def test_parse_reads_what_browsers_and_other_servers_send() -> None:
    assert parse('cache;desc="Cache Read";dur=23.2, db;dur=53, app;dur=47.2, miss') == {
        "cache": (23.2, "Cache Read"),
        "db": (53.0, None),
        "app": (47.2, None),
        "miss": (0.0, None),
    }


def test_recording_outside_a_request_does_nothing() -> None:
    record("decide", 1.0)
    with timed("decide"):
        pass


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()

    def in_a_worker_thread() -> None:
        record("audit", 2.0)

    async def a_city(code: str) -> None:
        record(f"city-{code}", 5.0, "ok")
        record("check", 0.5)

    @app.get("/lookup")
    async def lookup() -> dict[str, str]:
        with timed("decide"):
            await run_in_threadpool(in_a_worker_thread)
        async with asyncio.TaskGroup() as group:
            for code in ("430100", "430200"):
                group.create_task(a_city(code))
        return {"ok": "yes"}

    @app.get("/fails")
    async def fails() -> None:
        with timed("decide"):
            raise ValueError("refused")

    @app.exception_handler(ValueError)
    async def refused(request: object, exc: ValueError) -> JSONResponse:
        return JSONResponse({"title": str(exc)}, status_code=403)

    app.add_middleware(ServerTimingMiddleware)
    return app


async def test_phases_from_threads_and_tasks_reach_the_header(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/lookup")
    phases = parse(response.headers[SERVER_TIMING_HEADER])
    assert list(phases) == ["audit", "decide", "city-430100", "check", "city-430200", "total"]
    assert phases["audit"] == (2.0, None)
    assert phases["check"] == (1.0, None)
    assert phases["city-430200"] == (5.0, "ok")
    assert phases["decide"][0] >= 0 and phases["total"][0] >= phases["decide"][0]


async def test_a_phase_that_raised_is_still_timed(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/fails")
    assert response.status_code == 403
    assert list(parse(response.headers[SERVER_TIMING_HEADER])) == ["decide", "total"]


async def test_requests_at_once_keep_their_own_phases(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        responses = await asyncio.gather(*(client.get("/lookup") for _ in range(8)))
    for response in responses:
        assert parse(response.headers[SERVER_TIMING_HEADER])["check"] == (1.0, None)
