"""Request ids: taken from ``X-Request-ID`` when the caller sent a sane one, generated otherwise.

The id is kept in a context variable for logs and handlers, and echoed on every response.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.service_token import REQUEST_ID_HEADER

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str] = ContextVar("czt_request_id", default="-")


def current_request_id() -> str:
    """The id of the request being handled ('-' outside a request)."""
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it would break streaming and contextvars)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = sent if _SANE.match(sent) else new_request_id()
        token = _current.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
