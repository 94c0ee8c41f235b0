"""住房公积金贷款 eligibility with 异地缴存互认: deposits in every city count, the lending city's rules decide."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, Field

from schemas.cities import CityRef
from schemas.money import Yuan, to_yuan
from schemas.provident_fund import FundAccountStatus, ProvidentFundRecord
from services.provident_fund.rules import ProvidentFundRules

RECENT_MONTHS = 6
"""连续足额缴存: deposits in each of the last six months."""


class FundHolding(BaseModel):
    """One city's provident-fund record on the applicant."""

    city: CityRef
    record: ProvidentFundRecord


class RuleCheck(BaseModel):
    """One rule of the lending city, whether it is met, and the figures it was decided on."""

    rule: str
    description: str
    met: bool
    figures: dict[str, str | int]


class LoanEligibility(BaseModel):
    """The answer: each rule, the recognised totals, and the loan limit by the lending city's rules."""

    lending_city: CityRef
    eligible: bool
    recognised_deposit_months: int = Field(description="累计缴存月数 across every city")
    recognised_balance: Yuan = Field(description="Balances of normal and sealed accounts in every city")
    loan_limit: Yuan = Field(description="贷款额度 by the lending city's rules; 0 when not eligible")
    checks: list[RuleCheck]


def _month_index(month: str) -> int:
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def _month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def loan_eligibility(
    *, lending_city: CityRef, rules: ProvidentFundRules, holdings: Sequence[FundHolding]
) -> LoanEligibility:
    """Decide eligibility from every city's fund record under the lending city's rules (a pure function)."""
    by_code = {holding.city.code: holding for holding in holdings}
    accounts = {code: holding.record.account for code, holding in by_code.items()}
    checks: list[RuleCheck] = []

    home = accounts.get(lending_city.code)
    home_status = home.status.value if home else "none"
    checks.append(
        RuleCheck(
            rule="active-account-in-lending-city",
            description=f"在{lending_city.name}有正常缴存的公积金账户 (an active account in the lending city)",
            met=home is not None and home.status is FundAccountStatus.NORMAL,
            figures={"status": home_status},
        )
    )

    frozen = sorted(code for code, account in accounts.items() if account.status is FundAccountStatus.FROZEN)
    checks.append(
        RuleCheck(
            rule="no-frozen-account",
            description="各地账户均未冻结 (no account frozen in any city)",
            met=not frozen,
            figures={"frozen_in": ",".join(frozen) or "none"},
        )
    )

    loans = {code: account.outstanding_loan for code, account in accounts.items() if account.outstanding_loan > 0}
    checks.append(
        RuleCheck(
            rule="no-outstanding-loan",
            description="无未结清的公积金贷款 (no unpaid provident-fund loan in any city)",
            met=not loans,
            figures={f"loan_{code}": str(amount) for code, amount in sorted(loans.items())} or {"loans": "none"},
        )
    )

    # A closed (销户) account's months are gone: moved to the new city by a transfer, or ended by a withdrawal.
    # Counting them too would count a transferred fund's months twice.
    closed = sorted(code for code, account in accounts.items() if account.status is FundAccountStatus.CLOSED)
    months = {code: account.deposit_months for code, account in accounts.items() if code not in closed}
    total_months = sum(months.values())
    checks.append(
        RuleCheck(
            rule="recognised-deposit-months",
            description="累计缴存月数（三地互认）达到贷款城市要求 (deposit months in every city count)",
            met=total_months >= rules.min_deposit_months,
            figures={
                **{f"months_{code}": count for code, count in sorted(months.items())},
                "total": total_months,
                "required": rules.min_deposit_months,
                **({"closed_not_counted": ",".join(closed)} if closed else {}),
            },
        )
    )

    deposited = {_month_index(d.month) for h in holdings for d in h.record.deposits}
    latest = max(deposited, default=None)
    # The window ends at the latest month any city has posted: the data's own "now", not the wall clock.
    window = [] if latest is None else list(range(latest - RECENT_MONTHS + 1, latest + 1))
    missing = [_month_text(m) for m in window if m not in deposited]
    checks.append(
        RuleCheck(
            rule="continuous-recent-deposits",
            description=f"近{RECENT_MONTHS}个月连续缴存 (a deposit in each of the last {RECENT_MONTHS} months)",
            met=bool(window) and not missing,
            figures={
                "window": f"{_month_text(window[0])}..{_month_text(window[-1])}" if window else "no deposits",
                "missing": ",".join(missing) or "none",
            },
        )
    )

    countable = (FundAccountStatus.NORMAL, FundAccountStatus.SEALED)
    balance = to_yuan(sum((a.balance for a in accounts.values() if a.status in countable), Decimal(0)))
    by_balance = to_yuan(balance * rules.loan_multiple)
    eligible = all(check.met for check in checks)
    limit = min(by_balance, rules.max_loan) if eligible else Decimal(0)
    checks.append(
        RuleCheck(
            rule="loan-limit",
            description="贷款额度 = 可认定余额 × 倍数，且不超过最高额度 (balance × multiple, capped)",
            met=eligible,
            figures={
                "recognised_balance": str(balance),
                "multiple": str(rules.loan_multiple),
                "by_balance": str(by_balance),
                "max_loan": str(to_yuan(rules.max_loan)),
            },
        )
    )
    return LoanEligibility(
        lending_city=lending_city,
        eligible=eligible,
        recognised_deposit_months=total_months,
        recognised_balance=balance,
        loan_limit=to_yuan(limit),
        checks=checks,
    )
