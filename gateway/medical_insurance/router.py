"""医保 routes across cities: enrolment (互认), 异地就医备案 for residents, 异地就医直接结算 for care-city officials."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from commons.problems import problem_responses
from gateway.deps import CurrentPrincipal, GovernanceDep, MinterDep, RegistryDep, ResidentDep
from gateway.medical_insurance import service
from schemas.medical_insurance import Claim, Filing, FilingId, FilingRequest, SettlementStatement

router = APIRouter(
    prefix="/v1/medical-insurance",
    tags=["medical insurance"],
    responses=problem_responses(401, 403, 404, 409, 422, 502),
)

FilingIdPath = Annotated[FilingId, Path(description="The filing's id, as the filing answer gave it")]


@router.get("/enrolment")
async def my_enrolment(
    request: Request, resident: ResidentDep, registry: RegistryDep, minter: MinterDep, governance: GovernanceDep
) -> service.EnrolmentView:
    """My 医保 enrolment in every city, and the contribution months all of them recognise together."""
    return await service.enrolment_view(
        governance=governance, registry=registry, minter=minter, principal=resident, request_id=request.state.request_id
    )


@router.post("/filings", status_code=status.HTTP_201_CREATED)
async def create_filing(
    body: FilingRequest,
    request: Request,
    resident: ResidentDep,
    registry: RegistryDep,
    minter: MinterDep,
    governance: GovernanceDep,
) -> Filing:
    """异地就医备案: file to be treated in another city; the city where I am insured keeps the filing."""
    return await service.create_filing(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=resident,
        request=body,
        request_id=request.state.request_id,
    )


@router.get("/filings")
async def list_filings(
    request: Request, resident: ResidentDep, registry: RegistryDep, minter: MinterDep, governance: GovernanceDep
) -> service.FilingsResponse:
    """My 异地就医备案, newest first, from the city where I am insured."""
    return await service.list_filings(
        governance=governance, registry=registry, minter=minter, principal=resident, request_id=request.state.request_id
    )


@router.post("/filings/{filing_id}/cancel")
async def cancel_filing(
    filing_id: FilingIdPath,
    request: Request,
    resident: ResidentDep,
    registry: RegistryDep,
    minter: MinterDep,
    governance: GovernanceDep,
) -> Filing:
    """Cancel one of my filings from now on (idempotent); claims for earlier days keep it."""
    return await service.cancel_filing(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=resident,
        filing_id=filing_id,
        request_id=request.state.request_id,
    )


@router.post("/claims")
async def settle_claim(
    body: Claim,
    request: Request,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    minter: MinterDep,
    governance: GovernanceDep,
) -> SettlementStatement:
    """异地就医直接结算 (care city's 医保 officials): settled by the patient's insuring city's own rules.

    Idempotent on the claim id: a retry returns the first statement and charges nothing twice.
    """
    return await service.settle_claim(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        claim=body,
        request_id=request.state.request_id,
    )
