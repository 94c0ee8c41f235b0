"""``Server-Timing`` (W3C Server Timing): where a request's time went, phase by phase, on the response itself.

    gateway:  Server-Timing: auth;dur=0.35, audit;dur=1.53, decide;dur=2.02, check;dur=2.72,
              city-430100;dur=61.76;desc="ok", served-430100;dur=55.10, release;dur=0.92, …, total;dur=68.50
    a city:   Server-Timing: fault;dur=50.08, auth;dur=0.41, read;dur=1.62, sign;dur=0.29, total;dur=53.03

A browser's developer tools draw it beside the request; ``make bench`` reads it to show the critical path of a
lookup (docs/performance.md; every metric is listed in docs/observability.md). Phases are timed where they
happen, deep inside a flow, and written out by :class:`ServerTimingMiddleware` when the response starts. The
handler gets a mutable :class:`Timings` through a context variable: worker threads (``run_in_threadpool``) and
fan-out tasks run in copies of the request's context, which point at the same object, so what they add is seen
out here.

A name added more than once is summed (``release`` over the cities' answers); phases that run at once (the
cities of a fan-out) each keep a name of their own, so their durations overlap and do not add up to ``total``.
Only phase names, durations and short statuses go out, never personal data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SERVER_TIMING_HEADER = "Server-Timing"
TOTAL = "total"
"""The metric the middleware adds last: from the request's arrival to the start of its response."""


@dataclass
class Timings:
    """The phases of one request: name → (milliseconds, description), in the order first seen."""

    phases: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    def add(self, name: str, ms: float, desc: str | None = None) -> None:
        """Add ``ms`` to phase ``name`` (created at the end when new); ``desc`` replaces the description."""
        spent, old = self.phases.get(name, (0.0, None))
        self.phases[name] = (spent + ms, desc if desc is not None else old)

    def header(self) -> str:
        """The ``Server-Timing`` value: ``name;dur=ms[;desc="…"]``, comma-separated."""
        parts = []
        for name, (ms, desc) in self.phases.items():
            part = f"{name};dur={ms:.2f}"
            if desc is not None:
                part += f';desc="{_quoted(desc)}"'
            parts.append(part)
        return ", ".join(parts)


_current: ContextVar[Timings | None] = ContextVar("czt_server_timing", default=None)


def record(name: str, ms: float, desc: str | None = None) -> None:
    """Add ``ms`` to phase ``name`` of the request being handled (a no-op outside one, or when switched off)."""
    timings = _current.get()
    if timings is not None:
        timings.add(name, ms, desc)


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Time the block as phase ``name`` (added to it when the name was seen before), even when it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        record(name, (time.perf_counter() - started) * 1000)


def parse(header: str) -> dict[str, tuple[float, str | None]]:
    """A ``Server-Timing`` value read back: name → (milliseconds, description); a metric without ``dur`` is 0."""
    phases: dict[str, tuple[float, str | None]] = {}
    for metric in _split(header, ","):
        name, *params = (part.strip() for part in _split(metric, ";"))
        if not name:
            continue
        ms, desc = 0.0, None
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "dur":
                ms = float(value)
            elif key.strip() == "desc":
                desc = _unquoted(value.strip())
        phases[name] = (ms, desc)
    return phases


def _split(text: str, separator: str) -> list[str]:
    """``text`` split on ``separator`` outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
        out: list[str] = []
        escaped = False
        for char in value:
            if char == "\\" and not escaped:
                escaped = True
                continue
            out.append(char)
            escaped = False
        return "".join(out)
    return value


def _quoted(text: str) -> str:
    """``text`` as the inside of an HTTP quoted-string: printable ASCII, quotes and backslashes escaped."""
    safe = "".join(c if " " <= c <= "~" else "?" for c in text[:80])
    return safe.replace("\\", "\\\\").replace('"', '\\"')


class ServerTimingMiddleware:
    """Pure ASGI middleware: collects the request's phases and sends them as ``Server-Timing``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        timings = Timings()
        token = _current.set(timings)

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                timings.add(TOTAL, (time.perf_counter() - started) * 1000)
                MutableHeaders(scope=message).append(SERVER_TIMING_HEADER, timings.header())
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            _current.reset(token)
