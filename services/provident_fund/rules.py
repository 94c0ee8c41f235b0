"""One city's 公积金 parameters, as its settings file states them."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


class ProvidentFundRules(BaseModel):
    """Deposit rates and loan rules of one city."""

    employer_rate: Decimal = Field(description="单位缴存比例, 5%–12%")
    personal_rate: Decimal = Field(description="个人缴存比例, 5%–12%")
    min_base: Decimal = Field(description="缴存基数下限 (the city's minimum wage), yuan")
    max_base: Decimal = Field(description="缴存基数上限 (3× the average wage), yuan")
    loan_multiple: Decimal = Field(description="贷款额度 = balance × multiple")
    max_loan: Decimal = Field(description="单笔贷款最高额度, yuan")
    min_deposit_months: int = Field(description="Months deposited before a loan may be granted")
