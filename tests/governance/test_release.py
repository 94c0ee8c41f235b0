"""Release: a city's canonical record cut to what the decisions allow, masked as they say."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from governance.catalogue import CATEGORY_NAMES
from governance.engine import AccessRequest, Decision, Requester, RequesterKind, compile_policy
from governance.masks import Mask, MaskKind, pseudonym
from governance.policy import load_policy
from governance.release import release
from schemas.cities import CityRef
from schemas.idcard import make_id_number
from schemas.medical_insurance import (
    Contribution,
    Enrolment,
    EnrolmentStatus,
    InsuranceType,
    MedicalInsuranceRecord,
)
from schemas.provident_fund import Deposit, FundAccount, FundAccountStatus, ProvidentFundRecord
from schemas.purposes import Purpose
from schemas.records import Gender, Person, PersonRecords
from schemas.talent import (
    ContinuingEducationYear,
    ProfessionalTitle,
    SkillCertificate,
    TalentRecord,
    TitleGrade,
)

KEY = b"czt-test-pseudonym-key-0123456789"
ID_NUMBER = make_id_number("430203", date(1990, 5, 12), 917)
ZHUZHOU = CityRef(code="430200", name="株洲", name_en="Zhuzhou")


def person_records(*, provident_fund: bool = True) -> dict[str, Any]:
    """What 株洲 holds on 王秀英, as the city sends it; ``provident_fund=False``: no 公积金 account here."""
    fund = ProvidentFundRecord(
        account=FundAccount(
            account_no="ZZ0012345678",
            status=FundAccountStatus.SEALED,
            employer="株洲电力机车有限公司",
            opened_on=date(2015, 3, 1),
            deposit_base=Decimal(6000),
            monthly_deposit=Decimal(1440),
            balance=Decimal("52340.5"),
            deposit_months=96,
        ),
        deposits=[
            Deposit(month="2024-01", employer_amount=Decimal(720), personal_amount=Decimal(720)),
            Deposit(month="2024-02", employer_amount=Decimal(720), personal_amount=Decimal(720)),
            Deposit(month="2024-03", employer_amount=Decimal(750), personal_amount=Decimal(750)),
        ],
    )
    return PersonRecords(
        city=ZHUZHOU,
        person=Person(id_number=ID_NUMBER, name="王秀英", gender=Gender.FEMALE),
        medical_insurance=MedicalInsuranceRecord(
            enrolment=Enrolment(
                local_person_no="ZZYB000321",
                insurance_type=InsuranceType.RESIDENT,
                status=EnrolmentStatus.ACTIVE,
                since=date(2016, 1, 1),
                contribution_months=60,
                account_balance=Decimal(0),
                employer=None,
            ),
            contributions=[
                Contribution(month="2024-01", base=Decimal(0), employer_amount=Decimal(0), personal_amount=Decimal(380))
            ],
        ),
        provident_fund=fund if provident_fund else None,
        talent=TalentRecord(
            skill_certificates=[
                SkillCertificate(
                    certificate_no="S430200-001",
                    occupation="电工",
                    level=3,
                    issued_on=date(2019, 6, 30),
                    issuer="株洲市职业技能鉴定中心",
                )
            ],
            titles=[
                ProfessionalTitle(
                    certificate_no="T430200-001",
                    series="工程",
                    title="工程师",
                    grade=TitleGrade.INTERMEDIATE,
                    awarded_on=date(2020, 12, 1),
                )
            ],
            continuing_education=[ContinuingEducationYear(year=2024, hours=90, required_hours=90)],
        ),
    ).model_dump(mode="json")


def allow(category: str, *fields: str, masks: Mapping[str, Mask] | None = None) -> Decision:
    return Decision(True, "test-rule", "released for the test", category, fields=fields, masks=dict(masks or {}))


def deny(category: str) -> Decision:
    return Decision(False, "test-deny", "refused for the test", category)


def decisions(*made: Decision) -> dict[str, Decision]:
    return {decision.category: decision for decision in made}


CITY = {"code": "430200", "name": "株洲", "name_en": "Zhuzhou"}


def test_only_the_released_categories_and_fields_come_out() -> None:
    out = release(
        person_records(),
        decisions(
            allow("identity", "name", "gender"),
            deny("provident_fund.account"),
            allow("medical_insurance.enrolment", "status", "insurance_type"),
            deny("medical_insurance.contributions"),
        ),
        hash_key=KEY,
    )

    assert out == {
        "city": CITY,
        "person": {"name": "王秀英", "gender": "female"},
        "medical_insurance": {"enrolment": {"status": "active", "insurance_type": "resident"}},
    }


def test_masked_fields_are_replaced_by_their_masked_form() -> None:
    out = release(
        person_records(),
        decisions(
            allow("identity", "gender", masks={"id_number": Mask(MaskKind.PARTIAL), "name": Mask(MaskKind.PARTIAL)}),
            allow(
                "provident_fund.account",
                "status",
                masks={
                    "account_no": Mask(MaskKind.HASH),
                    "opened_on": Mask(MaskKind.YEAR),
                    "balance": Mask(MaskKind.REDACT),
                },
            ),
            allow("medical_insurance.enrolment", "status", masks={"employer": Mask(MaskKind.REDACT)}),
        ),
        hash_key=KEY,
    )

    assert out["person"] == {
        "gender": "female",
        "id_number": f"{ID_NUMBER[:6]}********{ID_NUMBER[-4:]}",
        "name": "王**",
    }
    assert out["provident_fund"] == {
        "account": {
            "status": "sealed",
            "account_no": pseudonym("ZZ0012345678", key=KEY),
            "opened_on": "2015",
            "balance": "***",
        }
    }
    # Resident insurance has no employer: a masked None stays None rather than pretending there is one.
    assert out["medical_insurance"] == {"enrolment": {"status": "active", "employer": None}}


def test_a_list_category_is_cut_item_by_item() -> None:
    out = release(
        person_records(),
        decisions(allow("provident_fund.deposits", "month", masks={"personal_amount": Mask(MaskKind.REDACT)})),
        hash_key=KEY,
    )

    assert out["provident_fund"] == {
        "deposits": [
            {"month": "2024-01", "personal_amount": "***"},
            {"month": "2024-02", "personal_amount": "***"},
            {"month": "2024-03", "personal_amount": "***"},
        ]
    }


def test_items_released_whole_pass_through_and_an_item_with_a_field_not_released_is_cut() -> None:
    record = person_records()
    deposits = record["provident_fund"]["deposits"]
    deposits[1]["note"] = "a field no decision names"  # e.g. a city sending more than the standard
    every_field = ("month", "employer_amount", "personal_amount")

    out = release(record, decisions(allow("provident_fund.deposits", *every_field)), hash_key=KEY)

    released = out["provident_fund"]["deposits"]
    assert released[0] is deposits[0] and released[2] is deposits[2]  # whole: not copied
    assert released[1] == {name: deposits[1][name] for name in every_field}


def test_two_categories_of_one_domain_come_out_side_by_side() -> None:
    out = release(
        person_records(),
        decisions(allow("talent.titles", "title", "grade"), allow("talent.continuing_education", "year", "hours")),
        hash_key=KEY,
    )

    assert out["talent"] == {
        "titles": [{"title": "工程师", "grade": "intermediate"}],
        "continuing_education": [{"year": 2024, "hours": 90}],
    }


def test_a_domain_the_city_holds_nothing_on_stays_null_when_released() -> None:
    record = person_records(provident_fund=False)

    account_only = release(record, decisions(allow("provident_fund.account", "status")), hash_key=KEY)
    both = release(
        record,
        decisions(allow("provident_fund.account", "status"), allow("provident_fund.deposits", "month")),
        hash_key=KEY,
    )

    assert account_only == {"city": CITY, "provident_fund": None}
    assert both == {"city": CITY, "provident_fund": None}


def test_a_domain_the_city_holds_nothing_on_is_absent_when_withheld() -> None:
    record = person_records(provident_fund=False)

    out = release(
        record,
        decisions(allow("identity", "name"), deny("provident_fund.account"), deny("provident_fund.deposits")),
        hash_key=KEY,
    )

    assert "provident_fund" not in out


def test_the_city_is_always_kept() -> None:
    record = person_records()

    assert release(record, {}, hash_key=KEY) == {"city": CITY}
    assert release(record, decisions(*(deny(c) for c in CATEGORY_NAMES)), hash_key=KEY) == {"city": CITY}


def test_the_record_given_is_not_changed() -> None:
    record = person_records()
    before = copy.deepcopy(record)

    release(
        record,
        decisions(
            allow("identity", masks={"id_number": Mask(MaskKind.PARTIAL), "name": Mask(MaskKind.HASH)}),
            allow("provident_fund.account", "status", masks={"balance": Mask(MaskKind.REDACT)}),
            allow("provident_fund.deposits", masks={"month": Mask(MaskKind.YEAR)}),
            deny("medical_insurance.enrolment"),
        ),
        hash_key=KEY,
    )

    assert record == before


def test_a_fund_officer_under_the_default_policy_receives_what_the_product_promises() -> None:
    policy = compile_policy(load_policy(Path(__file__).resolve().parents[2] / "policies" / "default.yaml"))
    clerk = Requester(
        kind=RequesterKind.OFFICIAL, client_id="czt-portal", city="430200", department="provident_fund", role="clerk"
    )
    made = {c: policy.decide(AccessRequest(clerk, c, Purpose.FUND_TRANSFER)) for c in CATEGORY_NAMES}

    out = release(person_records(), made, hash_key=KEY)

    assert set(out) == {"city", "person", "provident_fund"}
    assert out["person"] == {
        "name": "王秀英",
        "gender": "female",
        "id_number": f"{ID_NUMBER[:6]}********{ID_NUMBER[-4:]}",
    }
    assert out["provident_fund"]["account"]["account_no"] == "ZZ00*****678"
    assert out["provident_fund"]["account"]["balance"] == "52340.50"
    assert len(out["provident_fund"]["deposits"]) == 3
