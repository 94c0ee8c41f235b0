"""Fan-out: ask every city at once, each under its own deadline, and assemble a partial-tolerant answer."""

from __future__ import annotations

import asyncio
import uuid

from gateway.access import decide_records_access
from gateway.auth.models import Principal
from gateway.exchange.registry import CityClient, CityOutcome, CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from schemas.cities import CityCallStatus
from schemas.records import CityResult, HealthResponse, RecordsResponse


class AccessDenied(Exception):
    """The requester may not read these records for this purpose."""


class ResidentNotFound(Exception):
    """No city holds any record on this ID number."""


async def fetch_person_records(
    *,
    registry: CityRegistry,
    minter: ServiceTokenMinter,
    principal: Principal,
    id_number: str,
    purpose: str,
    request_id: str,
) -> RecordsResponse:
    """Every city's records on ``id_number``, with a status per city; never fails because a city did."""
    verdict = decide_records_access(principal=principal, id_number=id_number, purpose=purpose)
    if not verdict.allowed:
        raise AccessDenied(f"{verdict.reason} (rule {verdict.rule})")
    decision_id = uuid.uuid4().hex

    async def ask(client: CityClient) -> CityOutcome:
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
            records=outcome.records,
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


def require_known_resident(response: RecordsResponse) -> RecordsResponse:
    """404 only when every city answered and none knows the person; a failed city leaves it open."""
    if all(result.status is CityCallStatus.NOT_FOUND for result in response.cities):
        raise ResidentNotFound("no city in the registry holds records on this ID number")
    return response


async def check_health(*, registry: CityRegistry) -> HealthResponse:
    """Every city's ``/health``, in parallel."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(client.health()) for client in registry.clients]
    cities = [task.result() for task in tasks]
    status = "ok" if all(city.status is CityCallStatus.OK for city in cities) else "degraded"
    return HealthResponse(status=status, cities=cities)
