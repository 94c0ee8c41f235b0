"""医保 calculations shared by every city."""

from __future__ import annotations

from decimal import Decimal

from schemas.money import to_yuan
from services.medical_insurance.rules import MedicalInsuranceRules


def monthly_contribution(*, base: Decimal, rules: MedicalInsuranceRules) -> tuple[Decimal, Decimal]:
    """(employer, personal) amounts of one month's employee contribution on ``base``."""
    return to_yuan(base * rules.employer_rate), to_yuan(base * rules.personal_rate)


def resident_monthly_premium(*, rules: MedicalInsuranceRules) -> Decimal:
    """城乡居民 premium spread over twelve months (the exchange reports contributions monthly)."""
    return to_yuan(rules.resident_annual_premium / 12)
