"""The built-in access rules, as a pure function: no HTTP, no database."""

from __future__ import annotations

import pytest

from gateway.access import decide_records_access
from gateway.auth.models import Principal, PrincipalKind
from schemas.purposes import Purpose

ALICE, BOB = "430203199005129171", "430302195803089240"

RESIDENT = Principal(
    kind=PrincipalKind.RESIDENT, subject=ALICE, name="A", client_id="czt-portal", scopes=["records:self"]
)
OFFICIAL = Principal(
    kind=PrincipalKind.OFFICIAL, subject="cs-ybj-zhou", name="O", client_id="czt-portal", scopes=["records:read"]
)
CLIENT = Principal(kind=PrincipalKind.CLIENT, subject="c", name="C", client_id="c", scopes=["records:read"])
SCOPELESS = Principal(kind=PrincipalKind.CLIENT, subject="c", name="C", client_id="c", scopes=[])


@pytest.mark.parametrize(
    ("principal", "id_number", "purpose", "allowed", "rule"),
    [
        (RESIDENT, ALICE, Purpose.SELF_SERVICE, True, "resident-own-records"),
        (RESIDENT, ALICE, Purpose.LOAN_APPLICATION, True, "resident-own-records"),
        (RESIDENT, BOB, Purpose.SELF_SERVICE, False, "resident-own-records-only"),
        (RESIDENT, ALICE, Purpose.CASE_HANDLING, False, "resident-purposes"),
        (OFFICIAL, BOB, Purpose.CASE_HANDLING, True, "official-case-handling"),
        (OFFICIAL, BOB, Purpose.SELF_SERVICE, False, "self-service-is-for-residents"),
        (CLIENT, BOB, Purpose.FUND_TRANSFER, True, "client-records-read"),
        (SCOPELESS, BOB, Purpose.FUND_TRANSFER, False, "scope-records-read"),
    ],
)
def test_every_decision_names_its_rule(
    principal: Principal, id_number: str, purpose: Purpose, allowed: bool, rule: str
) -> None:
    verdict = decide_records_access(principal=principal, id_number=id_number, purpose=purpose)
    assert (verdict.allowed, verdict.rule) == (allowed, rule)
    assert verdict.reason
