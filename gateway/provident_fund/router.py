"""公积金 routes across cities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from commons.problems import problem_responses
from gateway.deps import MinterDep, RegistryDep, ResidentDep
from gateway.provident_fund import service
from schemas.cities import CityCode

router = APIRouter(prefix="/v1/provident-fund", tags=["provident fund"], responses=problem_responses(401, 403, 422))


@router.get("/loan-eligibility", responses=problem_responses(404, 502))
async def loan_eligibility(
    city: Annotated[CityCode, Query(description="The lending city's code, e.g. 430100")],
    request: Request,
    resident: ResidentDep,
    registry: RegistryDep,
    minter: MinterDep,
) -> service.LoanEligibilityResponse:
    """住房公积金贷款: am I eligible in this city, and for how much? Deposits in every city count (异地缴存互认)."""
    return await service.assess_loan_eligibility(
        registry=registry,
        minter=minter,
        principal=resident,
        id_number=resident.subject,
        lending_city=city,
        request_id=request.state.request_id,
    )
