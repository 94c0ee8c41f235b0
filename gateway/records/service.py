"""Fan-out: ask every city at once, each under its own deadline, and assemble a partial-tolerant answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from gateway.auth.models import Principal
from gateway.exchange.registry import CityClient, CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.policy.service import Governance, Verdict, decide
from governance.catalogue import SERVICES, Service
from schemas.cities import BreakerState, CityCallStatus, CityRef
from schemas.purposes import Purpose
from schemas.records import CityResult, HealthResponse, LocalDocumentResponse, PersonRecords, RecordsResponse
from services.city_rules import CityRules

T = TypeVar("T")

ANSWERED = frozenset({CityCallStatus.OK, CityCallStatus.NOT_FOUND})
"""Statuses of a city that answered: a fan-out is complete when every city did."""


class ResidentNotFound(Exception):
    """No city holds any record on this ID number."""


class CityCallFailed(Exception):
    """A single-city request could not be answered because the city failed (timeout, unavailable, error)."""


class FetchedCity(BaseModel):
    """One city's part of a fan-out, whole and typed: what a flow computes on inside the gateway."""

    city: CityRef
    status: CityCallStatus
    elapsed_ms: int
    records: PersonRecords | None = None
    detail: str | None = None
    attempts: int = 1
    breaker: BreakerState = BreakerState.CLOSED


class FetchedRecords(BaseModel):
    """Every city's records on one person, before release: never sent to a caller as it is."""

    request_id: str
    id_number: str
    complete: bool
    cities: list[FetchedCity]


def service_token(minter: ServiceTokenMinter, client: CityClient, *, principal: Principal, verdict: Verdict) -> str:
    """The gateway-signed token for one call to ``client``, carrying the verdict's purpose and decision id."""
    return minter.mint(
        city_code=client.entry.code,
        subject=principal.subject,
        client_id=principal.client_id,
        purpose=verdict.purpose,
        decision_id=verdict.decision_id,
    )


async def ask_every_city(registry: CityRegistry, call: Callable[[CityClient], Coroutine[Any, Any, T]]) -> list[T]:
    """``call`` made on every city at once, each under its own deadline (the client's); every result, in order."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(call(client)) for client in registry.clients]
    return [task.result() for task in tasks]


async def gather_records(
    *,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    verdict: Verdict,
    request_id: str,
) -> FetchedRecords:
    """Every city's records on ``id_number``, with a status per city; never fails because a city did."""
    outcomes = zip(
        registry.clients,
        await ask_every_city(
            registry,
            lambda client: client.person_records(
                id_number=id_number,
                service_token=service_token(minter, client, principal=principal, verdict=verdict),
                request_id=request_id,
            ),
        ),
        strict=True,
    )
    results = [
        FetchedCity(
            city=client.entry.ref,
            status=outcome.status,
            elapsed_ms=outcome.elapsed_ms,
            records=outcome.payload,
            detail=outcome.detail,
            attempts=outcome.attempts,
            breaker=outcome.breaker,
        )
        for client, outcome in outcomes
    ]
    return FetchedRecords(
        request_id=request_id,
        id_number=id_number,
        complete=all(result.status in ANSWERED for result in results),
        cities=results,
    )


async def lookup_records(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    service: Service,
    purpose: Purpose,
    request_id: str,
    case_ref: str | None = None,
) -> RecordsResponse:
    """Every city's records on ``id_number`` as the policy releases them to ``principal`` for ``purpose``.

    Each city's answer is released as soon as it arrives, so that the last answer is all that is left to handle
    when it comes.
    """
    verdict = await decide(
        governance,
        principal=principal,
        subject=id_number,
        service=service,
        purpose=purpose,
        cities=registry.codes,
        request_id=request_id,
        case_ref=case_ref,
    )

    async def released(client: CityClient) -> CityResult:
        outcome = await client.person_records(
            id_number=id_number,
            service_token=service_token(minter, client, principal=principal, verdict=verdict),
            request_id=request_id,
        )
        return CityResult(
            city=client.entry.ref,
            status=outcome.status,
            elapsed_ms=outcome.elapsed_ms,
            records=None if outcome.payload is None else verdict.release(outcome.payload),
            detail=outcome.detail,
            attempts=outcome.attempts,
            breaker=outcome.breaker,
        )

    cities = await ask_every_city(registry, released)
    return RecordsResponse(
        request_id=request_id,
        decision_id=verdict.decision_id,
        policy=verdict.policy,
        purpose=purpose.value,
        id_number=id_number,
        complete=all(result.status in ANSWERED for result in cities),
        cities=cities,
        disclosure=verdict.disclosure(),
    )


async def fetch_local_document(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    city_code: str,
    request_id: str,
) -> LocalDocumentResponse:
    """One city's records on ``id_number`` in that city's own dialect, to set beside the canonical form.

    The local document cannot be cut field by field (its names are the city's own), so the policy must
    release every category in full.
    """
    client = registry.require(city_code)
    verdict = await decide(
        governance,
        principal=principal,
        subject=id_number,
        service=Service.LOCAL_DOCUMENT,
        purpose=Purpose.SELF_SERVICE,
        cities=[city_code],
        request_id=request_id,
    )
    token = service_token(minter, client, principal=principal, verdict=verdict)
    outcome = await client.local_document(id_number=id_number, service_token=token, request_id=request_id)
    if outcome.status is CityCallStatus.NOT_FOUND:
        raise ResidentNotFound(f"{client.entry.name} holds no records on this ID number")
    if outcome.payload is None:
        raise CityCallFailed(f"{client.entry.name} ({city_code}): {outcome.status} — {outcome.detail}")
    return LocalDocumentResponse(request_id=request_id, city=client.entry.ref, document=outcome.payload)


async def fetch_records_and_rules(
    *,
    governance: Governance,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    city_code: str,
    service: Service,
    request_id: str,
) -> tuple[FetchedRecords, CityRules]:
    """Every city's records and one city's rules, fetched at once: what a cross-city decision needs."""
    client = registry.require(city_code)
    purpose = SERVICES[service].purpose
    assert purpose is not None, f"{service} states its own purpose"
    verdict = await decide(
        governance,
        principal=principal,
        subject=id_number,
        service=service,
        purpose=purpose,
        cities=registry.codes,
        request_id=request_id,
    )
    token = service_token(minter, client, principal=principal, verdict=verdict)
    async with asyncio.TaskGroup() as group:
        records = group.create_task(
            gather_records(
                registry=registry,
                minter=minter,
                principal=principal,
                id_number=id_number,
                verdict=verdict,
                request_id=request_id,
            )
        )
        rules = group.create_task(client.rules(service_token=token, request_id=request_id))
    outcome = rules.result()
    if outcome.payload is None:
        raise CityCallFailed(f"{client.entry.name} ({city_code}) rules: {outcome.status} — {outcome.detail}")
    return records.result(), outcome.payload


def require_known_resident(response: RecordsResponse) -> RecordsResponse:
    """404 only when every city answered and none knows the person; a failed city leaves it open."""
    if all(result.status is CityCallStatus.NOT_FOUND for result in response.cities):
        raise ResidentNotFound("no city in the registry holds records on this ID number")
    return response


async def check_health(*, registry: CityRegistry, engine: Engine) -> HealthResponse:
    """The gateway's database and every city's ``/health``, in parallel; degraded while any breaker is not closed."""
    async with asyncio.TaskGroup() as group:
        database = group.create_task(run_in_threadpool(_database_ok, engine))
        tasks = [group.create_task(client.health()) for client in registry.clients]
    cities = [task.result() for task in tasks]
    healthy = database.result() and all(
        city.status is CityCallStatus.OK and city.breaker is BreakerState.CLOSED for city in cities
    )
    return HealthResponse(
        status="ok" if healthy else "degraded", database="ok" if database.result() else "error", cities=cities
    )


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
