"""医保 medical insurance: enrolment and monthly contributions, in canonical form."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from schemas.money import Month, Yuan


class InsuranceType(StrEnum):
    """险种: 职工基本医疗保险 (employee) or 城乡居民基本医疗保险 (resident)."""

    EMPLOYEE = "employee"
    RESIDENT = "resident"


class EnrolmentStatus(StrEnum):
    """参保状态: 参保 (active), 暂停 (suspended), 终止 (terminated)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Enrolment(BaseModel):
    """One resident's enrolment in one city's medical insurance."""

    local_person_no: str = Field(description="The city's own person number (人员编号)")
    insurance_type: InsuranceType
    status: EnrolmentStatus
    since: date = Field(description="参保日期: first day of cover in this city")
    contribution_months: int = Field(ge=0, description="累计缴费月数 in this city")
    account_balance: Yuan = Field(description="个人账户余额, yuan")
    employer: str | None = Field(default=None, description="参保单位; none for resident insurance")


class Contribution(BaseModel):
    """One month's contribution (缴费记录)."""

    month: Month
    base: Yuan = Field(description="缴费基数, yuan")
    employer_amount: Yuan = Field(description="单位缴纳, yuan")
    personal_amount: Yuan = Field(description="个人缴纳, yuan")


class MedicalInsuranceRecord(BaseModel):
    """Everything one city's 医保 system holds on one resident."""

    enrolment: Enrolment
    contributions: list[Contribution] = Field(description="Oldest first")
