"""The city registry: one long-lived HTTP client per configured city, and what a call's failure means.

Every failure class of a call becomes an explicit :class:`~schemas.cities.CityCallStatus`, so a
slow or dead city degrades an answer and never breaks it::

    httpx.TimeoutException, TimeoutError    → timeout
    httpx.TransportError (refused, reset)   → unavailable
    401 / 403 from the city                 → denied
    404 from the city                       → not_found
    200 whose signature does not verify     → error
    any other status, unreadable payload    → error

A 200 answer is trusted only once its ``X-CZT-Signature`` verifies against the city's keys (pinned in
the registry entry, or fetched from its JWKS): see :mod:`commons.response_signing`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from pydantic import ValidationError

from commons.jwks import KeySource, KeysUnavailable, RemoteJwks, StaticKeys
from commons.response_signing import SIGNATURE_HEADER, InvalidResponseSignature, verify_response_signature
from gateway.settings import CityEntry
from schemas.cities import CityCallStatus
from schemas.records import CityHealth, PersonRecords
from schemas.service_token import REQUEST_ID_HEADER
from services.city_rules import CityRules

log = logging.getLogger("czt.gateway.exchange")
T = TypeVar("T")


@dataclass(frozen=True)
class CityOutcome(Generic[T]):
    """What one call to one city produced: a status and, when ``ok``, the payload."""

    status: CityCallStatus
    elapsed_ms: int
    payload: T | None = None
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
        self.keys: KeySource = (
            StaticKeys(entry.jwks) if entry.jwks is not None else RemoteJwks(entry.resolved_jwks_url, self._http)
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def person_records(
        self, *, id_number: str, service_token: str, request_id: str
    ) -> CityOutcome[PersonRecords]:
        """``GET /exchange/v1/persons/{id}/records``: the person's records in canonical form."""
        return await self._exchange(
            f"/exchange/v1/persons/{id_number}/records", self._canonical, service_token, request_id
        )

    async def rules(self, *, service_token: str, request_id: str) -> CityOutcome[CityRules]:
        """``GET /exchange/v1/rules``: the city's own rules in every domain."""
        return await self._exchange("/exchange/v1/rules", self._city_rules, service_token, request_id)

    async def local_document(
        self, *, id_number: str, service_token: str, request_id: str
    ) -> CityOutcome[dict[str, Any]]:
        """``GET /local/v1/persons/{id}``: the same records in the city's own dialect, unmapped."""
        return await self._exchange(f"/local/v1/persons/{id_number}", _json_object, service_token, request_id)

    async def _exchange(
        self, path: str, read: Callable[[httpx.Response], T], service_token: str, request_id: str
    ) -> CityOutcome[T]:
        """One authenticated call under the city's deadline, every failure turned into a status."""
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {service_token}", REQUEST_ID_HEADER: request_id}
        try:
            async with asyncio.timeout(self.entry.timeout_s):
                response = await self._http.get(path, headers=headers)
                outcome = await self._interpret(response, read, started, request_id)
        except (httpx.TimeoutException, TimeoutError):
            outcome = CityOutcome(
                CityCallStatus.TIMEOUT, _ms_since(started), detail=f"no answer within {self.entry.timeout_s}s"
            )
        except httpx.TransportError as exc:
            outcome = CityOutcome(
                CityCallStatus.UNAVAILABLE, _ms_since(started), detail=f"{type(exc).__name__}: cannot reach city"
            )
        log.info("city call city=%s path=%s status=%s elapsed_ms=%d", self.entry.code, path, outcome.status,
                 outcome.elapsed_ms)  # fmt: skip
        return outcome

    async def _interpret(
        self, response: httpx.Response, read: Callable[[httpx.Response], T], started: float, request_id: str
    ) -> CityOutcome[T]:
        elapsed = _ms_since(started)
        if response.status_code == 200:
            try:
                await verify_response_signature(
                    response.headers.get(SIGNATURE_HEADER),
                    body=response.content,
                    status=response.status_code,
                    keys=self.keys,
                    issuer=self.entry.code,
                    request_id=request_id,
                )
            except (InvalidResponseSignature, KeysUnavailable) as exc:
                return CityOutcome(CityCallStatus.ERROR, _ms_since(started), detail=f"untrusted answer: {exc}")
            try:
                return CityOutcome(CityCallStatus.OK, elapsed, read(response))
            except (ValidationError, ValueError) as exc:
                return CityOutcome(CityCallStatus.ERROR, elapsed, detail=f"payload breaks the exchange standard: {exc}")
        if response.status_code == 404:
            return CityOutcome(CityCallStatus.NOT_FOUND, elapsed)
        if response.status_code in (401, 403):
            return CityOutcome(CityCallStatus.DENIED, elapsed, detail=_problem_detail(response))
        return CityOutcome(
            CityCallStatus.ERROR, elapsed, detail=f"HTTP {response.status_code}: {_problem_detail(response)}"
        )

    def _city_rules(self, response: httpx.Response) -> CityRules:
        rules = CityRules.model_validate_json(response.content)
        if rules.city.code != self.entry.code:
            raise ValueError(f"answer claims to come from city {rules.city.code}")
        return rules

    def _canonical(self, response: httpx.Response) -> PersonRecords:
        try:
            records = PersonRecords.model_validate_json(response.content)
        except ValidationError as exc:
            raise ValueError(f"{exc.error_count()} invalid fields") from None
        if records.city.code != self.entry.code:
            raise ValueError(f"answer claims to come from city {records.city.code}")
        return records

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

    def client_for(self, city_code: str) -> CityClient | None:
        return next((client for client in self.clients if client.entry.code == city_code), None)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError("a local document must be a JSON object")
    return body


def _problem_detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or response.reason_phrase)
    return response.reason_phrase
