"""Fault injection: what can go wrong with a city, exactly when it goes wrong, and the middleware that does it.

A fault is one :class:`FaultSpec`: a kind (latency, error, outage, reset, dribble, malformed), a scope (a path
glob and optionally a method), and *when* it fires:

* ``probability`` with a ``seed``: whether a fault fires on its n-th matching request is a pure function of
  ``(seed, kind, n)`` — see :func:`draw` — so the same seed and the same sequence of requests to the fault's scope
  give the same faults, whatever else the city is asked in between. Toxiproxy's toxicity and WireMock's random
  faults cannot be replayed; these can. A fault given no seed gets a random one, shown by ``GET /_admin/faults``, so
  any run can be replayed afterwards.
* ``skip`` and ``times``: a stateful scenario — let the first N matching requests through, fire at most N times,
  then heal ("fail the first two calls, then succeed" is what a retry test needs).

When several faults hit one request: every latency applies first, then the first outage, error or reset answers
instead of the city (the city never sees the request), and otherwise dribble and malformed alter the city's real
answer. The faults that fired are named in the ``X-CZT-Fault`` response header (``<id>:<kind>,...``) and in the
request journal.

The middleware sits outside the city's response signing, as a broken proxy in front of the city would: a garbled
body no longer matches its signature, an injected error is not signed at all.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commons.problems import problem_response
from commons.server_timing import timed
from schemas.problems import Problem

log = logging.getLogger("czt.city.sandbox")
FAULT_HEADER = "X-CZT-Fault"
ADMIN_PREFIX = "/_admin"
INJECTED_FAULT = "urn:czt:problem:injected-fault"
"""The problem type of an answer a fault made up (an injected error or outage), never one the city gave."""
SCOPE_KEY = "czt.faults"
"""Where the middleware leaves the faults that fired on a request (``<id>:<kind>``), for the journal."""
MAX_MS = 3_600_000
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DRIBBLE_CHUNKS = 10


class ConnectionCut(Exception):
    """Raised after the response has started: the server closes the socket and the client sees a cut answer.

    Under uvicorn an exception after ``http.response.start`` closes the connection; in-process tests turn it
    into ``httpx.RemoteProtocolError`` (``tests.gateway.faults.CityTransport``), which is what a real client sees.
    """


class _DropInjectedCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionCut))


_DROP_INJECTED_CUTS = _DropInjectedCuts()
LOGGERS_REPORTING_CUTS = ("czt.problems", "uvicorn.error")
"""Loggers that would report a cut as a crash: the app's last-resort handler and the server."""


def quiet_injected_cuts() -> None:
    """Keep an injected cut from being logged as an unhandled error with a traceback, twice (the app's
    last-resort handler, then uvicorn); the fault middleware logs one line instead. Idempotent."""
    for name in LOGGERS_REPORTING_CUTS:
        logger = logging.getLogger(name)
        if _DROP_INJECTED_CUTS not in logger.filters:
            logger.addFilter(_DROP_INJECTED_CUTS)


class FaultKind(StrEnum):
    LATENCY = "latency"
    """Wait ``ms`` plus a uniform random 0..``jitter_ms`` before the city is asked."""
    ERROR = "error"
    """Answer ``status`` (default 500) as problem+json naming the fault, instead of the city."""
    OUTAGE = "outage"
    """Answer 503 to every matching request, /health included: the city is down."""
    RESET = "reset"
    """Start the city's answer, then cut the connection mid-body."""
    DRIBBLE = "dribble"
    """Send the city's real answer in small chunks spread over ``ms``."""
    MALFORMED = "malformed"
    """Replace the real answer's body with truncated, garbled JSON; status and content type kept."""


SHORT_CIRCUITS = (FaultKind.OUTAGE, FaultKind.ERROR, FaultKind.RESET)
ALTERATIONS = (FaultKind.DRIBBLE, FaultKind.MALFORMED)
_TAKES = {
    "ms": (FaultKind.LATENCY, FaultKind.DRIBBLE),
    "jitter_ms": (FaultKind.LATENCY,),
    "status": (FaultKind.ERROR,),
}


def _new_fault_id() -> str:
    return secrets.token_hex(4)


def _new_seed() -> int:
    return secrets.randbelow(2**31)


class FaultSpec(BaseModel):
    """One fault: what goes wrong, on which requests, and when."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    id: str = Field(default_factory=_new_fault_id, pattern=r"^[A-Za-z0-9._-]{1,40}$")
    path: str = Field(default="*", min_length=1, max_length=200, description="fnmatch glob on the URL path")
    method: str | None = Field(default=None, description="Only this HTTP method; all methods when absent")
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    seed: int = Field(default_factory=_new_seed, ge=0, description="Random when absent, and reported")
    skip: int = Field(default=0, ge=0, description="Let the first N matching requests through")
    times: int | None = Field(default=None, ge=1, description="Fire at most N times, then heal")
    ms: int | None = Field(default=None, ge=0, le=MAX_MS, validate_default=True)
    """latency: the fixed delay; dribble: how long the body takes to arrive."""
    jitter_ms: int | None = Field(default=None, ge=0, le=MAX_MS)
    status: int | None = Field(default=None, ge=400, le=599, description="error: the status answered (400-599)")

    @field_validator("path")
    @classmethod
    def _path_is_a_path_glob(cls, value: str) -> str:
        if not value.startswith(("/", "*")):
            raise ValueError("must be a glob on the URL path, starting with '/' or '*' (e.g. /exchange/*)")
        if value.startswith(ADMIN_PREFIX):
            raise ValueError(f"{ADMIN_PREFIX}/* is never faulted")
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        if value is None:
            return None
        method = value.strip().upper()
        if method not in METHODS:
            raise ValueError(f"must be one of {', '.join(METHODS)}")
        return method

    @field_validator("ms", "jitter_ms", "status")
    @classmethod
    def _only_where_it_means_something(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("kind")
        if kind is None or info.field_name is None:  # the kind itself is invalid: that error is enough
            return value
        takes = _TAKES[info.field_name]
        if value is not None and kind not in takes:
            raise ValueError(f"a {kind} fault takes no {info.field_name} (only {', '.join(takes)} faults do)")
        if value is None and info.field_name == "ms" and kind in takes:
            raise ValueError(f"a {kind} fault needs ms (milliseconds)")
        return value

    @model_validator(mode="after")
    def _default_status(self) -> FaultSpec:
        if self.kind is FaultKind.ERROR and self.status is None:
            self.status = 500
        return self

    @property
    def label(self) -> str:
        return f"{self.id}:{self.kind}"

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and fnmatch.fnmatchcase(path, self.path)


@dataclass(frozen=True)
class Draw:
    """What the dice said for one fault on one of its matching requests."""

    fires: bool
    jitter_ms: int
    cut: float
    """Where a garbled or cut body ends, as a fraction of its length."""


def draw(spec: FaultSpec, n: int) -> Draw:
    """Whether ``spec`` fires on its ``n``-th matching request (0-based), ignoring ``skip`` and ``times``.

    A pure function of ``(seed, kind, n)``: the kind is mixed in so that two faults of different kinds set
    with one seed (``czt fault set --error-rate 0.3 --malformed-rate 0.3 --seed 7``) fire independently.
    """
    rng = random.Random(f"{spec.seed}:{spec.kind}:{n}")  # noqa: S311 - reproducible faults, not secrets
    fires = rng.random() < spec.probability
    jitter = rng.randint(0, spec.jitter_ms) if spec.jitter_ms else 0
    return Draw(fires=fires, jitter_ms=jitter, cut=rng.uniform(0.25, 0.75))


@dataclass
class ActiveFault:
    """A fault in force, with how many requests it matched and how often it fired."""

    spec: FaultSpec
    matched: int = 0
    fired: int = 0

    def roll(self, method: str, path: str) -> Draw | None:
        """Count this request if it is in scope; the draw when the fault would fire on it."""
        if not self.spec.matches(method, path):
            return None
        n = self.matched
        self.matched += 1
        if n < self.spec.skip or (self.spec.times is not None and self.fired >= self.spec.times):
            return None
        outcome = draw(self.spec, n)
        return outcome if outcome.fires else None


@dataclass(frozen=True)
class Firing:
    spec: FaultSpec
    draw: Draw


@dataclass(frozen=True)
class FaultPlan:
    """What the faults do to one request, in the order they act."""

    delays: list[Firing] = field(default_factory=list)
    instead: Firing | None = None
    """The outage, error or reset answering in the city's place."""
    alterations: list[Firing] = field(default_factory=list)

    @property
    def fired(self) -> list[Firing]:
        return [*self.delays, *([self.instead] if self.instead else []), *self.alterations]

    @property
    def delay_s(self) -> float:
        return sum((f.spec.ms or 0) + f.draw.jitter_ms for f in self.delays) / 1000


class FaultNotFound(LookupError):
    """No fault with this id is set."""


class FaultBook:
    """The faults in force in one city. Used from the event loop only, so it needs no lock."""

    def __init__(self, specs: list[FaultSpec] | None = None) -> None:
        self._faults: list[ActiveFault] = [ActiveFault(spec) for spec in specs or []]

    def __bool__(self) -> bool:
        return bool(self._faults)

    def faults(self) -> list[ActiveFault]:
        return list(self._faults)

    def add(self, specs: list[FaultSpec]) -> None:
        """Set these faults; one with the id of a fault in force replaces it (and starts counting afresh)."""
        for spec in specs:
            fresh = ActiveFault(spec)
            index = next((i for i, f in enumerate(self._faults) if f.spec.id == spec.id), None)
            if index is None:
                self._faults.append(fresh)
            else:
                self._faults[index] = fresh

    def replace(self, specs: list[FaultSpec]) -> None:
        self._faults = []
        self.add(specs)

    def clear(self) -> int:
        count = len(self._faults)
        self._faults = []
        return count

    def remove(self, fault_id: str) -> FaultSpec:
        for fault in self._faults:
            if fault.spec.id == fault_id:
                self._faults.remove(fault)
                return fault.spec
        raise FaultNotFound(f"no fault with id {fault_id!r} is set")

    def plan(self, method: str, path: str) -> FaultPlan:
        """Roll every fault in scope and count those that act; faults that would act on an answer a
        short-circuit replaced do not count as fired (``times`` is not used up by them)."""
        rolled = [(fault, d) for fault in self._faults if (d := fault.roll(method, path)) is not None]
        delays = [fault for fault in rolled if fault[0].spec.kind is FaultKind.LATENCY]
        instead = next((fault for fault in rolled if fault[0].spec.kind in SHORT_CIRCUITS), None)
        alterations = [] if instead else [fault for fault in rolled if fault[0].spec.kind in ALTERATIONS]
        acting = [*delays, *([instead] if instead else []), *alterations]
        for fault, _ in acting:
            fault.fired += 1
        return FaultPlan(
            delays=[Firing(f.spec, d) for f, d in delays],
            instead=Firing(instead[0].spec, instead[1]) if instead else None,
            alterations=[Firing(f.spec, d) for f, d in alterations],
        )


def garble(body: bytes, cut: float) -> bytes:
    """Truncated JSON with junk after it: never parses, whatever the original was."""
    return body[: int(len(body) * cut)] + b'\xef\xbf\xbd{"garbled'


Sleep = Callable[[float], Awaitable[None]]


class FaultMiddleware:
    """Pure ASGI middleware applying the :class:`FaultBook` to every request outside ``/_admin``."""

    def __init__(self, app: ASGIApp, *, book: FaultBook, sleep: Sleep = asyncio.sleep) -> None:
        self.app = app
        self.book = book
        self.sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX) or not self.book:
            await self.app(scope, receive, send)
            return
        plan = self.book.plan(str(scope["method"]), path)
        fired = plan.fired
        if not fired:
            await self.app(scope, receive, send)
            return
        labels = ",".join(f.spec.label for f in fired)
        scope[SCOPE_KEY] = [f.spec.label for f in fired]

        async def send_labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[FAULT_HEADER] = labels
            await send(message)

        if plan.delay_s:
            with timed("fault"):
                await self.sleep(plan.delay_s)
        if plan.instead is not None:
            await self._instead(plan.instead, scope, receive, send_labelled)
        elif plan.alterations:
            await self._altered(plan.alterations, scope, receive, send_labelled)
        else:
            await self.app(scope, receive, send_labelled)

    async def _instead(self, firing: Firing, scope: Scope, receive: Receive, send: Send) -> None:
        spec = firing.spec
        if spec.kind is FaultKind.RESET:
            start, body = await _buffered(self.app, scope, receive)
            await send(start)
            await send(
                {"type": "http.response.body", "body": body[: int(len(body) * firing.draw.cut)], "more_body": True}
            )
            log.warning("fault %s (reset) cut the connection mid-answer on %s", spec.id, scope["path"])
            raise ConnectionCut(f"fault {spec.id} cut the connection mid-answer")
        if spec.kind is FaultKind.OUTAGE:
            problem = Problem(
                type=INJECTED_FAULT,
                title="City unavailable (injected outage)",
                status=503,
                detail=f"the sandbox's fault {spec.id} ({spec.kind}) takes this city down",
                instance=str(scope["path"]),
                fault={"id": spec.id, "kind": spec.kind},
            )
        else:
            status = spec.status or 500
            problem = Problem(
                type=INJECTED_FAULT,
                title="Injected fault",
                status=status,
                detail=f"the sandbox's fault {spec.id} ({spec.kind}) answered {status} instead of the city",
                instance=str(scope["path"]),
                fault={"id": spec.id, "kind": spec.kind},
            )
        await problem_response(problem)(scope, receive, send)

    async def _altered(self, firings: list[Firing], scope: Scope, receive: Receive, send: Send) -> None:
        start, body = await _buffered(self.app, scope, receive)
        malformed = next((f for f in firings if f.spec.kind is FaultKind.MALFORMED), None)
        if malformed is not None and body:  # no body (HEAD, 204) has nothing to garble, and must stay empty
            body = garble(body, malformed.draw.cut)
            MutableHeaders(scope=start)["content-length"] = str(len(body))
        dribble = next((f for f in firings if f.spec.kind is FaultKind.DRIBBLE), None)
        await send(start)
        if dribble is None:
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        chunks = max(1, min(DRIBBLE_CHUNKS, len(body)))
        size = -(-len(body) // chunks) if body else 0
        pause = (dribble.spec.ms or 0) / 1000 / chunks
        for index in range(chunks):
            await self.sleep(pause)
            piece = body[index * size : (index + 1) * size]
            await send({"type": "http.response.body", "body": piece, "more_body": index < chunks - 1})


async def _buffered(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run the city and keep its whole answer (answers are small JSON; the signing buffers them anyway)."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    assert start is not None, "the city returned without answering"
    return start, b"".join(chunks)


def describe(fault: ActiveFault) -> dict[str, Any]:
    """A fault in force as the admin API shows it: its spec and its counters."""
    return {**fault.spec.model_dump(mode="json", exclude_none=True), "matched": fault.matched, "fired": fault.fired}
