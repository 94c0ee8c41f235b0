"""The city registry: one long-lived HTTP client per configured city, and what a call's failure means.

Every failure class of a call becomes an explicit :class:`~schemas.cities.CityCallStatus`, so a
slow or dead city degrades an answer and never breaks it::

    httpx.TimeoutException, TimeoutError   → timeout
    httpx.TransportError (refused, reset)  → unavailable
    401 / 403 from the city                → denied
    404 from the city                      → not_found
    any other status, unreadable payload   → error
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from gateway.settings import CityEntry
from schemas.cities import CityCallStatus
from schemas.records import CityHealth, PersonRecords
from schemas.service_token import REQUEST_ID_HEADER

log = logging.getLogger("czt.gateway.exchange")


@dataclass(frozen=True)
class CityOutcome:
    """What one call to one city produced."""

    status: CityCallStatus
    elapsed_ms: int
    records: PersonRecords | None = None
    detail: str | None = None


class CityClient:
    """One city's long-lived client: explicit timeouts, bounded pool, a deadline per call."""

    def __init__(self, entry: CityEntry, *, max_connections: int, transport: httpx.AsyncBaseTransport | None) -> None:
        self.entry = entry
        self._http = httpx.AsyncClient(
            base_url=entry.url,
            timeout=httpx.Timeout(entry.timeout_s, connect=min(entry.timeout_s, 1.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def person_records(self, *, id_number: str, service_token: str, request_id: str) -> CityOutcome:
        """``GET /exchange/v1/persons/{id}/records`` with the service token and the request id."""
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {service_token}", REQUEST_ID_HEADER: request_id}
        try:
            async with asyncio.timeout(self.entry.timeout_s):
                response = await self._http.get(f"/exchange/v1/persons/{id_number}/records", headers=headers)
            status, records, detail = self._interpret(response)
        except (httpx.TimeoutException, TimeoutError):
            status, records, detail = (
                CityCallStatus.TIMEOUT,
                None,
                f"no answer within {self.entry.timeout_s}s",
            )
        except httpx.TransportError as exc:
            status, records, detail = (
                CityCallStatus.UNAVAILABLE,
                None,
                f"{type(exc).__name__}: cannot reach city",
            )
        outcome = CityOutcome(status, _ms_since(started), records, detail)
        log.info("city call city=%s status=%s elapsed_ms=%d", self.entry.code, outcome.status, outcome.elapsed_ms)
        return outcome

    def _interpret(self, response: httpx.Response) -> tuple[CityCallStatus, PersonRecords | None, str | None]:
        if response.status_code == 200:
            try:
                records = PersonRecords.model_validate_json(response.content)
            except ValidationError as exc:
                return (
                    CityCallStatus.ERROR,
                    None,
                    f"payload breaks the exchange standard: {exc.error_count()} errors",
                )
            if records.city.code != self.entry.code:
                return CityCallStatus.ERROR, None, f"answer claims to come from city {records.city.code}"
            return CityCallStatus.OK, records, None
        if response.status_code == 404:
            return CityCallStatus.NOT_FOUND, None, None
        if response.status_code in (401, 403):
            return CityCallStatus.DENIED, None, _problem_detail(response)
        return CityCallStatus.ERROR, None, f"HTTP {response.status_code}: {_problem_detail(response)}"

    async def health(self) -> CityHealth:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.entry.timeout_s):
                response = await self._http.get("/health")
            status = CityCallStatus.OK if response.status_code == 200 else CityCallStatus.ERROR
        except (httpx.TimeoutException, TimeoutError):
            status = CityCallStatus.TIMEOUT
        except httpx.TransportError:
            status = CityCallStatus.UNAVAILABLE
        return CityHealth(city=self.entry.ref, status=status, elapsed_ms=_ms_since(started), url=self.entry.url)


class CityRegistry:
    """Every city the gateway knows, from configuration; the clients live as long as the app."""

    def __init__(
        self,
        entries: list[CityEntry],
        *,
        max_connections: int = 50,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        transports = transports or {}
        self.clients = [
            CityClient(entry, max_connections=max_connections, transport=transports.get(entry.code))
            for entry in entries
        ]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _problem_detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or response.reason_phrase)
    return response.reason_phrase
