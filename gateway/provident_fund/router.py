"""公积金 routes across cities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from commons.problems import problem_responses
from gateway.deps import CurrentPrincipal, GovernanceDep, MinterDep, RegistryDep, ResidentDep
from gateway.provident_fund import service, transfers
from gateway.provident_fund.models import TransferCreate, TransferView
from schemas.cities import CityCode

router = APIRouter(prefix="/v1/provident-fund", tags=["provident fund"], responses=problem_responses(401, 403, 422))


@router.get("/loan-eligibility", responses=problem_responses(404, 502))
async def loan_eligibility(
    city: Annotated[CityCode, Query(description="The lending city's code, e.g. 430100")],
    request: Request,
    resident: ResidentDep,
    registry: RegistryDep,
    minter: MinterDep,
    governance: GovernanceDep,
) -> service.LoanEligibilityResponse:
    """住房公积金贷款: am I eligible in this city, and for how much? Deposits in every city count (异地缴存互认)."""
    return await service.assess_loan_eligibility(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=resident,
        id_number=resident.subject,
        lending_city=city,
        request_id=request.state.request_id,
    )


def get_transfer_context(request: Request) -> transfers.TransferContext:
    context: transfers.TransferContext = request.app.state.transfers
    return context


TransferContextDep = Annotated[transfers.TransferContext, Depends(get_transfer_context)]


@router.post("/transfers", status_code=201, responses=problem_responses(404, 409, 502))
async def start_transfer(
    body: TransferCreate,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    context: TransferContextDep,
) -> TransferView:
    """转移接续: move a resident's provident fund from a sealed account to an active one in another city."""
    view = await transfers.start_transfer(
        ctx=context, principal=principal, request=body, request_id=request.state.request_id
    )
    response.headers["Location"] = f"/v1/provident-fund/transfers/{view.transfer_id}"
    return view


@router.get("/transfers/{transfer_id}", responses=problem_responses(404))
def get_transfer(transfer_id: str, principal: CurrentPrincipal, context: TransferContextDep) -> TransferView:
    """A transfer's state, the figures that moved, and every step so far."""
    return transfers.read_transfer(context.engine, transfer_id, principal)
