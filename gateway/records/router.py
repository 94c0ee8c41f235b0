"""Record lookup routes: a resident's own records, and an official's or client's lookup by ID number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from commons.problems import problem_responses
from gateway.deps import CurrentPrincipal, GovernanceDep, MinterDep, RegistryDep, ResidentDep
from gateway.records import service
from governance.catalogue import Service
from schemas.cities import CityCode
from schemas.idcard import IdNumber
from schemas.purposes import Purpose
from schemas.records import HealthResponse, LocalDocumentResponse, RecordsResponse

router = APIRouter(tags=["records"], responses=problem_responses(401, 403, 422))
health_router = APIRouter(tags=["health"])

PurposeQuery = Annotated[
    Purpose, Query(description="Why the records are read (a code from schemas/purposes.py); required of officials")
]
CaseRefQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[\w./:#-]{1,64}$",
        description="The case this lookup serves (案件编号), shown to the resident in their access log",
    ),
]


@router.get("/v1/me/records")
async def my_records(
    request: Request, resident: ResidentDep, registry: RegistryDep, minter: MinterDep, governance: GovernanceDep
) -> RecordsResponse:
    """The signed-in resident's records from every city (一网通办: one login, all three cities)."""
    return await service.lookup_records(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=resident,
        id_number=resident.subject,
        service=Service.RECORDS_SELF,
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
    governance: GovernanceDep,
    case_ref: CaseRefQuery = None,
) -> RecordsResponse:
    """A resident's records from every city, for an official or API client with a stated purpose: only the
    fields the policy releases, masked as it says; `disclosure` tells what was withheld and why."""
    response = await service.lookup_records(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        id_number=id_number,
        service=Service.RECORDS_LOOKUP,
        purpose=purpose,
        case_ref=case_ref,
        request_id=request.state.request_id,
    )
    return service.require_known_resident(response)


@router.get("/v1/me/records/{city_code}/local", responses=problem_responses(404, 502))
async def my_local_document(
    city_code: CityCode,
    request: Request,
    resident: ResidentDep,
    registry: RegistryDep,
    minter: MinterDep,
    governance: GovernanceDep,
) -> LocalDocumentResponse:
    """The signed-in resident's records in one city's own local dialect, to compare with the canonical form."""
    return await service.fetch_local_document(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=resident,
        id_number=resident.subject,
        city_code=city_code,
        request_id=request.state.request_id,
    )


@health_router.get("/v1/health")
async def health(request: Request, registry: RegistryDep) -> HealthResponse:
    """The gateway (its database) and every city in its registry, with the state of each city's circuit breaker."""
    return await service.check_health(registry=registry, engine=request.app.state.engine)
