"""The 公积金 transfer ledger every city keeps: one row per transfer and role, the key to idempotent steps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel
from sqlmodel import Field

from schemas.money import Yuan
from services.tables import CityTable


class TransferRole(StrEnum):
    SOURCE = "source"
    DESTINATION = "destination"


class LedgerState(StrEnum):
    """Source: reserved → closed, or reserved → released. Destination: posted."""

    RESERVED = "reserved"
    CLOSED = "closed"
    RELEASED = "released"
    POSTED = "posted"


class TransferLedger(CityTable, table=True):
    """What this city did for one transfer, as source or destination."""

    __tablename__ = "czt_fund_transfer_ledger"

    transfer_id: str = Field(primary_key=True, max_length=64)
    role: str = Field(primary_key=True, max_length=16)
    id_number: str = Field(index=True, max_length=18)
    counterpart_city: str = Field(max_length=6)
    state: str = Field(max_length=16)
    amount: Decimal = Field(default=Decimal(0), max_digits=14, decimal_places=2)
    months: int = 0
    first_month: str | None = Field(default=None, max_length=7)
    last_month: str | None = Field(default=None, max_length=7)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class TransferSlip(BaseModel):
    """A city's answer to a transfer step: where its side stands, and what moves."""

    transfer_id: str
    role: TransferRole
    state: LedgerState
    id_number: str
    amount: Yuan
    months: int
    first_month: str | None
    last_month: str | None
