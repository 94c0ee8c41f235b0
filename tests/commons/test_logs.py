"""Structured logs: one JSON object per line with ts, level, service, logger, request id and extras; the text line
on request; the request id followed from the gateway into every city it asks."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from commons.logs import LogConfigError, LogFormat, configure_logging, log_formatter, log_settings, serving
from commons.metrics import MetricsMiddleware
from commons.request_id import RequestIdMiddleware
from mock_cities.personas import PERSONAS
from tests.conftest import World, bearer, login

SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
"""uvicorn's loggers; a server started earlier in the process (e.g. by the conformance tests, at ``warning``)
leaves its levels, handlers and ``propagate`` on them."""


class Captured:
    """The lines a handler with our formatter wrote, attached to the ``czt`` logger for one test."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


def capture(service: str, log_format: LogFormat) -> Iterator[Captured]:
    logger = logging.getLogger("czt")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(log_formatter(service, log_format))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def json_logs() -> Iterator[Captured]:
    yield from capture("test-process", "json")


@pytest.fixture
def text_logs() -> Iterator[Captured]:
    yield from capture("test-process", "text")


def test_a_line_is_one_json_object_with_the_standard_fields(json_logs: Captured) -> None:
    logging.getLogger("czt.test.shape").info("city %s up, dialect %s", "430100", "rest_camel")
    (line,) = json_logs.json()
    assert list(line)[:6] == ["ts", "level", "service", "logger", "request_id", "event"]
    assert line["level"] == "info"
    assert line["service"] == "test-process"
    assert line["logger"] == "czt.test.shape"
    assert line["event"] == "city 430100 up, dialect rest_camel"
    stamp = datetime.fromisoformat(line["ts"])
    assert line["ts"].endswith("Z") and stamp.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 3600  # the record's time, in UTC


def test_outside_a_request_the_request_id_is_a_dash(json_logs: Captured) -> None:
    logging.getLogger("czt.test").warning("no request here")
    (line,) = json_logs.json()
    assert line["request_id"] == "-"
    assert line["level"] == "warning"


def test_extra_fields_become_fields_but_cannot_replace_the_records_own(json_logs: Captured) -> None:
    logging.getLogger("czt.test").info(
        "city call", extra={"city": "430200", "elapsed_ms": 12.5, "event": "forged", "level": "debug"}
    )
    (line,) = json_logs.json()
    assert line["city"] == "430200"
    assert line["elapsed_ms"] == 12.5
    assert line["event"] == "city call"
    assert line["level"] == "info"


def test_an_explicit_request_id_beats_the_context(json_logs: Captured) -> None:
    logging.getLogger("czt.test").info("background", extra={"request_id": "from-the-job"})
    assert json_logs.json()[0]["request_id"] == "from-the-job"


def test_chinese_text_stays_readable_and_odd_values_do_not_break_the_line(json_logs: Captured) -> None:
    logging.getLogger("czt.test").info("长沙 answered", extra={"when": datetime(2026, 3, 1, tzinfo=UTC)})
    raw = json_logs.lines[0]
    assert "长沙" in raw
    assert "2026-03-01" in json.loads(raw)["when"]


def test_an_exception_is_one_line_with_its_traceback(json_logs: Captured) -> None:
    try:
        raise ValueError("bad mapping")
    except ValueError:
        logging.getLogger("czt.test").exception("unhandled error")
    (line,) = json_logs.json()  # one line: the traceback is a JSON string, not stray lines
    assert line["level"] == "error"
    assert "Traceback" in line["exception"]
    assert "ValueError: bad mapping" in line["exception"]


def test_text_mode_is_the_human_line_with_the_same_fields(text_logs: Captured) -> None:
    logging.getLogger("czt.test.text").info("city call", extra={"city": "430300", "status": "ok"})
    (line,) = text_logs.lines
    ts, level, service, logger, request_id, rest = line.split(maxsplit=5)
    datetime.fromisoformat(ts)
    assert (level, service, logger, request_id) == ("INFO", "test-process", "czt.test.text", "[-]")
    assert rest == "city call city=430300 status=ok"


def test_text_mode_puts_the_traceback_below(text_logs: Captured) -> None:
    try:
        raise KeyError("xm")
    except KeyError:
        logging.getLogger("czt.test").exception("mapping failed")
    first, *below = text_logs.lines
    assert first.endswith("mapping failed")
    assert below[0].startswith("Traceback")
    assert below[-1] == "KeyError: 'xm'"


async def test_lines_logged_while_an_app_serves_carry_its_name_and_the_request_id(json_logs: Captured) -> None:
    app = FastAPI()

    @app.get("/things/{thing}")
    async def thing(thing: str) -> dict[str, str]:
        logging.getLogger("czt.test.handler").info("looking up %s", thing)
        return {}

    app.add_middleware(MetricsMiddleware, service="zhuzhou")
    app.add_middleware(RequestIdMiddleware)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://city.test") as client:
        response = await client.get("/things/t-1", headers={"X-Request-ID": "req-log-1"})
    assert response.status_code == 200
    handler_line, access_line = json_logs.json()
    assert handler_line["event"] == "looking up t-1"
    assert (handler_line["service"], handler_line["request_id"]) == ("zhuzhou", "req-log-1")
    assert access_line["logger"] == "czt.access"
    assert access_line["service"] == "zhuzhou"
    assert access_line["request_id"] == "req-log-1"
    assert access_line["method"] == "GET"
    assert access_line["path"] == "/things/t-1"
    assert access_line["route"] == "/things/{thing}"
    assert access_line["status"] == 200
    assert access_line["duration_ms"] >= 0
    logging.getLogger("czt.test").info("after the request")
    assert json_logs.json()[-1]["service"] == "test-process"
    assert json_logs.json()[-1]["request_id"] == "-"


def test_serving_names_the_service_only_inside(json_logs: Captured) -> None:
    with serving("xiangtan"):
        logging.getLogger("czt.test").info("inside")
    logging.getLogger("czt.test").info("outside")
    assert [line["service"] for line in json_logs.json()] == ["xiangtan", "test-process"]


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "json"), ("json", "json"), ("text", "text"), (" TEXT ", "text")]
)
def test_czt_log_format_chooses_the_format(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str) -> None:
    if value is None:
        monkeypatch.delenv("CZT_LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("CZT_LOG_FORMAT", value)
    assert log_settings().format == expected


def test_an_unknown_log_format_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CZT_LOG_FORMAT", "xml")
    with pytest.raises(LogConfigError, match=r"CZT_LOG_FORMAT: .*'json' or 'text'.*'xml'"):
        log_settings()


def process_handlers() -> list[logging.Handler]:
    """The handlers configure_logging put on the ``czt`` logger (pytest attaches its own to it too)."""
    return [handler for handler in logging.getLogger("czt").handlers if getattr(handler, "czt_service", None)]


@pytest.fixture
def unconfigured() -> Iterator[None]:
    """The czt and uvicorn loggers as a fresh process has them, restored afterwards."""
    czt = logging.getLogger("czt")
    ours, level, propagate = process_handlers(), czt.level, czt.propagate
    uvicorn = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level, logging.getLogger(name).propagate)
        for name in SERVER_LOGGERS
    }
    for handler in ours:
        czt.removeHandler(handler)
    for name in SERVER_LOGGERS:
        logging.getLogger(name).handlers = []
        logging.getLogger(name).setLevel(logging.NOTSET)
        logging.getLogger(name).propagate = True
    try:
        yield
    finally:
        for handler in process_handlers():
            czt.removeHandler(handler)
        for handler in ours:
            czt.addHandler(handler)
        czt.setLevel(level)
        czt.propagate = propagate
        for name, (handlers, server_level, server_propagate) in uvicorn.items():
            logging.getLogger(name).handlers = handlers
            logging.getLogger(name).setLevel(server_level)
            logging.getLogger(name).propagate = server_propagate


@pytest.mark.usefixtures("unconfigured")
def test_configure_logging_writes_the_chosen_format_to_stderr_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CZT_LOG_FORMAT", "text")
    configure_logging("changsha")
    configure_logging("gateway")  # once per process: the second call changes nothing
    logging.getLogger("czt.city").info("city up")
    assert len(process_handlers()) == 1
    line = capsys.readouterr().err.strip()
    assert " INFO  changsha czt.city [-] city up" in line


@pytest.mark.usefixtures("unconfigured")
def test_configure_logging_takes_over_uvicorns_loggers_but_not_a_disabled_access_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CZT_LOG_FORMAT", raising=False)
    # As uvicorn's own logging config leaves it: a handler and level INFO on "uvicorn".
    logging.getLogger("uvicorn").addHandler(logging.StreamHandler())
    logging.getLogger("uvicorn").setLevel(logging.INFO)
    configure_logging("gateway")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    line = json.loads(capsys.readouterr().err)
    assert (line["logger"], line["service"], line["event"]) == (
        "uvicorn.error",
        "gateway",
        "Started server process [42]",
    )
    assert logging.getLogger("uvicorn.access").handlers == []  # --no-access-log stays off


async def test_one_request_id_follows_the_request_into_every_city(world: World, json_logs: Captured) -> None:
    persona = PERSONAS[0]
    token = await login(world.client, persona.id_number)
    response = await world.client.get("/v1/me/records", headers={**bearer(token), "X-Request-ID": "follow-me-7"})
    assert response.status_code == 200
    ours = [line for line in json_logs.json() if line["request_id"] == "follow-me-7"]
    by_service: dict[str, list[dict[str, Any]]] = {}
    for line in ours:
        by_service.setdefault(line["service"], []).append(line)
    assert set(by_service) == {"gateway", "changsha", "zhuzhou", "xiangtan"}
    (gateway_access,) = [line for line in by_service["gateway"] if line["logger"] == "czt.access"]
    assert (gateway_access["route"], gateway_access["status"]) == ("/v1/me/records", 200)
    for city in ("changsha", "zhuzhou", "xiangtan"):
        city_access = [line for line in by_service[city] if line["logger"] == "czt.access"]
        assert [line["route"] for line in city_access] == ["/exchange/v1/persons/{id_number}/records"]
