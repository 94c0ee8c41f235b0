"""异地就医直接结算: how one claim's total splits by the insuring city's rules (a pure function).

With ``T`` the claim's total, all amounts in yuan with two decimals::

    deductible   = min(T, what this year's 起付线 has left after earlier claims)
    ratio        = base ratio of the insurance type − (unfiled_ratio_reduction unless a filing is in force), ≥ 0
    fund_paid    = min(round_half_up((T − deductible) × ratio), what this year's cap has left)
    account_paid = min(personal-account balance, T − deductible − fund_paid)    (职工; 城乡居民 have no account: 0)
    cash_paid    = T − deductible − fund_paid − account_paid

Invariants, for every input: ``T = deductible + fund_paid + account_paid + cash_paid`` exactly; every part is
≥ 0 and has two decimals; the deductible never exceeds what remains of it, the fund never what remains of
the cap, the account never its balance; without a filing the fund never pays more than with one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from schemas.medical_insurance import InsuranceType
from schemas.money import to_yuan
from services.medical_insurance.rules import MedicalInsuranceRules

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class YearToDate:
    """What earlier claims of the same calendar year already used: of the 起付线, and of the fund's cap."""

    deductible_used: Decimal = ZERO
    fund_paid: Decimal = ZERO


@dataclass(frozen=True)
class Settlement:
    """One claim's split, and the figures it was computed from."""

    total: Decimal
    deductible: Decimal
    fund_paid: Decimal
    account_paid: Decimal
    cash_paid: Decimal
    base_ratio: Decimal
    ratio_reduction: Decimal
    ratio: Decimal
    deductible_remaining_before: Decimal
    cap_remaining_before: Decimal
    capped: bool


def settle(
    *,
    total: Decimal,
    insurance_type: InsuranceType,
    rules: MedicalInsuranceRules,
    filed: bool,
    year_to_date: YearToDate,
    account_balance: Decimal,
) -> Settlement:
    """Split ``total`` into deductible, fund, personal account and cash by ``rules`` (see the module docstring)."""
    if total <= 0 or to_yuan(total) != total:
        raise ValueError(f"a claim's total must be a positive amount in whole 分, not {total}")
    base_ratio = (
        rules.reimbursement_ratio if insurance_type is InsuranceType.EMPLOYEE else rules.resident_reimbursement_ratio
    )
    reduction = ZERO if filed else min(rules.unfiled_ratio_reduction, base_ratio)
    ratio = base_ratio - reduction
    deductible_left = max(ZERO, to_yuan(rules.deductible - year_to_date.deductible_used))
    cap_left = max(ZERO, to_yuan(rules.annual_cap - year_to_date.fund_paid))
    deductible = min(total, deductible_left)
    uncapped_fund = to_yuan((total - deductible) * ratio)
    fund = min(uncapped_fund, cap_left)
    remainder = total - deductible - fund
    balance = max(ZERO, account_balance) if insurance_type is InsuranceType.EMPLOYEE else ZERO
    account = min(balance, remainder)
    return Settlement(
        total=total,
        deductible=deductible,
        fund_paid=fund,
        account_paid=account,
        cash_paid=remainder - account,
        base_ratio=base_ratio,
        ratio_reduction=reduction,
        ratio=ratio,
        deductible_remaining_before=deductible_left,
        cap_remaining_before=cap_left,
        capped=fund < uncapped_fund,
    )
