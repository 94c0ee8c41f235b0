"""Transfer steps on the exchange: each idempotent on the transfer id, each for purpose fund-transfer only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from commons.problems import problem_responses
from mock_cities.auth import WrongPurpose
from mock_cities.deps import DialectDep, ProfileDep, ServiceCallerDep, SessionDep
from mock_cities.provident_fund import service
from schemas.cities import CityCode
from schemas.idcard import IdNumber
from schemas.money import Month, Yuan
from schemas.purposes import Purpose
from schemas.service_token import ServiceTokenClaims
from services.provident_fund.models import TransferSlip


def require_transfer_purpose(caller: ServiceCallerDep) -> ServiceTokenClaims:
    if caller.purpose != Purpose.FUND_TRANSFER:
        raise WrongPurpose(f"transfer steps need purpose {Purpose.FUND_TRANSFER}, not {caller.purpose}")
    return caller


TransferCaller = Annotated[ServiceTokenClaims, Depends(require_transfer_purpose)]
TransferId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{8,64}$", description="Chosen by the gateway")]

router = APIRouter(
    prefix="/exchange/v1/provident-fund/transfers",
    tags=["provident-fund transfer"],
    responses=problem_responses(401, 403, 404, 409, 422),
)


class ReserveRequest(BaseModel):
    id_number: IdNumber
    destination_city: CityCode


class PostRequest(BaseModel):
    id_number: IdNumber
    source_city: CityCode
    amount: Yuan = Field(ge=0)
    months: int = Field(ge=0)
    first_month: Month | None = None
    last_month: Month | None = None


@router.post("/{transfer_id}/reserve")
def reserve(
    transfer_id: TransferId,
    body: ReserveRequest,
    _caller: TransferCaller,
    session: SessionDep,
    dialect: DialectDep,
    city: ProfileDep,
) -> TransferSlip:
    """Source: the account must be 封存; reserve its balance and deposit-history summary."""
    return service.reserve(
        session=session,
        dialect=dialect,
        city=city,
        transfer_id=transfer_id,
        id_number=body.id_number,
        destination_city=body.destination_city,
    )


@router.post("/{transfer_id}/post")
def post(
    transfer_id: TransferId,
    body: PostRequest,
    _caller: TransferCaller,
    session: SessionDep,
    dialect: DialectDep,
    city: ProfileDep,
) -> TransferSlip:
    """Destination: the account must be 正常; credit the funds and recognise the months."""
    return service.post(
        session=session,
        dialect=dialect,
        city=city,
        transfer_id=transfer_id,
        id_number=body.id_number,
        source_city=body.source_city,
        amount=body.amount,
        months=body.months,
        first_month=body.first_month,
        last_month=body.last_month,
    )


@router.post("/{transfer_id}/close")
def close(
    transfer_id: TransferId, _caller: TransferCaller, session: SessionDep, dialect: DialectDep, city: ProfileDep
) -> TransferSlip:
    """Source, after the destination posted: pay out the reservation and close the account (销户)."""
    return service.close(session=session, dialect=dialect, city=city, transfer_id=transfer_id)


@router.post("/{transfer_id}/release")
def release(
    transfer_id: TransferId, body: ReserveRequest, _caller: TransferCaller, session: SessionDep, city: ProfileDep
) -> TransferSlip:
    """Source, when the destination refused: drop the reservation; nothing moved."""
    return service.release(
        session=session,
        city=city,
        transfer_id=transfer_id,
        id_number=body.id_number,
        destination_city=body.destination_city,
    )
