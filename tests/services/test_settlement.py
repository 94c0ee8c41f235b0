"""The settlement split as a pure function: worked examples, and its invariants over many generated claims."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from mock_cities.profiles import builtin_profiles
from schemas.medical_insurance import InsuranceType
from services.medical_insurance.rules import MedicalInsuranceRules
from services.medical_insurance.settlement import YearToDate, settle

RULES = {profile.code: profile.medical_insurance for profile in builtin_profiles()}
XIANGTAN = RULES["430300"]  # deductible 700, employees 0.80, residents 0.60, cap 250000, unfiled −0.15


def yuan(text: str) -> Decimal:
    return Decimal(text)


def test_a_resident_with_a_filing_pays_the_deductible_and_the_residents_share() -> None:
    split = settle(
        total=yuan("12000.00"),
        insurance_type=InsuranceType.RESIDENT,
        rules=XIANGTAN,
        filed=True,
        year_to_date=YearToDate(),
        account_balance=yuan("500.00"),
    )
    assert (split.deductible, split.fund_paid, split.account_paid, split.cash_paid) == (
        yuan("700.00"),
        yuan("6780.00"),  # (12000 − 700) × 0.60
        yuan("0.00"),  # 城乡居民 have no personal account, whatever the balance says
        yuan("4520.00"),
    )
    assert (split.ratio, split.ratio_reduction) == (yuan("0.60"), yuan("0.00"))


def test_without_a_filing_the_ratio_drops_by_the_citys_reduction() -> None:
    split = settle(
        total=yuan("12000.00"),
        insurance_type=InsuranceType.RESIDENT,
        rules=XIANGTAN,
        filed=False,
        year_to_date=YearToDate(),
        account_balance=yuan("0.00"),
    )
    assert split.ratio == yuan("0.45")
    assert split.fund_paid == yuan("5085.00")  # (12000 − 700) × 0.45
    assert split.cash_paid == yuan("6215.00")


def test_an_employees_account_pays_what_the_fund_leaves_as_far_as_it_goes() -> None:
    changsha = RULES["430100"]  # deductible 1000, employees 0.85
    split = settle(
        total=yuan("3000.00"),
        insurance_type=InsuranceType.EMPLOYEE,
        rules=changsha,
        filed=True,
        year_to_date=YearToDate(deductible_used=yuan("400.00")),
        account_balance=yuan("100.00"),
    )
    assert split.deductible == yuan("600.00")  # what this year's 1000 has left
    assert split.fund_paid == yuan("2040.00")  # (3000 − 600) × 0.85
    assert split.account_paid == yuan("100.00")  # the whole balance; the remainder is 360
    assert split.cash_paid == yuan("260.00")


def test_the_cap_cuts_the_funds_share_and_says_so() -> None:
    split = settle(
        total=yuan("10000.00"),
        insurance_type=InsuranceType.EMPLOYEE,
        rules=XIANGTAN,
        filed=True,
        year_to_date=YearToDate(deductible_used=yuan("700.00"), fund_paid=yuan("249000.00")),
        account_balance=yuan("0.00"),
    )
    assert (split.deductible, split.fund_paid, split.capped) == (yuan("0.00"), yuan("1000.00"), True)
    assert split.cash_paid == yuan("9000.00")


def test_rounding_is_half_up_to_the_fen() -> None:
    # (800.05 − 700) × 0.45 = 45.0225 → 45.02; (700.11 − 700) × 0.45 = 0.0495 → 0.05
    for total, fund in (("800.05", "45.02"), ("700.11", "0.05")):
        split = settle(
            total=yuan(total),
            insurance_type=InsuranceType.RESIDENT,
            rules=XIANGTAN,
            filed=False,
            year_to_date=YearToDate(),
            account_balance=yuan("0.00"),
        )
        assert split.fund_paid == yuan(fund)


@pytest.mark.parametrize("total", ["0.00", "-1.00", "10.005"])
def test_a_total_must_be_positive_whole_fen(total: str) -> None:
    with pytest.raises(ValueError, match="positive amount"):
        settle(
            total=yuan(total),
            insurance_type=InsuranceType.RESIDENT,
            rules=XIANGTAN,
            filed=True,
            year_to_date=YearToDate(),
            account_balance=yuan("0.00"),
        )


def _fen(rng: random.Random, high: int) -> Decimal:
    """A random amount in yuan, whole 分, from 0 to ``high`` yuan; small amounts as likely as large ones."""
    scale = rng.choice((1, 100, 10_000, high))
    return Decimal(rng.randint(0, min(scale, high) * 100)) / 100


def _random_rules(rng: random.Random) -> MedicalInsuranceRules:
    base = rng.choice(list(RULES.values()))
    return base.model_copy(
        update={
            "deductible": _fen(rng, 3000),
            "reimbursement_ratio": Decimal(rng.randint(0, 100)) / 100,
            "resident_reimbursement_ratio": Decimal(rng.randint(0, 100)) / 100,
            "annual_cap": _fen(rng, 500_000),
            "unfiled_ratio_reduction": Decimal(rng.randint(0, 30)) / 100,
        }
    )


def test_invariants_hold_for_many_generated_claims() -> None:
    rng = random.Random(20240601)
    for case in range(5000):
        rules = _random_rules(rng)
        total = max(Decimal("0.01"), _fen(rng, 300_000))
        kind = rng.choice(list(InsuranceType))
        year_to_date = YearToDate(deductible_used=_fen(rng, 4000), fund_paid=_fen(rng, 600_000))
        balance = _fen(rng, 50_000)
        filed = rng.random() < 0.5
        split = settle(
            total=total,
            insurance_type=kind,
            rules=rules,
            filed=filed,
            year_to_date=year_to_date,
            account_balance=balance,
        )
        parts = (split.deductible, split.fund_paid, split.account_paid, split.cash_paid)
        context = f"case {case}: {total=} {kind=} {filed=} {year_to_date=} {balance=} {rules=} → {split}"
        assert sum(parts) == total, context
        assert all(part >= 0 and part == part.quantize(Decimal("0.01")) for part in parts), context
        assert split.deductible <= max(Decimal(0), rules.deductible - year_to_date.deductible_used), context
        assert split.fund_paid <= max(Decimal(0), rules.annual_cap - year_to_date.fund_paid), context
        assert split.account_paid <= balance, context
        if kind is InsuranceType.RESIDENT:
            assert split.account_paid == 0, context
        # The fund pays (total − deductible) × ratio to the 分, unless the cap cut it.
        uncapped = ((total - split.deductible) * split.ratio).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert split.fund_paid == uncapped or (split.capped and split.fund_paid < uncapped), context
        # The account pays before cash does: cash only once the balance is spent.
        assert split.cash_paid == 0 or kind is InsuranceType.RESIDENT or split.account_paid == balance, context
        # A filing never makes the fund pay less, nor the patient more.
        other = settle(
            total=total,
            insurance_type=kind,
            rules=rules,
            filed=not filed,
            year_to_date=year_to_date,
            account_balance=balance,
        )
        with_filing, without = (split, other) if filed else (other, split)
        assert with_filing.fund_paid >= without.fund_paid, context
        assert with_filing.deductible + with_filing.cash_paid <= without.deductible + without.cash_paid, context


def test_claims_in_a_row_never_exceed_the_years_deductible_or_cap() -> None:
    rng = random.Random(7)
    for _ in range(300):
        rules = _random_rules(rng)
        kind = rng.choice(list(InsuranceType))
        used = YearToDate()
        balance = _fen(rng, 20_000)
        for _ in range(rng.randint(1, 12)):
            split = settle(
                total=max(Decimal("0.01"), _fen(rng, 200_000)),
                insurance_type=kind,
                rules=rules,
                filed=rng.random() < 0.5,
                year_to_date=used,
                account_balance=balance,
            )
            used = YearToDate(
                deductible_used=used.deductible_used + split.deductible, fund_paid=used.fund_paid + split.fund_paid
            )
            balance -= split.account_paid
            assert used.deductible_used <= rules.deductible
            assert used.fund_paid <= rules.annual_cap
            assert balance >= 0
