"""Log set-up for every CZT process: one JSON object per line, request id included where there is one.

Every module keeps logging through the standard library (``logging.getLogger("czt.…")``, ``extra=`` for fields);
only the last step, turning a ``LogRecord`` into a line, is structlog's ``ProcessorFormatter``. A line is::

    {"ts": "2026-03-01T08:00:00.123Z", "level": "info", "service": "gateway", "logger": "czt.access",
     "request_id": "demo-req-42", "event": "request", "method": "GET", "status": 200, …}

``service`` is the app handling the request when there is one (several apps share a process in tests and in the
sandbox), else the process's own name. ``CZT_LOG_FORMAT=text`` gives the human line instead, with the same fields.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import structlog
from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from commons.request_id import current_request_id

LogFormat = Literal["json", "text"]

# What every LogRecord has, so that anything else on a record came from ``extra=``. ``message`` and ``asctime``
# appear once another formatter has seen the record; uvicorn passes ``color_message`` for its own terminal output.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}
# Fields that describe the record itself: an ``extra=`` of the same name cannot replace them.
_OWN_FIELDS = ("ts", "level", "logger", "event")

_serving: ContextVar[str | None] = ContextVar("czt_log_service", default=None)


class LogSettings(BaseSettings):
    """How a process writes its logs (env prefix ``CZT_LOG_``)."""

    model_config = SettingsConfigDict(env_prefix="CZT_LOG_", extra="ignore")

    format: LogFormat = "json"
    """``json``: one JSON object per line, for a log pipeline; ``text``: the human line, for a terminal."""

    @field_validator("format", mode="before")
    @classmethod
    def _case_insensitive(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class LogConfigError(ValueError):
    """A ``CZT_LOG_*`` setting is invalid; the message names the variable."""


def log_settings() -> LogSettings:
    try:
        return LogSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CZT_LOG_{str(e['loc'][0]).upper()}: {e['msg']} (got {e['input']!r})" for e in exc.errors()
        )
        raise LogConfigError(problems) from None


@contextmanager
def serving(service: str) -> Iterator[None]:
    """Lines logged inside carry ``service`` (the app handling the request), whatever the process is called."""
    token = _serving.set(service)
    try:
        yield
    finally:
        _serving.reset(token)


class _RecordFields:
    """structlog processor: the fields of a stdlib record, in the order a reader scans them."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __call__(self, _logger: object, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
        record: logging.LogRecord = event_dict["_record"]
        fields: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "service": _serving.get() or self.service,
            "logger": record.name,
            "request_id": current_request_id(),
            "event": event_dict["event"],
        }
        for key, value in record.__dict__.items():
            # An explicit extra (e.g. the request id of problems.py's "unhandled error") beats the context.
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and key not in _OWN_FIELDS:
                fields[key] = value
        if "stack_info" in event_dict:
            fields["stack"] = event_dict["stack_info"]
        # ProcessorFormatter's own keys, and exc_info for format_exc_info further on.
        fields.update({k: v for k, v in event_dict.items() if k in ("_record", "_from_structlog", "exc_info")})
        return fields


def _text_line(_logger: object, _method: str, event_dict: Mapping[str, Any]) -> str:
    """The human line: ``ts LEVEL service logger [request id] event key=value …``, traceback below."""
    fields = dict(event_dict)
    head = (
        f"{fields.pop('ts')} {fields.pop('level').upper():<5} {fields.pop('service')} {fields.pop('logger')} "
        f"[{fields.pop('request_id')}] {fields.pop('event')}"
    )
    below = [str(fields.pop(key)) for key in ("exception", "stack") if key in fields]
    return "\n".join([head + "".join(f" {key}={value}" for key, value in fields.items()), *below])


def log_formatter(service: str, log_format: LogFormat = "json") -> logging.Formatter:
    """The formatter of every CZT handler: ``service`` names the process for lines outside any request."""
    # ensure_ascii=False: 长沙 stays readable; default=str: a Decimal or a datetime in extra= reads as itself.
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False, default=str) if log_format == "json" else _text_line
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[_RecordFields(service)],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a line is written (as ``logging.lastResort`` does), so that a
    process that swaps it — pytest does, per test — never leaves the handler writing to a closed stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # handle() holds the handler's lock here
        super().emit(record)


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """Send the ``czt`` loggers — and uvicorn's, once uvicorn has set them up — to stderr once per process,
    tagged with ``service``, in the format ``CZT_LOG_FORMAT`` names (``json``, the default, or ``text``)."""
    logger = logging.getLogger("czt")
    if any(getattr(handler, "czt_service", None) for handler in logger.handlers):
        return
    handler = _StderrHandler()
    handler.czt_service = service  # type: ignore[attr-defined]
    handler.setFormatter(log_formatter(service, log_settings().format))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    # uvicorn's start-up and error lines ("uvicorn.error" propagates to "uvicorn") in the same format. A logger
    # without handlers is left alone: uvicorn empties "uvicorn.access" for --no-access-log, and our own access
    # line (commons/metrics.py) replaces it.
    for name in ("uvicorn", "uvicorn.access"):
        server_logger = logging.getLogger(name)
        if server_logger.handlers:
            server_logger.handlers = [handler]
