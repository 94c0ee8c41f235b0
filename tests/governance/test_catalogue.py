"""The data catalogue: categories are the canonical model's parts, patterns expand, services need known data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from governance.catalogue import CATEGORIES, CATEGORY_NAMES, SERVICES, Service, expand_categories
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

MODELS: dict[str, type[BaseModel]] = {
    "identity": Person,
    "medical_insurance.enrolment": Enrolment,
    "medical_insurance.contributions": Contribution,
    "provident_fund.account": FundAccount,
    "provident_fund.deposits": Deposit,
    "talent.skill_certificates": SkillCertificate,
    "talent.titles": ProfessionalTitle,
    "talent.continuing_education": ContinuingEducationYear,
}


def full_record() -> dict[str, Any]:
    """A record with one item in every list, so that every category's path leads somewhere."""
    return PersonRecords(
        city=CityRef(code="430100", name="长沙"),
        person=Person(id_number=make_id_number("430102", date(1988, 8, 8), 11), name="刘洋", gender=Gender.MALE),
        medical_insurance=MedicalInsuranceRecord(
            enrolment=Enrolment(
                local_person_no="CSYB1",
                insurance_type=InsuranceType.EMPLOYEE,
                status=EnrolmentStatus.ACTIVE,
                since=date(2012, 7, 1),
                contribution_months=140,
                account_balance=Decimal("3120.4"),
                employer="长沙银行",
            ),
            contributions=[
                Contribution(
                    month="2024-01", base=Decimal(8000), employer_amount=Decimal(640), personal_amount=Decimal(160)
                )
            ],
        ),
        provident_fund=ProvidentFundRecord(
            account=FundAccount(
                account_no="CS1",
                status=FundAccountStatus.NORMAL,
                opened_on=date(2012, 7, 1),
                deposit_base=Decimal(8000),
                monthly_deposit=Decimal(1920),
                balance=Decimal(98000),
                deposit_months=140,
            ),
            deposits=[Deposit(month="2024-01", employer_amount=Decimal(960), personal_amount=Decimal(960))],
        ),
        talent=TalentRecord(
            skill_certificates=[
                SkillCertificate(
                    certificate_no="S1", occupation="电工", level=2, issued_on=date(2018, 1, 1), issuer="x"
                )
            ],
            titles=[
                ProfessionalTitle(
                    certificate_no="T1",
                    series="工程",
                    title="高级工程师",
                    grade=TitleGrade.ASSOCIATE_SENIOR,
                    awarded_on=date(2021, 1, 1),
                )
            ],
            continuing_education=[ContinuingEducationYear(year=2024, hours=72, required_hours=90)],
        ),
    ).model_dump(mode="json")


def test_every_part_of_the_canonical_record_is_a_category() -> None:
    assert tuple(CATEGORIES) == tuple(MODELS)  # in the order of a record
    assert tuple(CATEGORIES) == CATEGORY_NAMES


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_a_categorys_fields_are_its_canonical_models_fields(name: str) -> None:
    category = CATEGORIES[name]

    assert category.name == name
    assert category.fields == tuple(MODELS[name].model_fields)
    assert category.domain == name.split(".")[0]


@pytest.mark.parametrize("name", CATEGORY_NAMES)
def test_a_categorys_path_leads_to_its_fields_in_a_record(name: str) -> None:
    category = CATEGORIES[name]
    node: Any = full_record()
    for key in category.path:
        node = node[key]

    items = node if category.many else [node]
    assert isinstance(node, list) is category.many
    assert [tuple(item) for item in items] == [category.fields] * len(items)


@pytest.mark.parametrize(
    ("name", "dates"),
    [
        ("identity", set()),
        ("medical_insurance.enrolment", {"since"}),
        ("medical_insurance.contributions", {"month"}),
        ("provident_fund.account", {"opened_on"}),
        ("provident_fund.deposits", {"month"}),
        ("talent.skill_certificates", {"issued_on"}),
        ("talent.titles", {"awarded_on"}),
        ("talent.continuing_education", set()),  # `year` is a number, not a date
    ],
)
def test_date_fields_are_the_dates_and_months(name: str, dates: set[str]) -> None:
    assert CATEGORIES[name].date_fields == dates


EXPANSIONS = [
    (["identity"], ("identity",)),
    (("provident_fund.account",), ("provident_fund.account",)),
    (["provident_fund.*"], ("provident_fund.account", "provident_fund.deposits")),
    (["talent.*"], ("talent.skill_certificates", "talent.titles", "talent.continuing_education")),
    (["*"], CATEGORY_NAMES),
    (
        ["identity", "medical_insurance.*"],
        ("identity", "medical_insurance.enrolment", "medical_insurance.contributions"),
    ),
    (["provident_fund.deposits", "provident_fund.*"], ("provident_fund.deposits", "provident_fund.account")),
    (["identity", "*"], CATEGORY_NAMES),
    ([], ()),
]


@pytest.mark.parametrize(("patterns", "names"), EXPANSIONS)
def test_category_patterns_expand_in_order_without_repeats(
    patterns: list[str] | tuple[str, ...], names: tuple[str, ...]
) -> None:
    assert expand_categories(patterns) == names


@pytest.mark.parametrize(
    "pattern", ["provident_fund.acount", "provident_fund", "provident.*", "pension.*", "*.account", "", "Identity"]
)
def test_an_unknown_category_is_refused_by_name(pattern: str) -> None:
    with pytest.raises(ValueError, match="no data category") as caught:
        expand_categories(["identity", pattern])

    assert repr(pattern) in str(caught.value)
    assert "provident_fund.account" in str(caught.value)  # the known ones are listed


def test_every_service_states_its_needs() -> None:
    assert set(SERVICES) == set(Service)
    for service, need in SERVICES.items():
        assert need.service is service
        assert need.purpose is None or isinstance(need.purpose, Purpose)
        assert need.description


@pytest.mark.parametrize("service", Service)
def test_a_service_needs_known_categories_and_fields(service: Service) -> None:
    for category, fields in SERVICES[service].needs.items():
        assert category in CATEGORIES, f"{service} needs unknown category {category}"
        unknown = set(fields) - set(CATEGORIES[category].fields)
        assert not unknown, f"{service} needs unknown fields of {category}: {sorted(unknown)}"
