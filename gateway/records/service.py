"""Fan-out: ask every city at once, each under its own deadline, and assemble a partial-tolerant answer."""

from __future__ import annotations

import asyncio
import uuid

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from gateway.access import AccessDenied, decide_records_access
from gateway.auth.models import Principal
from gateway.exchange.registry import CityClient, CityOutcome, CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from schemas.cities import CityCallStatus
from schemas.purposes import Purpose
from schemas.records import CityResult, HealthResponse, LocalDocumentResponse, PersonRecords, RecordsResponse
from services.city_rules import CityRules


class ResidentNotFound(Exception):
    """No city holds any record on this ID number."""


class CityCallFailed(Exception):
    """A single-city request could not be answered because the city failed (timeout, unavailable, error)."""


def authorize(*, principal: Principal, id_number: str, purpose: Purpose) -> str:
    """The id of the decision allowing this read; :class:`AccessDenied` naming the rule otherwise."""
    verdict = decide_records_access(principal=principal, id_number=id_number, purpose=purpose)
    if not verdict.allowed:
        raise AccessDenied(f"{verdict.reason} (rule {verdict.rule})")
    return uuid.uuid4().hex


def authorized_call(
    *,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    city_code: str,
    purpose: Purpose,
) -> tuple[CityClient, str]:
    """The one city to call and the service token to call it with, once access is decided."""
    client = registry.require(city_code)
    decision_id = authorize(principal=principal, id_number=id_number, purpose=purpose)
    token = minter.mint(
        city_code=city_code,
        subject=principal.subject,
        client_id=principal.client_id,
        purpose=purpose,
        decision_id=decision_id,
    )
    return client, token


async def fetch_person_records(
    *,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    purpose: Purpose,
    request_id: str,
) -> RecordsResponse:
    """Every city's records on ``id_number``, with a status per city; never fails because a city did."""
    decision_id = authorize(principal=principal, id_number=id_number, purpose=purpose)

    async def ask(client: CityClient) -> CityOutcome[PersonRecords]:
        token = minter.mint(
            city_code=client.entry.code,
            subject=principal.subject,
            client_id=principal.client_id,
            purpose=purpose,
            decision_id=decision_id,
        )
        return await client.person_records(id_number=id_number, service_token=token, request_id=request_id)

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(ask(client)) for client in registry.clients]
    results = [
        CityResult(
            city=client.entry.ref,
            status=outcome.status,
            elapsed_ms=outcome.elapsed_ms,
            records=outcome.payload,
            detail=outcome.detail,
        )
        for client, outcome in zip(registry.clients, (task.result() for task in tasks), strict=True)
    ]
    answered = {CityCallStatus.OK, CityCallStatus.NOT_FOUND}
    return RecordsResponse(
        request_id=request_id,
        id_number=id_number,
        complete=all(result.status in answered for result in results),
        cities=results,
    )


async def fetch_local_document(
    *,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    city_code: str,
    purpose: Purpose,
    request_id: str,
) -> LocalDocumentResponse:
    """One city's records on ``id_number`` in that city's own dialect, to set beside the canonical form."""
    client, token = authorized_call(
        registry=registry, minter=minter, principal=principal, id_number=id_number, city_code=city_code, purpose=purpose
    )
    outcome = await client.local_document(id_number=id_number, service_token=token, request_id=request_id)
    if outcome.status is CityCallStatus.NOT_FOUND:
        raise ResidentNotFound(f"{client.entry.name} holds no records on this ID number")
    if outcome.payload is None:
        raise CityCallFailed(f"{client.entry.name} ({city_code}): {outcome.status} — {outcome.detail}")
    return LocalDocumentResponse(request_id=request_id, city=client.entry.ref, document=outcome.payload)


async def fetch_records_and_rules(
    *,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    city_code: str,
    purpose: Purpose,
    request_id: str,
) -> tuple[RecordsResponse, CityRules]:
    """Every city's records and one city's rules, fetched at once: what a cross-city decision needs."""
    client, token = authorized_call(
        registry=registry, minter=minter, principal=principal, id_number=id_number, city_code=city_code, purpose=purpose
    )
    async with asyncio.TaskGroup() as group:
        records = group.create_task(
            fetch_person_records(
                registry=registry,
                minter=minter,
                principal=principal,
                id_number=id_number,
                purpose=purpose,
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
    """The gateway's database and every city's ``/health``, in parallel."""
    async with asyncio.TaskGroup() as group:
        database = group.create_task(run_in_threadpool(_database_ok, engine))
        tasks = [group.create_task(client.health()) for client in registry.clients]
    cities = [task.result() for task in tasks]
    healthy = database.result() and all(city.status is CityCallStatus.OK for city in cities)
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
