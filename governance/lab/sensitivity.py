"""How much releasing each field costs a resident's privacy: a weight per field, a factor per mask.

Weights run from 0 (nothing personal: a city's annual requirement) to 5 (identifies the person outright);
a field of weight 3 or more counts as *sensitive*. A masked field costs its weight times its mask's factor:
a partial ID number still narrows a search, a keyed pseudonym still links records, a year still dates a
life event, a redaction says only that the field exists. The table is a starting point for analysts to
argue over, in one place.
"""

from __future__ import annotations

from governance.catalogue import CATEGORIES
from governance.masks import MaskKind

SENSITIVE = 3
"""Weight from which a field counts as sensitive."""

_WEIGHTS: dict[str, int] = {
    "identity.id_number": 5,
    "identity.name": 3,
    "identity.gender": 1,
    "medical_insurance.enrolment.local_person_no": 3,
    "medical_insurance.enrolment.insurance_type": 2,
    "medical_insurance.enrolment.status": 2,
    "medical_insurance.enrolment.since": 1,
    "medical_insurance.enrolment.contribution_months": 2,
    "medical_insurance.enrolment.account_balance": 4,
    "medical_insurance.enrolment.employer": 3,
    "medical_insurance.contributions.month": 1,
    "medical_insurance.contributions.base": 4,
    "medical_insurance.contributions.employer_amount": 3,
    "medical_insurance.contributions.personal_amount": 3,
    "provident_fund.account.account_no": 4,
    "provident_fund.account.status": 2,
    "provident_fund.account.employer": 3,
    "provident_fund.account.opened_on": 1,
    "provident_fund.account.deposit_base": 4,
    "provident_fund.account.monthly_deposit": 3,
    "provident_fund.account.balance": 4,
    "provident_fund.account.deposit_months": 2,
    "provident_fund.account.outstanding_loan": 4,
    "provident_fund.deposits.month": 1,
    "provident_fund.deposits.employer_amount": 3,
    "provident_fund.deposits.personal_amount": 3,
    "talent.skill_certificates.certificate_no": 3,
    "talent.titles.certificate_no": 3,
    "talent.continuing_education.required_hours": 0,
}
DEFAULT_WEIGHT = 1
"""Every field not listed: personal, but not sensitive on its own (an occupation, a year, hours)."""

MASK_FACTOR: dict[MaskKind, float] = {
    MaskKind.PARTIAL: 0.4,
    MaskKind.HASH: 0.2,
    MaskKind.YEAR: 0.3,
    MaskKind.REDACT: 0.0,
}

WEIGHTS: dict[str, int] = {
    f"{name}.{field}": _WEIGHTS.get(f"{name}.{field}", DEFAULT_WEIGHT)
    for name, category in CATEGORIES.items()
    for field in category.fields
}
"""``category.field`` → weight, for every field of the catalogue."""
