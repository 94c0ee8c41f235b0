"""How the gateway's city clients move bytes: httpx's API over aiohttp's connection pool, or httpx's own.

The registry speaks httpx everywhere (requests, responses, timeouts, exceptions, test transports). What sits
under it is chosen by ``CZT_GATEWAY_HTTP_TRANSPORT``, on evidence (docs/performance.md, ``make bench``):

    aiohttp   the default: :class:`AiohttpTransport`, aiohttp's C-accelerated HTTP/1.1 parser and keep-alive pool
    httpx     httpx's default transport (httpcore), whose pool costs much more per request under concurrency
              (encode/httpx#3215)

:class:`AiohttpTransport` reads each answer whole (a city's answer is a few kilobytes, and the registry reads it
whole anyway) and maps aiohttp's failures onto the httpx exceptions the registry already interprets, keeping
what they mean: a refused connection is a ``ConnectError`` (the city is down), never a timeout; a connection
cut before or during the answer is a ``RemoteProtocolError`` or ``ReadError`` (the city is unavailable); only a
deadline passing is a ``TimeoutException``. (The ``httpx-aiohttp`` package maps every aiohttp connection error,
refusals and resets included, to ``ConnectTimeout``, which would report a dead city as a slow one.)
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

import aiohttp
import httpx


class HttpTransport(StrEnum):
    """What carries the gateway's calls to the cities (``CZT_GATEWAY_HTTP_TRANSPORT``)."""

    AIOHTTP = "aiohttp"
    HTTPX = "httpx"


def city_transport(kind: HttpTransport, *, max_connections: int) -> httpx.AsyncBaseTransport:
    """A transport for one city's client, its pool bounded to ``max_connections`` kept-alive connections."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    if kind is HttpTransport.HTTPX:
        return httpx.AsyncHTTPTransport(limits=limits)
    return AiohttpTransport(limits=limits)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends each request through one aiohttp session (created on first use, inside the
    running event loop) and returns the answer read whole."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                keepalive_timeout=self._limits.keepalive_expiry or 5.0,
            )
            # No cookie jar: a city's cookies must never travel with another resident's request.
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        try:
            async with self._client().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            ) as answer:
                content = await answer.read()
        except Exception as exc:
            mapped = _httpx_error(exc)
            if mapped is None:
                raise
            raise mapped from exc
        return httpx.Response(
            status_code=answer.status,
            headers=answer.raw_headers,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _httpx_error(exc: Exception) -> httpx.TransportError | None:
    """The httpx exception that says what ``exc`` (raised by aiohttp) means; None for anything else."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return httpx.ReadError(message)
    return None
