"""Record lookup routes: a resident's own records, and an official's or client's lookup by ID number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from commons.problems import problem_responses
from gateway.deps import CurrentPrincipal, MinterDep, RegistryDep, ResidentDep
from gateway.records import service
from schemas.cities import CityCode
from schemas.idcard import IdNumber
from schemas.purposes import Purpose
from schemas.records import HealthResponse, LocalDocumentResponse, RecordsResponse

router = APIRouter(tags=["records"], responses=problem_responses(401, 403, 422))
health_router = APIRouter(tags=["health"])

PurposeQuery = Annotated[Purpose, Query(description="Why the records are read (a code from schemas/purposes.py)")]


@router.get("/v1/me/records")
async def my_records(
    request: Request, resident: ResidentDep, registry: RegistryDep, minter: MinterDep
) -> RecordsResponse:
    """The signed-in resident's records from every city (一网通办: one login, all three cities)."""
    return await service.fetch_person_records(
        registry=registry,
        minter=minter,
        principal=resident,
        id_number=resident.subject,
        purpose=Purpose.SELF_SERVICE,
        request_id=request.state.request_id,
    )


@router.get("/v1/residents/{id_number}/records", responses=problem_responses(404))
async def resident_records(
    id_number: IdNumber,
    purpose: PurposeQuery,
    request: Request,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    minter: MinterDep,
) -> RecordsResponse:
    """A resident's records from every city, for an official or API client with a stated purpose."""
    response = await service.fetch_person_records(
        registry=registry,
        minter=minter,
        principal=principal,
        id_number=id_number,
        purpose=purpose,
        request_id=request.state.request_id,
    )
    return service.require_known_resident(response)


@router.get("/v1/me/records/{city_code}/local", responses=problem_responses(404, 502))
async def my_local_document(
    city_code: CityCode, request: Request, resident: ResidentDep, registry: RegistryDep, minter: MinterDep
) -> LocalDocumentResponse:
    """The signed-in resident's records in one city's own local dialect, to compare with the canonical form."""
    return await service.fetch_local_document(
        registry=registry,
        minter=minter,
        principal=resident,
        id_number=resident.subject,
        city_code=city_code,
        purpose=Purpose.SELF_SERVICE,
        request_id=request.state.request_id,
    )


@health_router.get("/v1/health")
async def health(request: Request, registry: RegistryDep) -> HealthResponse:
    """The gateway (its database) and every city in its registry."""
    return await service.check_health(registry=registry, engine=request.app.state.engine)
