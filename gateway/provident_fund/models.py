"""The gateway's record of every 公积金 transfer it drives: state, figures, and a history of steps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlmodel import Field

from gateway.db import GatewayTable
from schemas.cities import CityCode
from schemas.money import Yuan


class TransferState(StrEnum):
    """requested → reserved → posted → completed; or → rejected (source said no);
    or reserved → releasing → rolled_back (destination said no)."""

    REQUESTED = "requested"
    RESERVED = "reserved"
    POSTED = "posted"
    COMPLETED = "completed"
    RELEASING = "releasing"
    ROLLED_BACK = "rolled_back"
    REJECTED = "rejected"


TERMINAL = frozenset({TransferState.COMPLETED, TransferState.ROLLED_BACK, TransferState.REJECTED})


def _now() -> datetime:
    return datetime.now(UTC)


class FundTransfer(GatewayTable, table=True):
    __tablename__ = "fund_transfer"

    transfer_id: str = Field(primary_key=True, max_length=64)
    id_number: str = Field(index=True, max_length=18)
    source_city: str = Field(max_length=6)
    destination_city: str = Field(max_length=6)
    requested_by: str = Field(max_length=64)
    decision_id: str = Field(max_length=64)
    state: str = Field(index=True, max_length=16)
    amount: Decimal | None = Field(default=None, max_digits=14, decimal_places=2)
    months: int | None = None
    first_month: str | None = Field(default=None, max_length=7)
    last_month: str | None = Field(default=None, max_length=7)
    reason: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class TransferEvent(GatewayTable, table=True):
    __tablename__ = "fund_transfer_event"

    id: int | None = Field(default=None, primary_key=True)
    transfer_id: str = Field(index=True, max_length=64)
    at: datetime = Field(default_factory=_now)
    state: str = Field(max_length=16)
    detail: str = Field(max_length=500)


class TransferCreate(BaseModel):
    """Start a transfer: the resident's fund moves from ``source_city`` to ``destination_city``."""

    source_city: CityCode
    destination_city: CityCode
    id_number: str | None = PydanticField(
        default=None, description="Officials name the resident; residents leave it out (it is themselves)"
    )


class TransferEventView(BaseModel):
    at: datetime
    state: TransferState
    detail: str


class TransferView(BaseModel):
    """A transfer as its applicant sees it: where it stands, what moved, and every step so far."""

    transfer_id: str
    id_number: str
    source_city: str
    destination_city: str
    state: TransferState
    terminal: bool
    amount: Yuan | None
    months: int | None
    first_month: str | None
    last_month: str | None
    reason: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    history: list[TransferEventView]
