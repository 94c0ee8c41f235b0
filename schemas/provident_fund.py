"""公积金 housing provident fund: account and monthly deposit history, in canonical form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from schemas.money import Month, Yuan


class FundAccountStatus(StrEnum):
    """账户状态: 正常 (normal), 封存 (sealed), 冻结 (frozen), 销户 (closed)."""

    NORMAL = "normal"
    SEALED = "sealed"
    FROZEN = "frozen"
    CLOSED = "closed"


class FundAccount(BaseModel):
    """One resident's provident-fund account in one city."""

    account_no: str = Field(description="The city's own account number (个人账号)")
    status: FundAccountStatus
    employer: str | None = Field(default=None, description="缴存单位")
    opened_on: date
    deposit_base: Yuan = Field(description="缴存基数, yuan")
    monthly_deposit: Yuan = Field(description="月缴存额 (employer + personal), yuan")
    balance: Yuan = Field(description="账户余额, yuan")
    deposit_months: int = Field(ge=0, description="累计缴存月数 in this city")
    outstanding_loan: Yuan = Field(default=Decimal(0), ge=0, description="贷款余额: an unpaid 公积金 loan, yuan")


class Deposit(BaseModel):
    """One month's deposit (缴存记录)."""

    month: Month
    employer_amount: Yuan
    personal_amount: Yuan


class ProvidentFundRecord(BaseModel):
    """Everything one city's 公积金 system holds on one resident."""

    account: FundAccount
    deposits: list[Deposit] = Field(description="Oldest first")
