"""``X-CZT-Decision-Id`` on every response whose request a policy decided.

The decision is made deep inside a flow; the header is written by this pure ASGI middleware, which hands
the handler a mutable slot through a context variable (a context variable *set* in the handler would not
be seen out here, but an object it points to can be filled in).
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DECISION_ID_HEADER = "X-CZT-Decision-Id"

_slot: ContextVar[list[str] | None] = ContextVar("czt_decision_ids", default=None)


def note_decision(decision_id: str) -> None:
    """Remember ``decision_id`` for the response of the request being handled (no-op outside one)."""
    slot = _slot.get()
    if slot is not None and decision_id not in slot:
        slot.append(decision_id)


class DecisionIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decisions: list[str] = []
        token = _slot.set(decisions)

        async def send_with_decision(message: Message) -> None:
            if message["type"] == "http.response.start" and decisions:
                MutableHeaders(scope=message)[DECISION_ID_HEADER] = ",".join(decisions)
            await send(message)

        try:
            await self.app(scope, receive, send_with_decision)
        finally:
            _slot.reset(token)
