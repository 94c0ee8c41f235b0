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

Each client also carries the city's resilience (:mod:`gateway.exchange.resilience`, docs/resilience.md):
a circuit breaker consulted before every call (open → ``unavailable`` at once, the city never asked),
and, for idempotent reads (GET) only, bounded retries with jittered backoff on transient failures —
all within the one deadline of the call, so a fan-out returns in time even when a city hangs forever.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from pydantic import ValidationError

from commons import server_timing
from commons.jwks import KeySource, KeysUnavailable, RemoteJwks, StaticKeys
from commons.response_signing import SIGNATURE_HEADER, InvalidResponseSignature, verify_response_signature
from gateway.exchange import metrics
from gateway.exchange.resilience import (
    BreakerTransition,
    CircuitBreaker,
    Permit,
    RetryPolicy,
    counts_against_city,
)
from gateway.exchange.transport import HttpTransport, city_transport
from gateway.settings import CityEntry
from schemas.cities import BreakerState, CityCallStatus
from schemas.credentials import CredentialRequest, CredentialRevocation, IssuedCredential, RevocationRequest
from schemas.medical_insurance import (
    Filing,
    FilingApplication,
    FilingList,
    MedicalInsuranceRecord,
    SettlementRequest,
    SettlementStatement,
)
from schemas.records import CityHealth, PersonRecords
from schemas.service_token import REQUEST_ID_HEADER
from services.city_rules import CityRules
from services.provident_fund.models import TransferSlip

log = logging.getLogger("czt.gateway.exchange")
T = TypeVar("T")


@dataclass(frozen=True)
class CityOutcome(Generic[T]):
    """What one call to one city produced: a status and, when ``ok``, the payload."""

    status: CityCallStatus
    elapsed_ms: int
    payload: T | None = None
    detail: str | None = None
    http_status: int | None = None
    """The city's HTTP status, when it answered at all."""
    problem_type: str | None = None
    """The ``type`` of the city's problem+json answer, when it gave one."""
    attempts: int = 1
    """Requests sent: more than 1 when a read was retried, 0 when the breaker kept the call from the city."""
    breaker: BreakerState = BreakerState.CLOSED
    """The city's circuit breaker after the call."""
    served_ms: float | None = None
    """How long the city says it took over its (last) answer: the ``total`` of its ``Server-Timing``, if sent."""


RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
"""Answers that say "not now" rather than "no": throttled, or a proxy in front of the city cannot reach it."""

RETRYABLE_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ConnectTimeout)
"""Transport failures worth another attempt: refused or reset connections, a connection closed before the
answer (a stale keep-alive), a connect that took too long. Not a read timeout: the city may still be at
work, and a second request would only add to its load."""

Answer = httpx.Response | httpx.TransportError
"""What one attempt got: the city's answer, or why there was none."""


class CityClient:
    """One city's long-lived client: explicit timeouts, bounded pool, a deadline per call, a circuit breaker
    and retries of reads."""

    def __init__(
        self,
        entry: CityEntry,
        *,
        max_connections: int,
        transport: httpx.AsyncBaseTransport | None,
        http_transport: HttpTransport = HttpTransport.AIOHTTP,
    ) -> None:
        self.entry = entry
        self.breaker = CircuitBreaker(
            failure_threshold=entry.breaker_failures, open_s=entry.breaker_open_s, on_transition=self._breaker_moved
        )
        self.retry = RetryPolicy(
            attempts=1 + entry.retries, base_s=entry.retry_backoff_s, max_s=entry.retry_backoff_max_s
        )
        metrics.show_breaker(entry.code, self.breaker.state)
        self._http = httpx.AsyncClient(
            base_url=entry.url,
            timeout=httpx.Timeout(entry.timeout_s, connect=min(entry.timeout_s, 1.0)),
            transport=transport or city_transport(http_transport, max_connections=max_connections),
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
            f"/exchange/v1/persons/{id_number}/records",
            lambda response: self._canonical(response, id_number),
            service_token,
            request_id,
        )

    async def rules(self, *, service_token: str, request_id: str) -> CityOutcome[CityRules]:
        """``GET /exchange/v1/rules``: the city's own rules in every domain."""
        return await self._exchange("/exchange/v1/rules", self._city_rules, service_token, request_id)

    async def local_document(
        self, *, id_number: str, service_token: str, request_id: str
    ) -> CityOutcome[dict[str, Any]]:
        """``GET /local/v1/persons/{id}``: the same records in the city's own dialect, unmapped."""
        return await self._exchange(f"/local/v1/persons/{id_number}", _json_object, service_token, request_id)

    async def issue_credential(
        self, *, id_number: str, request: CredentialRequest, service_token: str, request_id: str
    ) -> CityOutcome[IssuedCredential]:
        """``POST /exchange/v1/persons/{id}/credentials``: a credential signed by the city on one of its records."""
        return await self._exchange(
            f"/exchange/v1/persons/{id_number}/credentials",
            self._issued_credential,
            service_token,
            request_id,
            method="POST",
            json=request.model_dump(mode="json", exclude_none=True),
        )

    async def revoke_credential(
        self, *, jti: str, request: RevocationRequest, service_token: str, request_id: str
    ) -> CityOutcome[CredentialRevocation]:
        """``POST /exchange/v1/credentials/{jti}/revoke``: the city revokes a credential it issued."""
        return await self._exchange(
            f"/exchange/v1/credentials/{jti}/revoke",
            self._revocation,
            service_token,
            request_id,
            method="POST",
            json=request.model_dump(mode="json"),
        )

    async def status_list(self, *, service_token: str, request_id: str) -> CityOutcome[str]:
        """``GET /exchange/v1/credentials/status-list``: the city's signed status list (a compact JWS, unverified)."""
        return await self._exchange("/exchange/v1/credentials/status-list", _compact_jws, service_token, request_id)

    async def transfer_step(
        self, *, step: str, transfer_id: str, body: dict[str, Any] | None, service_token: str, request_id: str
    ) -> CityOutcome[TransferSlip]:
        """``POST /exchange/v1/provident-fund/transfers/{id}/{step}``: one idempotent step of a fund transfer."""
        return await self._exchange(
            f"/exchange/v1/provident-fund/transfers/{transfer_id}/{step}",
            _transfer_slip,
            service_token,
            request_id,
            method="POST",
            json=body,
        )

    async def medical_insurance(
        self, *, id_number: str, service_token: str, request_id: str
    ) -> CityOutcome[MedicalInsuranceRecord]:
        """``GET /exchange/v1/persons/{id}/medical-insurance``: the person's 医保 enrolment here, and nothing else."""
        return await self._exchange(
            f"/exchange/v1/persons/{id_number}/medical-insurance",
            _medical_insurance,
            service_token,
            request_id,
        )

    async def file_treatment(
        self, *, id_number: str, application: FilingApplication, service_token: str, request_id: str
    ) -> CityOutcome[Filing]:
        """``POST /exchange/v1/persons/{id}/medical-insurance/filings``: the insuring city keeps a 异地就医备案."""
        return await self._exchange(
            f"/exchange/v1/persons/{id_number}/medical-insurance/filings",
            self._filing,
            service_token,
            request_id,
            method="POST",
            json=application.model_dump(mode="json"),
        )

    async def treatment_filings(
        self, *, id_number: str, service_token: str, request_id: str
    ) -> CityOutcome[FilingList]:
        """``GET /exchange/v1/persons/{id}/medical-insurance/filings``: every filing the insuring city keeps."""
        return await self._exchange(
            f"/exchange/v1/persons/{id_number}/medical-insurance/filings", self._filing_list, service_token, request_id
        )

    async def cancel_filing(
        self, *, id_number: str, filing_id: str, service_token: str, request_id: str
    ) -> CityOutcome[Filing]:
        """``POST /exchange/v1/persons/{id}/medical-insurance/filings/{filing_id}/cancel``."""
        return await self._exchange(
            f"/exchange/v1/persons/{id_number}/medical-insurance/filings/{filing_id}/cancel",
            self._filing,
            service_token,
            request_id,
            method="POST",
        )

    async def settle_claim(
        self, *, request: SettlementRequest, service_token: str, request_id: str
    ) -> CityOutcome[SettlementStatement]:
        """``POST /exchange/v1/medical-insurance/claims``: 异地就医直接结算 by the insuring city's rules."""
        return await self._exchange(
            "/exchange/v1/medical-insurance/claims",
            self._statement,
            service_token,
            request_id,
            method="POST",
            json=request.model_dump(mode="json"),
        )

    async def _exchange(
        self,
        path: str,
        read: Callable[[httpx.Response], T],
        service_token: str,
        request_id: str,
        *,
        method: str = "GET",
        json: Any = None,
    ) -> CityOutcome[T]:
        """One authenticated call under the city's deadline, every failure turned into a status.

        The breaker decides first whether the city is asked at all. A GET is retried on transient
        failures; anything else is sent once: even a write that is idempotent on its key is left to the
        flow that owns it (the transfer saga, the claim's caller), which knows when a repeat is wanted.
        """
        permit = self.breaker.admit()
        if permit is None:
            return self._short_circuited(path)
        started = time.perf_counter()
        try:
            outcome = await self._call(path, read, service_token, request_id, method=method, json=json)
        except BaseException:
            self.breaker.release(permit)  # cancelled: no result to judge the city by
            raise
        self._judge(permit, outcome)
        outcome = dataclasses.replace(outcome, breaker=self.breaker.state)
        spent = time.perf_counter() - started
        metrics.observe_call(self.entry.code, outcome.status, spent)
        server_timing.record(f"city-{self.entry.code}", spent * 1000, outcome.status.value)
        if outcome.served_ms is not None:
            server_timing.record(f"served-{self.entry.code}", outcome.served_ms)
        log.info("city call city=%s method=%s path=%s status=%s attempts=%d breaker=%s elapsed_ms=%d",
                 self.entry.code, method, path, outcome.status, outcome.attempts, outcome.breaker,
                 outcome.elapsed_ms)  # fmt: skip
        return outcome

    async def _call(
        self,
        path: str,
        read: Callable[[httpx.Response], T],
        service_token: str,
        request_id: str,
        *,
        method: str,
        json: Any,
    ) -> CityOutcome[T]:
        """The attempts (one, or up to the policy's for a GET) and the interpretation, under one deadline."""
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {service_token}", REQUEST_ID_HEADER: request_id}
        policy = self.retry if method == "GET" else self.retry.once
        attempts = 0

        async def attempt() -> Answer:
            nonlocal attempts
            attempts += 1
            try:
                return await self._http.request(method, path, headers=headers, json=json)
            except httpx.TransportError as exc:
                return exc

        def retrying(number: int, answer: Answer, wait_s: float) -> None:
            metrics.count_retry(self.entry.code)
            log.info("city retry city=%s path=%s attempt=%d failed=%s wait_ms=%d", self.entry.code, path, number,
                     _describe(answer), wait_s * 1000)  # fmt: skip

        # Taken before the timeout starts, so a retry never sleeps to the very edge of it.
        deadline = time.monotonic() + self.entry.timeout_s
        try:
            async with asyncio.timeout(self.entry.timeout_s):
                answered = await policy.run(attempt, retry_if=_worth_retrying, deadline=deadline, on_retry=retrying)
                if isinstance(answered.result, httpx.TransportError):
                    raise answered.result
                outcome = await self._interpret(answered.result, read, started, request_id)
                outcome = dataclasses.replace(outcome, served_ms=_served_ms(answered.result))
        except (httpx.TimeoutException, TimeoutError):
            outcome = CityOutcome(
                CityCallStatus.TIMEOUT,
                _ms_since(started),
                detail=f"no answer within {self.entry.timeout_s}s{_tries(attempts)}",
            )
        except httpx.TransportError as exc:
            outcome = CityOutcome(
                CityCallStatus.UNAVAILABLE,
                _ms_since(started),
                detail=f"{type(exc).__name__}: cannot reach city{_tries(attempts)}",
            )
        return dataclasses.replace(outcome, attempts=attempts)

    def _judge(self, permit: Permit, outcome: CityOutcome[Any]) -> None:
        failed = counts_against_city(outcome.status, outcome.http_status)
        self.breaker.record(permit, failure=f"{outcome.status}: {outcome.detail}" if failed else None)

    def _short_circuited(self, path: str) -> CityOutcome[Any]:
        state = self.breaker.state
        if state is BreakerState.OPEN:
            why = (
                f"circuit open after {self.breaker.consecutive_failures} failed calls in a row "
                f"(last: {self.breaker.last_failure}); next trial in {self.breaker.retry_in_s():.1f}s"
            )
        else:
            why = "circuit half-open: one trial call is in flight, others are refused until it succeeds"
        metrics.count_short_circuit(self.entry.code)
        log.info("city call city=%s path=%s short-circuited breaker=%s", self.entry.code, path, state)
        return CityOutcome(CityCallStatus.UNAVAILABLE, 0, detail=why, attempts=0, breaker=state)

    def _breaker_moved(self, transition: BreakerTransition) -> None:
        metrics.breaker_moved(self.entry.code, transition.after)
        level = logging.INFO if transition.after is BreakerState.HALF_OPEN else logging.WARNING
        log.log(level, "circuit breaker city=%s %s -> %s consecutive_failures=%d: %s", self.entry.code,
                transition.before, transition.after, transition.consecutive_failures, transition.reason)  # fmt: skip

    async def _interpret(
        self, response: httpx.Response, read: Callable[[httpx.Response], T], started: float, request_id: str
    ) -> CityOutcome[T]:
        elapsed, code = _ms_since(started), response.status_code
        if code == 200:
            with server_timing.timed("check"):  # the signature and the exchange standard, together
                return await self._check(response, read, elapsed, request_id)
        if code == 404:
            return CityOutcome(CityCallStatus.NOT_FOUND, elapsed, http_status=code)
        if code in (401, 403):
            return CityOutcome(CityCallStatus.DENIED, elapsed, detail=_problem_detail(response), http_status=code)
        return CityOutcome(
            CityCallStatus.ERROR,
            elapsed,
            detail=f"HTTP {code}: {_problem_detail(response)}",
            http_status=code,
            problem_type=_problem_type(response),
        )

    async def _check(
        self, response: httpx.Response, read: Callable[[httpx.Response], T], elapsed: int, request_id: str
    ) -> CityOutcome[T]:
        """A 200 answer, trusted once its signature verifies, then read as the exchange standard says."""
        code = response.status_code
        try:
            await verify_response_signature(
                response.headers.get(SIGNATURE_HEADER),
                body=response.content,
                status=code,
                keys=self.keys,
                issuer=self.entry.code,
                request_id=request_id,
            )
        except (InvalidResponseSignature, KeysUnavailable) as exc:
            return CityOutcome(CityCallStatus.ERROR, elapsed, detail=f"untrusted answer: {exc}", http_status=code)
        try:
            return CityOutcome(CityCallStatus.OK, elapsed, read(response), http_status=code)
        except (ValidationError, ValueError) as exc:
            return CityOutcome(CityCallStatus.ERROR, elapsed, detail=f"payload breaks the exchange standard: {exc}")

    def _filing(self, response: httpx.Response) -> Filing:
        filing = Filing.model_validate_json(response.content)
        if filing.insuring_city.code != self.entry.code:
            raise ValueError(f"filing claims to be kept by city {filing.insuring_city.code}")
        return filing

    def _filing_list(self, response: httpx.Response) -> FilingList:
        filings = FilingList.model_validate_json(response.content)
        keepers = {filings.city.code} | {filing.insuring_city.code for filing in filings.filings}
        if keepers != {self.entry.code}:
            raise ValueError("filings claim to be kept by another city")
        return filings

    def _statement(self, response: httpx.Response) -> SettlementStatement:
        statement = SettlementStatement.model_validate_json(response.content)
        if statement.insuring_city.code != self.entry.code or statement.rules.city.code != self.entry.code:
            raise ValueError(f"statement claims to come from city {statement.insuring_city.code}")
        return statement

    def _city_rules(self, response: httpx.Response) -> CityRules:
        rules = CityRules.model_validate_json(response.content)
        if rules.city.code != self.entry.code:
            raise ValueError(f"answer claims to come from city {rules.city.code}")
        return rules

    def _issued_credential(self, response: httpx.Response) -> IssuedCredential:
        issued = IssuedCredential.model_validate_json(response.content)
        if issued.claims.iss != self.entry.code:
            raise ValueError(f"credential claims to come from city {issued.claims.iss}")
        return issued

    def _revocation(self, response: httpx.Response) -> CredentialRevocation:
        revocation = CredentialRevocation.model_validate_json(response.content)
        if revocation.issuer != self.entry.code:
            raise ValueError(f"revocation claims to come from city {revocation.issuer}")
        return revocation

    def _canonical(self, response: httpx.Response, id_number: str) -> PersonRecords:
        try:
            records = PersonRecords.model_validate_json(response.content)
        except ValidationError as exc:
            raise ValueError(f"{exc.error_count()} invalid fields") from None
        if records.city.code != self.entry.code:
            raise ValueError(f"answer claims to come from city {records.city.code}")
        if records.person.id_number != id_number:
            # Identity mismatch: records of someone else must never be shown as this person's.
            raise ValueError("answer is about another person than the one asked for")
        return records

    async def health(self) -> CityHealth:
        """``GET /health`` of the city, under its deadline, never retried; with the breaker's state."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.entry.timeout_s):
                response = await self._http.get("/health")
            status = CityCallStatus.OK if response.status_code == 200 else CityCallStatus.ERROR
        except (httpx.TimeoutException, TimeoutError):
            status = CityCallStatus.TIMEOUT
        except httpx.TransportError:
            status = CityCallStatus.UNAVAILABLE
        # The probe bypasses the breaker, and does not move it: /health answering says little about
        # the exchange routes, but seeing it answer again while the breaker is open is how one sees a
        # city come back.
        return CityHealth(
            city=self.entry.ref,
            status=status,
            elapsed_ms=_ms_since(started),
            url=self.entry.url,
            breaker=self.breaker.state,
        )


class CityNotInRegistry(Exception):
    """The city code names no city the gateway knows."""


class CityRegistry:
    """Every city the gateway knows, from configuration; the clients live as long as the app."""

    def __init__(
        self,
        entries: list[CityEntry],
        *,
        max_connections: int = 50,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        http_transport: HttpTransport = HttpTransport.AIOHTTP,
    ) -> None:
        """``transports`` (by city code) replace the real ones in tests; ``http_transport`` makes the real ones."""
        transports = transports or {}
        self.clients = [
            CityClient(
                entry,
                max_connections=max_connections,
                transport=transports.get(entry.code),
                http_transport=http_transport,
            )
            for entry in entries
        ]

    @property
    def codes(self) -> list[str]:
        return [client.entry.code for client in self.clients]

    def client_for(self, city_code: str) -> CityClient | None:
        return next((client for client in self.clients if client.entry.code == city_code), None)

    def require(self, city_code: str) -> CityClient:
        """The city's client; :class:`CityNotInRegistry` when the code names no configured city."""
        client = self.client_for(city_code)
        if client is None:
            raise CityNotInRegistry(f"no city with code {city_code} in the registry")
        return client

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _served_ms(response: httpx.Response) -> float | None:
    """The ``total`` of the city's ``Server-Timing`` (its own time for this answer); None if it sent none."""
    header = response.headers.get(server_timing.SERVER_TIMING_HEADER)
    if not header:
        return None
    try:
        total = server_timing.parse(header).get(server_timing.TOTAL)
    except ValueError:  # a city's header is its own business: one the gateway cannot read is left out
        return None
    return None if total is None else total[0]


def _worth_retrying(answer: Answer) -> bool:
    if isinstance(answer, httpx.Response):
        return answer.status_code in RETRYABLE_STATUSES
    return isinstance(answer, RETRYABLE_ERRORS)


def _tries(attempts: int) -> str:
    return f" ({attempts} attempts)" if attempts > 1 else ""


def _describe(answer: Answer) -> str:
    return f"HTTP {answer.status_code}" if isinstance(answer, httpx.Response) else type(answer).__name__


def _transfer_slip(response: httpx.Response) -> TransferSlip:
    return TransferSlip.model_validate_json(response.content)


def _medical_insurance(response: httpx.Response) -> MedicalInsuranceRecord:
    return MedicalInsuranceRecord.model_validate_json(response.content)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError("a local document must be a JSON object")
    return body


def _compact_jws(response: httpx.Response) -> str:
    token = response.text.strip()
    if token.count(".") != 2:
        raise ValueError("not a compact JWS")
    return token


def _problem_type(response: httpx.Response) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    return str(body["type"]) if isinstance(body, dict) and "type" in body else None


def _problem_detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or response.reason_phrase)
    return response.reason_phrase
