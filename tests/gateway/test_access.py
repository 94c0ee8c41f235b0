"""What a flow requires of its requester, as a pure function: no HTTP, no database."""

from __future__ import annotations

import pytest

from gateway.access import decide_medical_settlement
from gateway.auth.models import Principal, PrincipalKind

ALICE = "430203199005129171"

RESIDENT = Principal(
    kind=PrincipalKind.RESIDENT, subject=ALICE, name="A", client_id="czt-portal", scopes=["records:self"]
)
OFFICIAL = Principal(
    kind=PrincipalKind.OFFICIAL, subject="cs-ybj-zhou", name="O", client_id="czt-portal", scopes=["records:read"]
)
CLIENT = Principal(kind=PrincipalKind.CLIENT, subject="c", name="C", client_id="c", scopes=["records:read"])


def _official(department: str | None, city_code: str | None) -> Principal:
    return OFFICIAL.model_copy(update={"department": department, "city_code": city_code})


@pytest.mark.parametrize(
    ("principal", "allowed", "rule"),
    [
        (_official("medical_insurance", "430100"), True, "settlement-care-city"),
        (_official("medical_insurance", None), False, "settlement-care-city"),
        (RESIDENT, False, "settlement-by-officials"),
        (CLIENT, False, "settlement-by-officials"),
    ],
)
def test_only_an_official_of_a_city_submits_claims(principal: Principal, allowed: bool, rule: str) -> None:
    verdict = decide_medical_settlement(principal=principal)
    assert (verdict.allowed, verdict.rule) == (allowed, rule)
    assert verdict.reason
