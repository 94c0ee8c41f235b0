"""Who may read whose records, for which purpose: a pure decision over plain data.

This is the gateway's built-in rule set; the governance work (policies as files, consent, masking)
replaces it with a policy engine behind the same :func:`decide_records_access` contract. Every
decision names its rule, and its id travels to the city in the service token.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.models import Principal, PrincipalKind
from schemas.purposes import RESIDENT_PURPOSES, Purpose


class AccessDenied(Exception):
    """The requester may not read these records for this purpose."""


@dataclass(frozen=True)
class AccessVerdict:
    allowed: bool
    rule: str
    reason: str


def decide_records_access(*, principal: Principal, id_number: str, purpose: Purpose) -> AccessVerdict:
    """Whether ``principal`` may read ``id_number``'s records for ``purpose``."""
    if principal.kind is PrincipalKind.RESIDENT:
        if principal.subject != id_number:
            return AccessVerdict(False, "resident-own-records-only", "residents may read only their own records")
        if purpose not in RESIDENT_PURPOSES:
            return AccessVerdict(False, "resident-purposes", f"residents do not read their records for {purpose}")
        return AccessVerdict(True, "resident-own-records", "a resident reads their own records")
    if "records:read" not in principal.scopes:
        return AccessVerdict(False, "scope-records-read", "the token lacks the records:read scope")
    if purpose is Purpose.SELF_SERVICE:
        return AccessVerdict(False, "self-service-is-for-residents", "only the resident can use self-service")
    if principal.kind is PrincipalKind.OFFICIAL:
        return AccessVerdict(True, "official-case-handling", "an official reads records for a stated purpose")
    return AccessVerdict(True, "client-records-read", "an API client with records:read reads for a stated purpose")


MEDICAL_INSURANCE_DEPARTMENT = "medical_insurance"
"""The department of a city's 医疗保障局 officials (see ``gateway/auth/demo.py``)."""


def decide_medical_settlement(*, principal: Principal) -> AccessVerdict:
    """Whether ``principal`` may submit 异地就医直接结算 claims: a 医保 official, for their own (care) city."""
    if principal.kind is not PrincipalKind.OFFICIAL:
        return AccessVerdict(
            False, "settlement-by-officials", "only an official of the care city's 医保 office submits claims"
        )
    if principal.department != MEDICAL_INSURANCE_DEPARTMENT:
        return AccessVerdict(
            False, "settlement-by-medical-insurance", f"the {principal.department} department does not settle claims"
        )
    if principal.city_code is None:
        return AccessVerdict(False, "settlement-care-city", "the official belongs to no city")
    return AccessVerdict(
        True, "settlement-care-city-medical-insurance", "a 医保 official submits claims of their city's hospitals"
    )
