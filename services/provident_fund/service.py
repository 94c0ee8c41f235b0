"""公积金 calculations shared by every city."""

from __future__ import annotations

from decimal import Decimal

from schemas.money import to_yuan
from services.provident_fund.rules import ProvidentFundRules


def deposit_base(*, wage: Decimal, rules: ProvidentFundRules) -> Decimal:
    """The wage clamped to the city's 缴存基数 floor and ceiling."""
    return to_yuan(min(max(wage, rules.min_base), rules.max_base))


def monthly_deposit(*, base: Decimal, rules: ProvidentFundRules) -> tuple[Decimal, Decimal]:
    """(employer, personal) amounts of one month's deposit on ``base``."""
    return to_yuan(base * rules.employer_rate), to_yuan(base * rules.personal_rate)
