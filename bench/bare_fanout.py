"""A bare fan-out: the least a FastAPI gateway can do for a lookup, measured beside the real one (``make bench``).

The exchange benchmark's fan-out and overhead targets leave the gateway 1.5–2.5 ms above the floor (the three
cities answering at once). This app says what the same stack costs with nothing of a gateway's work in it: uvicorn
(uvloop, httptools), FastAPI, one ``httpx.AsyncClient`` per city over the gateway's own aiohttp transport, the three
calls sent at once and their bodies joined into one JSON array. No access token, policy, consent, audit, service
token minting, retries, signature checks, validation or release: it forwards three fixed calls (``CALLS_ENV``, the
benchmark's direct calls, their service tokens already minted). A reading, not a product: it lives in ``bench/``.

    CZT_BENCH_BARE_CALLS='[{"url": "...", "headers": {...}}, ...]' \
        python -m uvicorn --factory bench.bare_fanout:create_app --port 9000 --no-access-log
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Response

from gateway.exchange.transport import HttpTransport, city_transport

CALLS_ENV = "CZT_BENCH_BARE_CALLS"
"""The calls to fan out to, as JSON: a list of ``{"url": …, "headers": {…}}``."""
PATH = "/records"


def create_app(calls: Sequence[dict[str, Any]] | None = None) -> FastAPI:
    """The bare fan-out over ``calls`` (default: ``CALLS_ENV``); ``GET /records`` sends them all at once."""
    targets = list(calls if calls is not None else json.loads(os.environ[CALLS_ENV]))
    clients = [
        httpx.AsyncClient(transport=city_transport(HttpTransport.AIOHTTP, max_connections=50), timeout=30)
        for _ in targets
    ]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.gather(*(client.aclose() for client in clients))

    app = FastAPI(title="CZT bench: bare fan-out", lifespan=lifespan)

    @app.get(PATH)
    async def records() -> Response:
        answers = await asyncio.gather(
            *(client.get(call["url"], headers=call["headers"]) for client, call in zip(clients, targets, strict=True))
        )
        if any(answer.status_code != 200 for answer in answers):
            failed = [str(answer.url) for answer in answers if answer.status_code != 200]
            return Response(json.dumps({"failed": failed}), status_code=502, media_type="application/json")
        return Response(b"[" + b",".join(answer.content for answer in answers) + b"]", media_type="application/json")

    return app


@contextmanager
def bare_fanout(calls: Sequence[dict[str, Any]], *, port: int, timeout_s: float = 60) -> Iterator[int]:
    """The bare fan-out over ``calls`` in a uvicorn process of its own on ``port`` (as ``czt run`` starts the
    gateway); its process id while it runs."""
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.bare_fanout:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, env={**os.environ, CALLS_ENV: json.dumps(list(calls))})  # noqa: S603
    try:
        deadline = time.monotonic() + timeout_s
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bare fan-out did not start on port {port} (exit {process.poll()})")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
