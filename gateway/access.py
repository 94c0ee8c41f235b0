"""What a flow requires of its requester before any data question arises.

Which data a requester receives is the policy's to say (``policies/*.yaml``, enforced by
:mod:`gateway.policy.service`). What is left here is the shape of an operation itself: a settlement is
submitted by an official *of the care city*, so the official must belong to a city. These checks are
pure and name their rule like policy decisions do.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.models import Principal, PrincipalKind


class AccessDenied(Exception):
    """The requester may not use this operation at all (whatever the policy would release)."""


@dataclass(frozen=True)
class AccessVerdict:
    allowed: bool
    rule: str
    reason: str


def decide_medical_settlement(*, principal: Principal) -> AccessVerdict:
    """Whether ``principal`` can submit 异地就医直接结算 claims: an official, on behalf of their own (care) city.

    Which department's officials may see the enrolment a settlement needs is the policy's decision.
    """
    if principal.kind is not PrincipalKind.OFFICIAL:
        return AccessVerdict(
            False, "settlement-by-officials", "only an official of the care city's 医保 office submits claims"
        )
    if principal.city_code is None:
        return AccessVerdict(False, "settlement-care-city", "the official belongs to no city")
    return AccessVerdict(True, "settlement-care-city", "an official submits claims of their city's hospitals")
