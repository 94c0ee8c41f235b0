"""医保 medical insurance in canonical form: enrolment, contributions, 异地就医备案 and 直接结算."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator

from schemas.cities import CityCode, CityRef
from schemas.idcard import IdNumber
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


# --- 异地就医备案 and 异地就医直接结算 ------------------------------------------------------------------------

MAX_FILING_YEARS = 2
"""A filing (备案) is valid for at most this many years from its first day."""

ClaimId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
"""A claim id chosen by the care city's hospital (就诊流水号): 1–64 of ``A-Za-z0-9._:-``."""

FilingId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
"""A filing id chosen by the gateway: 32 lower-case hex digits."""

Ratio = Annotated[Decimal, Field(ge=0, le=1, description="A share between 0 and 1, e.g. 0.60")]


class FilingStatus(StrEnum):
    """备案状态: in force (or yet to start), past its last day, or cancelled by the resident."""

    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


def last_valid_day(valid_from: date) -> date:
    """The latest ``valid_to`` a filing starting on ``valid_from`` may have (:data:`MAX_FILING_YEARS` years)."""
    try:
        end = valid_from.replace(year=valid_from.year + MAX_FILING_YEARS)
    except ValueError:  # 29 February
        end = valid_from.replace(year=valid_from.year + MAX_FILING_YEARS, day=28)
    return end - timedelta(days=1)


def _check_validity(valid_to: date, info: ValidationInfo) -> date:
    valid_from = info.data.get("valid_from")
    if valid_from is None:
        return valid_to
    if valid_to < valid_from:
        raise ValueError(f"must be on or after valid_from ({valid_from})")
    if valid_to > last_valid_day(valid_from):
        raise ValueError(f"a filing lasts at most {MAX_FILING_YEARS} years: {last_valid_day(valid_from)} at the latest")
    return valid_to


class FilingRequest(BaseModel):
    """A resident's application for 异地就医备案: to be treated in ``care_city_code`` during the validity.

    The filing is kept by the city where the resident's enrolment is active (the insuring city); the care
    city must be another city of the registry. ``valid_to`` is at most :data:`MAX_FILING_YEARS` years after
    ``valid_from``.
    """

    care_city_code: CityCode = Field(description="就医地: the city of the treatment, e.g. 430100")
    valid_from: date = Field(description="First day of the filing's validity")
    valid_to: date = Field(description="Last day of the filing's validity (inclusive)")

    _validity = field_validator("valid_to")(_check_validity)


class FilingApplication(BaseModel):
    """A filing as the gateway hands it to the insuring city; idempotent on ``filing_id``."""

    filing_id: FilingId
    care_city: CityRef
    valid_from: date
    valid_to: date

    _validity = field_validator("valid_to")(_check_validity)


class Filing(BaseModel):
    """A 异地就医备案 as the insuring city keeps it."""

    filing_id: FilingId
    id_number: IdNumber
    insuring_city: CityRef = Field(description="参保地: the city that keeps the filing and settles the claims")
    care_city: CityRef = Field(description="就医地")
    valid_from: date
    valid_to: date
    status: FilingStatus = Field(description="As of the day the answer was made")
    filed_at: datetime
    cancelled_at: datetime | None = None


class FilingList(BaseModel):
    """Every filing one insuring city keeps on one person, newest first."""

    city: CityRef
    filings: list[Filing]


class ClaimItem(BaseModel):
    """One line of a hospital bill (费用明细)."""

    code: str = Field(min_length=1, max_length=32, description="The item's code in the hospital's catalogue")
    name: str = Field(min_length=1, max_length=128)
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description="Yuan, at most two decimals")


class Claim(BaseModel):
    """A claim for 异地就医直接结算, as the care city's hospital or 医保 office submits it.

    ``service_date`` is the day the bill is settled: the visit (门诊) or the discharge (出院); it decides the
    year whose deductible and cap apply and whether a filing is in force. ``total`` must equal the sum of the
    items' amounts. The claim id is the hospital's: a retry with the same id returns the first statement.
    """

    claim_id: ClaimId
    id_number: IdNumber = Field(description="The patient's 居民身份证号")
    hospital: str = Field(min_length=1, max_length=128, description="The treating hospital (定点医疗机构)")
    admission_date: date | None = Field(default=None, description="入院日期, for an in-patient stay")
    service_date: date = Field(description="The visit's day, or the discharge day of an in-patient stay")
    items: list[ClaimItem] = Field(min_length=1, max_length=500)
    total: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="Sum of the items, yuan")

    @field_validator("service_date")
    @classmethod
    def _after_admission(cls, service_date: date, info: ValidationInfo) -> date:
        admission = info.data.get("admission_date")
        if admission is not None and service_date < admission:
            raise ValueError(f"the discharge cannot come before the admission ({admission})")
        return service_date

    @field_validator("total")
    @classmethod
    def _sum_of_items(cls, total: Decimal, info: ValidationInfo) -> Decimal:
        items: list[ClaimItem] | None = info.data.get("items")
        if items is not None and total != sum((item.amount for item in items), Decimal(0)):
            raise ValueError(f"is {total} but the items add up to {sum(item.amount for item in items)}")
        return total


class SettlementRequest(Claim):
    """A claim as the gateway hands it to the insuring city: with the care city it comes from."""

    care_city: CityRef


class AppliedRules(BaseModel):
    """Which rules a settlement applied, and the figures they were applied to."""

    city: CityRef = Field(description="Whose rules: always the insuring city's")
    insurance_type: InsuranceType
    deductible_per_year: Yuan = Field(description="起付线 of the year")
    deductible_remaining_before: Yuan = Field(description="What earlier claims of the year left of it")
    base_ratio: Ratio = Field(description="统筹基金支付比例 for the insurance type")
    filing_found: bool = Field(description="Whether a filing for the care city was in force on the service date")
    filing_id: str | None = None
    ratio_reduction: Ratio = Field(description="Ratio points lost without a filing (0 with one)")
    ratio: Ratio = Field(description="The ratio applied: base_ratio − ratio_reduction, at least 0")
    annual_cap: Yuan = Field(description="统筹基金年度最高支付限额")
    cap_remaining_before: Yuan = Field(description="What earlier claims of the year left of the cap")
    capped: bool = Field(description="Whether the cap cut the fund's share")


class SettlementStatement(BaseModel):
    """The insuring city's 结算单 for one claim: ``total = deductible + fund_paid + account_paid + cash_paid``.

    ``deductible`` is the part of the total the 起付线 leaves to the patient; ``fund_paid`` is
    ``(total − deductible) × ratio`` rounded to the 分, cut to what remains of the annual cap; the personal
    account (职工 only) pays what is left as far as its balance goes (``account_paid``); the rest is
    ``cash_paid``. The patient pays ``out_of_pocket = deductible + cash_paid`` at the counter.
    """

    claim_id: ClaimId
    id_number: IdNumber
    patient_name: str
    insuring_city: CityRef = Field(description="参保地, whose rules applied")
    care_city: CityRef = Field(description="就医地")
    hospital: str
    admission_date: date | None = None
    service_date: date
    total: Yuan
    deductible: Yuan
    fund_paid: Yuan = Field(description="统筹基金支付")
    account_paid: Yuan = Field(description="个人账户支付")
    cash_paid: Yuan = Field(description="现金支付 above the deductible")
    out_of_pocket: Yuan = Field(description="deductible + cash_paid")
    rules: AppliedRules
    settled_at: datetime
