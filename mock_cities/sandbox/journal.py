"""The request journal: what this city received, newest first, in a bounded in-memory ring buffer.

Each entry is one request outside ``/_admin``: when, method, path, query, the request id the caller sent (the
gateway sends its own, so a gateway answer can be traced to the city calls it made), who the service token says
is asking (its claims, read without verification — never the token itself), the status the caller really got
(after faults), how long it took, which faults fired and how many bytes went back. Like WireMock's request
journal, but with the exchange's own vocabulary (purpose, decision id).
"""

from __future__ import annotations

import fnmatch
import itertools
import time
from collections import deque
from datetime import UTC, datetime

from jose import JWTError, jwt
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commons.request_id import current_request_id
from mock_cities.sandbox.faults import ADMIN_PREFIX, SCOPE_KEY

CLAIMS_SHOWN = ("iss", "aud", "sub", "client_id", "purpose", "decision_id", "jti")


class CallerSummary(BaseModel):
    """The service token's claims that say who asked and why (unverified: the city itself verifies them)."""

    iss: str | None = None
    aud: str | None = None
    sub: str | None = None
    client_id: str | None = None
    purpose: str | None = None
    decision_id: str | None = None
    jti: str | None = None
    readable: bool = Field(default=True, description="False when the bearer token was not a JWT at all")


class JournalEntry(BaseModel):
    seq: int
    at: datetime
    method: str
    path: str
    query: str
    request_id: str
    caller: CallerSummary | None = Field(description="None when the request carried no bearer token")
    status: int | None = Field(description="The status sent (after faults); None when nothing was sent")
    completed: bool = Field(description="False when the answer was cut (a reset fault) or the city failed")
    elapsed_ms: float
    faults: list[str] = Field(description="The faults that fired, as <id>:<kind>")
    response_bytes: int


class Journal:
    """The last ``size`` requests. Used from the event loop only."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._last_seq = 0
        self._cleared_at_seq = 0
        """Requests numbered up to this one arrived before the journal was last emptied."""

    def next_seq(self) -> int:
        """The number of a request that has just arrived (its entry is recorded when it ends)."""
        self._last_seq += 1
        return self._last_seq

    def record(self, entry: JournalEntry) -> None:
        """Keep ``entry``, unless its request arrived before the journal was last emptied: one still in flight
        then (say, sleeping through a latency fault when the sandbox was reset) must not reappear after it."""
        if entry.seq > self._cleared_at_seq:
            self._entries.append(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, *, path: str | None = None, request_id: str | None = None, limit: int = 100) -> list[JournalEntry]:
        """Newest first; ``path`` is a glob on the URL path, ``request_id`` exact."""
        found = (
            entry
            for entry in reversed(self._entries)
            if (path is None or fnmatch.fnmatchcase(entry.path, path))
            and (request_id is None or entry.request_id == request_id)
        )
        return list(itertools.islice(found, limit))

    def clear(self) -> int:
        """Empty the journal, of the requests still in flight too; how many entries it held."""
        count = len(self._entries)
        self._entries.clear()
        self._cleared_at_seq = self._last_seq
        return count


def caller_summary(authorization: str | None) -> CallerSummary | None:
    """The claims of a bearer token, without the token; None when there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return CallerSummary(readable=False)
    try:
        claims = jwt.get_unverified_claims(token.strip())
    except JWTError:
        return CallerSummary(readable=False)
    shown = {}
    for name in CLAIMS_SHOWN:
        value = claims.get(name)
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        shown[name] = None if value is None else str(value)
    return CallerSummary(**shown)


class JournalMiddleware:
    """Pure ASGI middleware recording every request outside ``/_admin`` once its answer is sent (or cut)."""

    def __init__(self, app: ASGIApp, *, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        started, at = time.perf_counter(), datetime.now(UTC)
        seq = self.journal.next_seq()
        status: int | None = None
        sent = 0
        completed = False

        async def watch(message: Message) -> None:
            nonlocal status, sent, completed
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
                completed = not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            headers = dict(scope.get("headers", []))
            self.journal.record(
                JournalEntry(
                    seq=seq,
                    at=at,
                    method=str(scope["method"]),
                    path=path,
                    query=bytes(scope.get("query_string", b"")).decode("latin-1"),
                    request_id=current_request_id(),
                    caller=caller_summary(headers.get(b"authorization", b"").decode("latin-1") or None),
                    status=status,
                    completed=completed,
                    elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
                    faults=list(scope.get(SCOPE_KEY, [])),
                    response_bytes=sent,
                )
            )
