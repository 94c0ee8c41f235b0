"""人才 routes across cities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from commons.problems import problem_responses
from gateway.deps import GovernanceDep, MinterDep, RegistryDep, ResidentDep
from gateway.talent import service
from schemas.cities import CityCode

router = APIRouter(prefix="/v1/talent", tags=["talent"], responses=problem_responses(401, 403, 404, 422, 502))

CityQuery = Annotated[CityCode, Query(description="The city whose requirement applies, e.g. 430100")]


@router.get("/continuing-education")
async def continuing_education(
    city: CityQuery,
    request: Request,
    resident: ResidentDep,
    registry: RegistryDep,
    minter: MinterDep,
    governance: GovernanceDep,
) -> service.ContinuingEducationSummary:
    """学时互认: my continuing-education hours from every city against one city's annual requirement."""
    return await service.continuing_education(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=resident,
        city=city,
        request_id=request.state.request_id,
    )


@router.get("/evaluation")
async def title_evaluation(
    city: CityQuery,
    request: Request,
    resident: ResidentDep,
    registry: RegistryDep,
    minter: MinterDep,
    governance: GovernanceDep,
) -> service.TitleEvaluationView:
    """职称评审 view: my whole talent record from every city, judged by one city's rules."""
    return await service.title_evaluation(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=resident,
        city=city,
        request_id=request.state.request_id,
    )
