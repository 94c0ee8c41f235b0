"""Loan eligibility as a pure function: deposits in every city count, the lending city's rules decide."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mock_cities.profiles import load_profile
from schemas.provident_fund import Deposit, FundAccount, FundAccountStatus, ProvidentFundRecord
from services.provident_fund.eligibility import FundHolding, loan_eligibility

CHANGSHA, ZHUZHOU, XIANGTAN = (load_profile(name) for name in ("changsha", "zhuzhou", "xiangtan"))


def holding(profile_name: str, status: FundAccountStatus, months: int, balance: str, last: int) -> FundHolding:
    """An account with ``months`` deposit months, the stored history ending ``last`` months before 2026-10."""
    profile = load_profile(profile_name)
    end = 2026 * 12 + 9 - last
    deposits = [
        Deposit(month=f"{m // 12}-{m % 12 + 1:02d}", employer_amount=Decimal(500), personal_amount=Decimal(500))
        for m in range(end - min(months, 60) + 1, end + 1)
    ]
    account = FundAccount(
        account_no=f"{profile.local_no_prefix}1",
        status=status,
        employer=None,
        opened_on=date(2015, 1, 1),
        deposit_base=Decimal(5000),
        monthly_deposit=Decimal(1000),
        balance=Decimal(balance),
        deposit_months=months,
    )
    return FundHolding(city=profile.ref, record=ProvidentFundRecord(account=account, deposits=deposits))


def checks_of(result: object) -> dict[str, bool]:
    return {check.rule: check.met for check in result.checks}  # type: ignore[attr-defined]


def test_a_mover_is_eligible_where_he_now_works_with_months_from_both_cities() -> None:
    holdings = [
        holding("changsha", FundAccountStatus.NORMAL, 40, "4000", last=0),
        holding("zhuzhou", FundAccountStatus.SEALED, 99, "60000", last=40),
    ]
    result = loan_eligibility(lending_city=CHANGSHA.ref, rules=CHANGSHA.provident_fund, holdings=holdings)
    assert result.eligible
    assert result.recognised_deposit_months == 139
    assert result.recognised_balance == Decimal("64000.00")
    # 64,000 × 15 = 960,000, capped at Changsha's 700,000.
    assert result.loan_limit == Decimal("700000.00")
    loan = next(c for c in result.checks if c.rule == "loan-limit")
    assert loan.figures["by_balance"] == "960000.00"


def test_after_a_transfer_the_closed_accounts_months_are_not_counted_twice() -> None:
    """The transfer moved Zhuzhou's 99 months into Changsha's account (40 + 99) and closed Zhuzhou's (销户)."""
    holdings = [
        holding("changsha", FundAccountStatus.NORMAL, 139, "64000", last=0),
        holding("zhuzhou", FundAccountStatus.CLOSED, 99, "0", last=40),
    ]
    result = loan_eligibility(lending_city=CHANGSHA.ref, rules=CHANGSHA.provident_fund, holdings=holdings)
    assert result.recognised_deposit_months == 139
    months = next(c for c in result.checks if c.rule == "recognised-deposit-months")
    assert months.figures["closed_not_counted"] == ZHUZHOU.code
    assert f"months_{ZHUZHOU.code}" not in months.figures


def test_months_elsewhere_make_up_a_short_local_history() -> None:
    # Xiangtan wants 12 months; 8 there alone would not do, 8 + 10 in Changsha do.
    alone = [holding("xiangtan", FundAccountStatus.NORMAL, 8, "9000", last=0)]
    together = [*alone, holding("changsha", FundAccountStatus.SEALED, 10, "11000", last=8)]
    assert not loan_eligibility(lending_city=XIANGTAN.ref, rules=XIANGTAN.provident_fund, holdings=alone).eligible
    result = loan_eligibility(lending_city=XIANGTAN.ref, rules=XIANGTAN.provident_fund, holdings=together)
    assert result.eligible
    # (9,000 + 11,000) × 10
    assert result.loan_limit == Decimal("200000.00")


def test_no_active_account_in_the_lending_city_is_not_eligible() -> None:
    holdings = [holding("zhuzhou", FundAccountStatus.SEALED, 99, "60000", last=0)]
    result = loan_eligibility(lending_city=ZHUZHOU.ref, rules=ZHUZHOU.provident_fund, holdings=holdings)
    assert not result.eligible
    assert checks_of(result)["active-account-in-lending-city"] is False
    assert result.loan_limit == Decimal("0.00")


def test_a_frozen_account_anywhere_blocks_the_loan() -> None:
    holdings = [
        holding("changsha", FundAccountStatus.NORMAL, 40, "40000", last=0),
        holding("xiangtan", FundAccountStatus.FROZEN, 20, "10000", last=40),
    ]
    result = loan_eligibility(lending_city=CHANGSHA.ref, rules=CHANGSHA.provident_fund, holdings=holdings)
    assert checks_of(result)["no-frozen-account"] is False
    assert not result.eligible


def test_a_gap_in_the_last_six_months_is_named() -> None:
    # Changsha's history ends in July; Zhuzhou posted October only: August and September are missing.
    holdings = [
        holding("changsha", FundAccountStatus.NORMAL, 40, "40000", last=3),
        holding("zhuzhou", FundAccountStatus.SEALED, 10, "1000", last=0),
    ]
    holdings[1].record.deposits[:] = holdings[1].record.deposits[-1:]
    result = loan_eligibility(lending_city=CHANGSHA.ref, rules=CHANGSHA.provident_fund, holdings=holdings)
    recent = next(c for c in result.checks if c.rule == "continuous-recent-deposits")
    assert not recent.met
    assert recent.figures["missing"] == "2026-08,2026-09"


def test_an_unpaid_loan_anywhere_blocks_a_new_one() -> None:
    indebted = holding("zhuzhou", FundAccountStatus.SEALED, 30, "20000", last=40)
    indebted.record.account.outstanding_loan = Decimal("150000.00")
    holdings = [holding("changsha", FundAccountStatus.NORMAL, 40, "40000", last=0), indebted]
    result = loan_eligibility(lending_city=CHANGSHA.ref, rules=CHANGSHA.provident_fund, holdings=holdings)
    loan = next(c for c in result.checks if c.rule == "no-outstanding-loan")
    assert not loan.met and loan.figures == {"loan_430200": "150000.00"}
    assert not result.eligible
