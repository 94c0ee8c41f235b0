"""The built-in access rules, as a pure function: no HTTP, no database."""

from __future__ import annotations

import pytest

from gateway.access import decide_medical_settlement, decide_records_access
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


def _official(department: str | None, city_code: str | None) -> Principal:
    return OFFICIAL.model_copy(update={"department": department, "city_code": city_code})


@pytest.mark.parametrize(
    ("principal", "allowed", "rule"),
    [
        (_official("medical_insurance", "430100"), True, "settlement-care-city-medical-insurance"),
        (_official("provident_fund", "430200"), False, "settlement-by-medical-insurance"),
        (_official("medical_insurance", None), False, "settlement-care-city"),
        (RESIDENT, False, "settlement-by-officials"),
        (CLIENT, False, "settlement-by-officials"),
    ],
)
def test_only_a_medical_insurance_official_of_a_city_submits_claims(
    principal: Principal, allowed: bool, rule: str
) -> None:
    verdict = decide_medical_settlement(principal=principal)
    assert (verdict.allowed, verdict.rule) == (allowed, rule)
    assert verdict.reason


def test_residents_may_file_for_treatment_elsewhere_for_themselves_only() -> None:
    own = decide_records_access(principal=RESIDENT, id_number=ALICE, purpose=Purpose.MEDICAL_FILING)
    other = decide_records_access(principal=RESIDENT, id_number=BOB, purpose=Purpose.MEDICAL_FILING)
    assert (own.allowed, other.allowed) == (True, False)
