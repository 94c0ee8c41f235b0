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
