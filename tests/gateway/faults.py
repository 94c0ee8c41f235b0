"""Transports that make a city misbehave, for in-process tests of the gateway's fan-out."""

from __future__ import annotations

import asyncio

import httpx

from mock_cities.sandbox.faults import ConnectionCut


class DeadCity(httpx.AsyncBaseTransport):
    """Connection refused, as from a stopped process."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


class SlowCity(httpx.AsyncBaseTransport):
    """Answers long after any sane deadline."""

    def __init__(self, delay_s: float = 30.0) -> None:
        self.delay_s = delay_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.delay_s)
        return httpx.Response(200, json={}, request=request)


class BrokenCity(httpx.AsyncBaseTransport):
    """Answers every call with a fixed status and body."""

    def __init__(self, status: int = 500, body: object | None = None) -> None:
        self.status = status
        self.body = body if body is not None else {"title": "Internal error"}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.status, json=self.body, request=request)


class Recording(httpx.AsyncBaseTransport):
    """Passes calls through and keeps every request, to see what the gateway sent a city."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


class CityTransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` to a city app, where a sandbox ``reset`` fault looks as it does over a socket.

    In-process, an exception the app raises after its answer started surfaces as itself; uvicorn would close the
    connection instead, and the client would see an incomplete answer (``httpx.RemoteProtocolError``).
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionCut as exc:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            ) from exc
