"""One city's 医保 parameters, as its settings file states them."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


class MedicalInsuranceRules(BaseModel):
    """Contribution rates and reimbursement rules of one city."""

    employer_rate: Decimal = Field(description="单位缴费比例 of the contribution base, e.g. 0.08")
    personal_rate: Decimal = Field(description="个人缴费比例, e.g. 0.02")
    resident_annual_premium: Decimal = Field(description="城乡居民 annual personal premium, yuan")
    deductible: Decimal = Field(description="起付线 per year, yuan")
    reimbursement_ratio: Decimal = Field(description="统筹基金支付比例 for employees")
    resident_reimbursement_ratio: Decimal = Field(description="统筹基金支付比例 for residents")
    annual_cap: Decimal = Field(description="统筹基金年度最高支付限额, yuan")
    unfiled_ratio_reduction: Decimal = Field(
        description="Ratio points lost when treated in another city without 异地就医备案"
    )
