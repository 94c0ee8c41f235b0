"""The aiohttp transport under httpx's API: answers arrive whole, and every failure keeps its meaning.

Each test starts a small raw HTTP server on a loopback port (asyncio streams), so the transport meets real
sockets: a refused connection, a connection closed before or during the answer, an answer that never comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from gateway.exchange.registry import CityClient
from gateway.exchange.transport import AiohttpTransport, HttpTransport, city_transport
from gateway.settings import CityEntry, GatewaySettings
from schemas.cities import CityCallStatus

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """``handler`` serving on a free loopback port; on exit, every connection it holds is closed and awaited."""
    handling: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handling.add(task)
        try:
            await handler(reader, writer)
        finally:
            writer.close()
            handling.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(handling):
            task.cancel()
        await asyncio.gather(*handling, return_exceptions=True)
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The request head and body (by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    return head, await reader.readexactly(length) if length else b""


def answer(status: int, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request on the connection with its method line and body, and two headers."""
    while True:
        try:
            head, body = await read_request(reader)
        except asyncio.IncompleteReadError:
            break
        request_line = head.split(b"\r\n")[0]
        writer.write(answer(201, request_line + b"|" + body, "X-Twice: a", "X-Twice: b", "Content-Type: text/plain"))
        await writer.drain()
    writer.close()


async def test_an_answer_arrives_whole_with_status_headers_and_body_over_one_kept_alive_connection() -> None:
    connections = 0

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await echo(reader, writer)

    async with serving(counting) as url:
        transport = AiohttpTransport(limits=httpx.Limits(max_connections=4))
        async with httpx.AsyncClient(base_url=url, transport=transport) as client:
            first = await client.post("/exchange/v1/things?x=1", json={"a": 1}, headers={"X-Request-ID": "r-1"})
            second = await client.get("/exchange/v1/things")
    assert first.status_code == 201
    assert first.content == b'POST /exchange/v1/things?x=1 HTTP/1.1|{"a":1}'
    assert first.headers.get_list("x-twice") == ["a", "b"]
    assert first.text.startswith("POST")
    assert second.content == b"GET /exchange/v1/things HTTP/1.1|"
    assert connections == 1


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        ("closes at once", httpx.RemoteProtocolError),
        ("cuts the body", httpx.RemoteProtocolError),
        ("never answers", httpx.ReadTimeout),
    ],
)
async def test_each_failure_becomes_the_httpx_error_that_says_what_happened(
    behaviour: str, error: type[httpx.TransportError]
) -> None:
    async def failing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if behaviour == "cuts the body":
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{"partial":')
            await writer.drain()
        elif behaviour == "never answers":
            await reader.read()  # until the client gives up and closes the connection
        writer.close()

    async with serving(failing) as url:
        transport = AiohttpTransport(limits=httpx.Limits(max_connections=4))
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=0.3) as client:
            with pytest.raises(error):
                await client.get("/anything")


async def test_a_refused_connection_is_a_connect_error_not_a_timeout() -> None:
    async with serving(echo) as url:
        pass  # the server is gone: its port now refuses
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=4))
    async with httpx.AsyncClient(base_url=url, transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/anything")


def entry(url: str) -> CityEntry:
    return CityEntry(code="430200", name="株洲", name_en="Zhuzhou", url=url, timeout_s=0.5, retries=0)


async def test_through_a_city_client_a_dead_city_is_unavailable_and_a_silent_one_a_timeout() -> None:
    async with serving(echo) as dead_url:
        pass

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # until the client gives up and closes the connection
        writer.close()

    async with serving(silent) as silent_url:
        dead = CityClient(entry(dead_url), max_connections=4, transport=None)
        slow = CityClient(entry(silent_url), max_connections=4, transport=None)
        try:
            down = await dead.person_records(id_number="430203199005129171", service_token="t", request_id="r")
            late = await slow.person_records(id_number="430203199005129171", service_token="t", request_id="r")
        finally:
            await dead.aclose()
            await slow.aclose()
    assert down.status is CityCallStatus.UNAVAILABLE
    assert "ConnectError" in (down.detail or "")
    assert late.status is CityCallStatus.TIMEOUT


def test_the_transport_is_chosen_by_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewaySettings().http_transport is HttpTransport.AIOHTTP
    monkeypatch.setenv("CZT_GATEWAY_HTTP_TRANSPORT", "httpx")
    assert GatewaySettings().http_transport is HttpTransport.HTTPX
    assert isinstance(city_transport(HttpTransport.HTTPX, max_connections=2), httpx.AsyncHTTPTransport)
    assert isinstance(city_transport(HttpTransport.AIOHTTP, max_connections=2), AiohttpTransport)
    monkeypatch.setenv("CZT_GATEWAY_HTTP_TRANSPORT", "carrier-pigeon")
    with pytest.raises(ValueError, match="http_transport"):
        GatewaySettings()
