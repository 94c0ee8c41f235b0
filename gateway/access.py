"""Who may read whose records, for which purpose: a pure decision over plain data.

This is the gateway's built-in rule set; the governance work (policies as files, consent, masking)
replaces it with a policy engine behind the same :func:`decide_records_access` contract. Every
decision names its rule, and its id travels to the city in the service token.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.models import Principal, PrincipalKind

PURPOSES: dict[str, str] = {
    "self-service": "本人查询 — a resident reads their own records",
    "case-handling": "业务经办 — an official handles the resident's application",
    "fund-transfer": "公积金转移接续",
    "medical-settlement": "异地就医直接结算",
    "credential-verification": "证书核验",
    "talent-evaluation": "职称评审",
}


@dataclass(frozen=True)
class AccessVerdict:
    allowed: bool
    rule: str
    reason: str


def decide_records_access(*, principal: Principal, id_number: str, purpose: str) -> AccessVerdict:
    """Whether ``principal`` may read ``id_number``'s records for ``purpose``."""
    if purpose not in PURPOSES:
        return AccessVerdict(False, "unknown-purpose", f"purpose {purpose!r} is not one of {sorted(PURPOSES)}")
    if principal.kind is PrincipalKind.RESIDENT:
        if principal.subject != id_number:
            return AccessVerdict(False, "resident-own-records-only", "residents may read only their own records")
        if purpose != "self-service":
            return AccessVerdict(False, "resident-self-service", "residents read their records for self-service")
        return AccessVerdict(True, "resident-self-service", "a resident reads their own records")
    if "records:read" not in principal.scopes:
        return AccessVerdict(False, "scope-records-read", "the token lacks the records:read scope")
    if purpose == "self-service":
        return AccessVerdict(False, "self-service-is-for-residents", "only the resident can use self-service")
    if principal.kind is PrincipalKind.OFFICIAL:
        return AccessVerdict(True, "official-case-handling", "an official reads records for a stated purpose")
    return AccessVerdict(True, "client-records-read", "an API client with records:read reads for a stated purpose")
