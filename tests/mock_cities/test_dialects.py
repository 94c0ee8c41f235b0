"""The three local dialects: recorded payloads, round trips through their tables, and malformed payloads."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, inspect, select
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel

from mock_cities.dialects import (
    Dialect,
    DialectError,
    dialect_names,
    get_dialect,
    legacy_envelope,
    nhsa,
    periods,
    rest_camel,
)
from mock_cities.dialects._common import yuan_text
from mock_cities.profiles import builtin_profiles
from mock_cities.service import update_person_records
from schemas.cities import CityRef
from schemas.medical_insurance import (
    Contribution,
    Enrolment,
    EnrolmentStatus,
    InsuranceType,
    MedicalInsuranceRecord,
)
from schemas.money import fen_to_yuan
from schemas.provident_fund import Deposit, FundAccount, FundAccountStatus, ProvidentFundRecord
from schemas.records import Gender, Person, PersonRecords
from schemas.talent import (
    ContinuingEducationYear,
    ProfessionalTitle,
    SkillCertificate,
    TalentRecord,
    TitleGrade,
)
from services.tables import metadata as city_tables

PAYLOADS = Path(__file__).parent / "payloads"
DIALECTS: dict[str, Dialect] = {
    "rest_camel": rest_camel.DIALECT,
    "nhsa": nhsa.DIALECT,
    "legacy_envelope": legacy_envelope.DIALECT,
}
CITIES = {
    "rest_camel": CityRef(code="430100", name="长沙", name_en="Changsha"),
    "nhsa": CityRef(code="430200", name="株洲", name_en="Zhuzhou"),
    "legacy_envelope": CityRef(code="430300", name="湘潭", name_en="Xiangtan"),
}
TABLES = {
    "rest_camel": {
        "person",
        "medical_enrolment",
        "medical_contribution_period",
        "housing_fund_account",
        "housing_fund_deposit_period",
        "skill_certificate",
        "professional_title",
        "continuing_education",
    },
    "nhsa": {
        "psn_info",
        "psn_insu_d",
        "psn_clct_prd_d",
        "hf_acct",
        "hf_dpst_prd_d",
        "skl_cert_d",
        "titl_d",
        "cedu_hrs_d",
    },
    "legacy_envelope": {"t_grxx", "t_ybcb", "t_ybjfqj", "t_gjjzh", "t_gjjjcqj", "t_jnzs", "t_zcxx", "t_jxjy"},
}
PERSON_TABLES = {
    "rest_camel": ("person", "id_number"),
    "nhsa": ("psn_info", "certno"),
    "legacy_envelope": ("t_grxx", "sfzh"),
}


def load_payload(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PAYLOADS / f"{name}_person.json").read_text(encoding="utf-8"))
    return document


def seed(engine: Engine, dialect: Dialect, *people: PersonRecords) -> None:
    """Insert several people's rows table by table, in one batch per table, as the seeder does."""
    batches: dict[str, list[dict[str, Any]]] = {}
    for records in people:
        for table_name, rows in dialect.to_local_rows(records).items():
            batches.setdefault(table_name, []).extend(rows)
    with Session(engine) as session:
        for table in dialect.metadata.sorted_tables:
            if table.name in batches:
                session.execute(insert(table), batches.pop(table.name))
        session.commit()
    assert not batches, f"rows for tables outside the dialect's metadata: {sorted(batches)}"


def read(engine: Engine, dialect: Dialect, id_number: str) -> dict[str, Any] | None:
    with Session(engine) as session:
        return dialect.read_document(session, id_number=id_number)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    yield engine
    engine.dispose()


def employee(city: CityRef) -> PersonRecords:
    """Everything filled in: employee insurance, an open fund account, certificates, titles, CE hours."""
    return PersonRecords(
        city=city,
        person=Person(id_number="430104199508190629", name="陈雅婷", gender=Gender.FEMALE),
        medical_insurance=MedicalInsuranceRecord(
            enrolment=Enrolment(
                local_person_no="LP2018000731",
                insurance_type=InsuranceType.EMPLOYEE,
                status=EnrolmentStatus.SUSPENDED,
                since=date(2018, 7, 1),
                contribution_months=67,
                account_balance=Decimal("5120.37"),
                employer="湖南华菱钢铁股份有限公司",
            ),
            contributions=[
                Contribution(
                    month=f"2023-{m:02d}",
                    base=Decimal("7450.00"),
                    employer_amount=Decimal("558.75"),
                    personal_amount=Decimal("149.00"),
                )
                for m in (10, 11, 12)
            ],
        ),
        provident_fund=ProvidentFundRecord(
            account=FundAccount(
                account_no="GJJ2018073311",
                status=FundAccountStatus.FROZEN,
                employer="湖南华菱钢铁股份有限公司",
                opened_on=date(2018, 8, 15),
                deposit_base=Decimal("7450.00"),
                monthly_deposit=Decimal("1490.00"),
                balance=Decimal("80123.45"),
                deposit_months=64,
            ),
            deposits=[
                Deposit(month="2023-11", employer_amount=Decimal("745.00"), personal_amount=Decimal("745.00")),
                Deposit(month="2023-12", employer_amount=Decimal("745.00"), personal_amount=Decimal("745.00")),
            ],
        ),
        talent=TalentRecord(
            skill_certificates=[
                # Deliberately not in date order: the dialects must keep the canonical order.
                SkillCertificate(
                    certificate_no="JN2021-00812",
                    occupation="化学检验员",
                    level=1,
                    issued_on=date(2021, 9, 1),
                    issuer="湖南省职业技能鉴定中心",
                ),
                SkillCertificate(
                    certificate_no="JN2016-03321",
                    occupation="化学检验员",
                    level=5,
                    issued_on=date(2016, 5, 20),
                    issuer="湖南省职业技能鉴定中心",
                ),
            ],
            titles=[
                ProfessionalTitle(
                    certificate_no="ZC2019-7781",
                    series="工程",
                    title="助理工程师",
                    grade=TitleGrade.JUNIOR,
                    awarded_on=date(2019, 12, 1),
                ),
                ProfessionalTitle(
                    certificate_no="ZC2023-0042",
                    series="工程",
                    title="正高级工程师",
                    grade=TitleGrade.SENIOR,
                    awarded_on=date(2023, 11, 30),
                ),
            ],
            continuing_education=[
                ContinuingEducationYear(year=2022, hours=91, required_hours=90),
                ContinuingEducationYear(year=2023, hours=0, required_hours=90),
            ],
        ),
    )


def resident(city: CityRef) -> PersonRecords:
    """Resident insurance and a closed fund account: both without an employer."""
    return PersonRecords(
        city=city,
        person=Person(id_number="430211200103080776", name="欧阳明", gender=Gender.MALE),
        medical_insurance=MedicalInsuranceRecord(
            enrolment=Enrolment(
                local_person_no="LP2020119002",
                insurance_type=InsuranceType.RESIDENT,
                status=EnrolmentStatus.TERMINATED,
                since=date(2020, 1, 1),
                contribution_months=0,
                account_balance=Decimal("0"),
                employer=None,
            ),
            contributions=[],
        ),
        provident_fund=ProvidentFundRecord(
            account=FundAccount(
                account_no="GJJ2021000007",
                status=FundAccountStatus.CLOSED,
                employer=None,
                opened_on=date(2021, 2, 28),
                deposit_base=Decimal("1800.00"),
                monthly_deposit=Decimal("360.00"),
                balance=Decimal("0.00"),
                deposit_months=5,
            ),
            deposits=[],
        ),
    )


def bare(city: CityRef) -> PersonRecords:
    """A person row and nothing else: no medical insurance, no fund account, no talent records."""
    return PersonRecords(city=city, person=Person(id_number="430321196810020456", name="罗德胜", gender=Gender.MALE))


# (a) recorded payloads → canonical


def test_rest_camel_payload_maps_to_canonical() -> None:
    records = rest_camel.DIALECT.to_canonical(load_payload("rest_camel"), city=CITIES["rest_camel"])

    assert records.person == Person(id_number="430102198605121353", name="刘志强", gender=Gender.MALE)
    assert records.medical_insurance is not None
    enrolment = records.medical_insurance.enrolment
    assert enrolment.local_person_no == "CS2010004521"
    assert enrolment.insurance_type is InsuranceType.EMPLOYEE
    assert enrolment.status is EnrolmentStatus.ACTIVE
    assert enrolment.since == date(2010, 7, 1)
    assert enrolment.account_balance == Decimal("3821.50")
    assert enrolment.employer == "长沙远大住宅工业集团股份有限公司"
    assert [c.month for c in records.medical_insurance.contributions] == ["2024-01", "2024-02", "2024-03"]
    assert records.medical_insurance.contributions[2].employer_amount == Decimal("729.60")
    assert records.provident_fund is not None
    assert records.provident_fund.account.status is FundAccountStatus.NORMAL
    assert records.provident_fund.account.monthly_deposit == Decimal("2188.80")
    assert records.provident_fund.account.outstanding_loan == Decimal("185000.00")
    assert records.provident_fund.deposits[-1].personal_amount == Decimal("1094.40")
    certificate = records.talent.skill_certificates[0]
    assert (certificate.occupation, certificate.level) == ("电工", 3)
    assert records.talent.titles[0].grade is TitleGrade.INTERMEDIATE
    assert records.talent.continuing_education[1] == ContinuingEducationYear(year=2023, hours=84, required_hours=90)


def test_nhsa_payload_maps_fen_to_yuan_and_codes_to_canonical() -> None:
    records = nhsa.DIALECT.to_canonical(load_payload("nhsa"), city=CITIES["nhsa"])

    assert records.person == Person(id_number="430203199111032488", name="王丽", gender=Gender.FEMALE)
    assert records.medical_insurance is not None
    enrolment = records.medical_insurance.enrolment
    assert enrolment.local_person_no == "ZZ2016008832"
    assert enrolment.insurance_type is InsuranceType.EMPLOYEE
    assert enrolment.status is EnrolmentStatus.ACTIVE
    assert enrolment.since == date(2016, 9, 1)
    assert enrolment.contribution_months == 88
    assert enrolment.account_balance == Decimal("12650.80")
    assert records.medical_insurance.contributions[0] == Contribution(
        month="2024-03",
        base=Decimal("6200.00"),
        employer_amount=Decimal("465.00"),
        personal_amount=Decimal("124.00"),
    )
    assert records.provident_fund is not None
    account = records.provident_fund.account
    assert (account.account_no, account.status) == ("ZZ0207731590", FundAccountStatus.NORMAL)
    assert account.opened_on == date(2016, 9, 15)
    assert account.balance == Decimal("88345.27")
    assert account.monthly_deposit == Decimal("1240.00")
    assert [d.month for d in records.provident_fund.deposits] == ["2024-03", "2024-04"]
    assert [c.level for c in records.talent.skill_certificates] == [3, 2]
    assert records.talent.titles[0].grade is TitleGrade.JUNIOR
    assert records.talent.titles[0].awarded_on == date(2018, 6, 30)
    assert records.talent.continuing_education[0].required_hours == 72


def test_legacy_envelope_payload_maps_to_canonical() -> None:
    records = legacy_envelope.DIALECT.to_canonical(load_payload("legacy_envelope"), city=CITIES["legacy_envelope"])

    assert records.city.code == "430300"
    assert records.person == Person(id_number="430302197902273173", name="张建军", gender=Gender.MALE)
    assert records.medical_insurance is not None
    enrolment = records.medical_insurance.enrolment
    assert enrolment.insurance_type is InsuranceType.RESIDENT
    assert enrolment.employer is None
    assert enrolment.since == date(2019, 1, 1)
    assert enrolment.contribution_months == 60
    assert records.medical_insurance.contributions[1].personal_amount == Decimal("380.00")
    assert records.provident_fund is not None
    account = records.provident_fund.account
    assert account.status is FundAccountStatus.SEALED
    assert account.opened_on == date(2003, 4, 1)
    assert account.balance == Decimal("45218.66")
    assert account.deposit_months == 118
    assert [d.month for d in records.provident_fund.deposits] == ["2012-12", "2013-01"]
    assert records.talent.skill_certificates[0].level == 2
    title = records.talent.titles[0]
    assert (title.series, title.title, title.grade) == ("工程", "高级工程师", TitleGrade.ASSOCIATE_SENIOR)
    assert [y.year for y in records.talent.continuing_education] == [2011, 2012]


@pytest.mark.parametrize("name", list(DIALECTS))
def test_recorded_payload_is_what_the_city_serves(name: str, engine: Engine) -> None:
    """Canonical from the recording, stored and served again, reproduces the recording exactly."""
    dialect = DIALECTS[name]
    recorded = load_payload(name)
    records = dialect.to_canonical(recorded, city=CITIES[name])
    dialect.metadata.create_all(engine)
    seed(engine, dialect, records)

    assert read(engine, dialect, records.person.id_number) == recorded


# (b) canonical → rows → local document → canonical


@pytest.mark.parametrize("name", list(DIALECTS))
@pytest.mark.parametrize("make", [employee, resident, bare], ids=["employee", "resident", "bare"])
def test_round_trip_through_the_tables(name: str, make: Callable[[CityRef], PersonRecords], engine: Engine) -> None:
    dialect = DIALECTS[name]
    city = CITIES[name]
    # Several people in one batch: the computed keys must not collide across persons.
    people = [employee(city), resident(city), bare(city)]
    dialect.metadata.create_all(engine)
    seed(engine, dialect, *people)
    original = make(city)

    document = read(engine, dialect, original.person.id_number)

    assert document is not None
    assert json.loads(json.dumps(document)) == document, "the local payload must be plain JSON"
    assert dialect.to_canonical(document, city=city) == original


@pytest.mark.parametrize("name", list(DIALECTS))
def test_rows_are_keyed_by_the_dialects_own_tables(name: str) -> None:
    dialect = DIALECTS[name]
    rows = dialect.to_local_rows(employee(CITIES[name]))

    assert set(rows) == TABLES[name]
    for table, table_rows in rows.items():
        columns = set(dialect.metadata.tables[table].columns.keys())
        assert all(set(row) == columns for row in table_rows), table


# (c) unknown residents


@pytest.mark.parametrize("name", list(DIALECTS))
def test_read_document_is_none_for_an_unknown_id_number(name: str, engine: Engine) -> None:
    dialect = DIALECTS[name]
    dialect.metadata.create_all(engine)
    seed(engine, dialect, employee(CITIES[name]))

    assert read(engine, dialect, "430102198605121353") is None


# (d) malformed payloads


def _at(document: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    node: Any = document
    for step in path:
        node = node[step]
    return node


def _delete(path: tuple[str | int, ...]) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        del _at(document, path[:-1])[path[-1]]

    return mutate


def _set(path: tuple[str | int, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        _at(document, path[:-1])[path[-1]] = value

    return mutate


MALFORMED = [
    ("rest_camel", _delete(("person", "idNumber")), "person.idNumber: missing"),
    ("rest_camel", _set(("person", "idNumber"), "430102198605121354"), "person.idNumber: check digit"),
    ("rest_camel", _set(("medicalInsurance", "enrolment", "enrolledOn"), "2010/07/01"), "enrolment.enrolledOn"),
    ("rest_camel", _set(("housingFund", "account", "status"), "OPEN"), "housingFund.account.status"),
    ("rest_camel", _set(("medicalInsurance", "contributions", 0, "baseAmount"), 8500.0), "contributions[0]"),
    ("rest_camel", _set(("talent", "skillCertificates", 0, "level"), "LEVEL_9"), "skillCertificates[0].level"),
    ("rest_camel", _set(("talent",), None), "talent: expected an object"),
    ("nhsa", _delete(("output", "baseinfo", "certno")), "output.baseinfo.certno: missing"),
    ("nhsa", _set(("output", "insuinfo", 0, "begndate"), "2016-09-01"), "output.insuinfo[0].begndate"),
    ("nhsa", _set(("output", "insuinfo", 0, "psn_insu_stas"), "3"), "output.insuinfo[0].psn_insu_stas"),
    ("nhsa", _set(("output", "hfinfo", 0, "acct_stas"), "5"), "output.hfinfo[0].acct_stas"),
    ("nhsa", _set(("output", "hfinfo", 0, "balc"), "8834527"), "output.hfinfo[0].balc"),
    ("nhsa", _set(("output", "clctinfo", 1, "ym"), "202413"), "output.clctinfo[1].ym"),
    ("nhsa", _set(("output", "insuinfo"), []), "output.clctinfo: history present"),
    ("nhsa", _set(("infcode",), -1), "infcode"),
    ("legacy_envelope", _delete(("data", "xm")), "data.xm: missing"),
    ("legacy_envelope", _set(("data", "ybxx", "cbrq"), "2019-01-01"), "data.ybxx.cbrq"),
    ("legacy_envelope", _set(("data", "ybxx", "cbzt"), "4"), "data.ybxx.cbzt"),
    ("legacy_envelope", _set(("data", "gjjxx", "zhzt"), "2"), "data.gjjxx.zhzt"),
    ("legacy_envelope", _set(("data", "gjjxx", "jcys"), 118), "data.gjjxx.jcys"),
    ("legacy_envelope", _set(("data", "zcxx", 0, "zcdj"), "高级"), "data.zcxx[0].zcdj"),
    ("legacy_envelope", _set(("code",), 500), "code"),
]


@pytest.mark.parametrize(("name", "mutate", "message"), MALFORMED)
def test_malformed_payload_raises_dialect_error_naming_the_field(
    name: str, mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    document = load_payload(name)
    mutate(document)

    with pytest.raises(DialectError) as raised:
        DIALECTS[name].to_canonical(document, city=CITIES[name])
    assert message in str(raised.value)


def _paths(node: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(node, dict):
        items: list[tuple[str | int, object]] = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@pytest.mark.parametrize("name", list(DIALECTS))
def test_any_damage_gives_dialect_error_or_records(name: str) -> None:
    """Whatever field is removed or replaced by a wrong type, the mapping never fails with another error."""
    recorded = load_payload(name)
    for path in _paths(recorded):
        for value in (None, {"x": 1}, [1], "?", True, -1):
            document = copy.deepcopy(recorded)
            _at(document, path[:-1])[path[-1]] = value
            with contextlib.suppress(DialectError):
                DIALECTS[name].to_canonical(document, city=CITIES[name])
        if isinstance(path[-1], str):
            document = copy.deepcopy(recorded)
            del _at(document, path[:-1])[path[-1]]
            with contextlib.suppress(DialectError):
                DIALECTS[name].to_canonical(document, city=CITIES[name])


@pytest.mark.parametrize("name", list(DIALECTS))
@pytest.mark.parametrize("document", [[], "x", None])
def test_a_payload_that_is_not_an_object_raises_dialect_error(name: str, document: Any) -> None:
    with pytest.raises(DialectError):
        DIALECTS[name].to_canonical(document, city=CITIES[name])


# (e) each dialect's own tables


@pytest.mark.parametrize("name", list(DIALECTS))
def test_metadata_holds_only_the_dialects_own_tables(name: str) -> None:
    dialect = DIALECTS[name]

    assert set(dialect.metadata.tables) == TABLES[name]
    assert not set(SQLModel.metadata.tables) & TABLES[name], "dialect tables leaked into the default registry"
    others = [d.metadata for n, d in DIALECTS.items() if n != name]
    assert all(dialect.metadata is not other for other in others)


@pytest.mark.parametrize("name", list(DIALECTS))
def test_the_id_number_column_is_indexed(name: str, engine: Engine) -> None:
    table, column = PERSON_TABLES[name]
    DIALECTS[name].metadata.create_all(engine)

    indexes = inspect(engine).get_indexes(table)
    assert any(index["column_names"] == [column] and index["unique"] for index in indexes)


def test_all_three_dialects_coexist_in_one_database(engine: Engine) -> None:
    for dialect in DIALECTS.values():
        dialect.metadata.create_all(engine)
    for name, dialect in DIALECTS.items():
        seed(engine, dialect, employee(CITIES[name]))

    assert set(inspect(engine).get_table_names()) == set().union(*TABLES.values())
    for name, dialect in DIALECTS.items():
        document = read(engine, dialect, "430104199508190629")
        assert document is not None
        assert dialect.to_canonical(document, city=CITIES[name]) == employee(CITIES[name])


def test_the_registry_serves_these_dialects() -> None:
    assert dialect_names() == sorted(DIALECTS)
    for name, dialect in DIALECTS.items():
        assert get_dialect(name) is dialect
        assert dialect.name == name


@pytest.mark.parametrize(
    ("dialect", "path"),
    [("rest_camel", ("housingFund", "account", "outstandingLoan")), ("nhsa", ("output", "hfinfo", 0, "loan_balc"))],
)
def test_a_payload_from_before_loans_were_reported_reads_as_no_loan(dialect: str, path: tuple[object, ...]) -> None:
    payload = load_payload(dialect)
    holder = payload
    for step in path[:-1]:
        holder = holder[step]  # type: ignore[index]
    del holder[path[-1]]  # type: ignore[arg-type]
    module = {"rest_camel": rest_camel, "nhsa": nhsa}[dialect]
    records = module.DIALECT.to_canonical(payload, city=CITIES[dialect])
    assert records.provident_fund is not None
    assert records.provident_fund.account.outstanding_loan == Decimal("0.00")


# (f) histories kept as periods of equal months


def test_periods_join_runs_of_equal_consecutive_months() -> None:
    months = [(m, m, (100, 8)) for m in range(24_000, 24_006)] + [(24_006, 24_006, (120, 8))]
    months += [(24_008, 24_011, (120, 8)), (24_012, 24_023, (120, 8))]  # a gap, then a run cut at a year
    assert periods(months) == [(24_000, 24_005, (100, 8)), (24_006, 24_006, (120, 8)), (24_008, 24_023, (120, 8))]
    assert periods([]) == []


def with_history(city: CityRef) -> PersonRecords:
    """Fourteen contribution months in three periods (a raise, then a gap), and deposits in two."""
    months = [f"2023-{m:02d}" for m in range(1, 13)] + ["2024-03", "2024-04"]
    amounts = [("7000.00", "560.00", "140.00")] * 6 + [("7450.00", "596.00", "149.00")] * 8
    records = employee(city)
    assert records.medical_insurance is not None and records.provident_fund is not None
    contributions = [
        Contribution(
            month=month, base=Decimal(base), employer_amount=Decimal(employer), personal_amount=Decimal(personal)
        )
        for month, (base, employer, personal) in zip(months, amounts, strict=True)
    ]
    deposits = [
        Deposit(month=month, employer_amount=Decimal("745.00"), personal_amount=Decimal("745.00"))
        for month in months[:12]
    ] + [Deposit(month="2024-01", employer_amount=Decimal("800.00"), personal_amount=Decimal("745.00"))]
    return records.model_copy(
        update={
            "medical_insurance": records.medical_insurance.model_copy(update={"contributions": contributions}),
            "provident_fund": records.provident_fund.model_copy(update={"deposits": deposits}),
        }
    )


def period_rows(engine: Engine, dialect: Dialect, history: str) -> list[tuple[Any, ...]]:
    """(first month, last month) of every row of the dialect's contribution or deposit period table."""
    table = next(t for t in dialect.metadata.sorted_tables if t.name == PERIOD_TABLES[dialect.name][history])
    first, last = list(table.columns)[1:3]
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(first, last).order_by(first))]


PERIOD_TABLES = {
    "rest_camel": {"contributions": "medical_contribution_period", "deposits": "housing_fund_deposit_period"},
    "nhsa": {"contributions": "psn_clct_prd_d", "deposits": "hf_dpst_prd_d"},
    "legacy_envelope": {"contributions": "t_ybjfqj", "deposits": "t_gjjjcqj"},
}
LOCAL_MONTH = {"rest_camel": "%Y-%m", "nhsa": "%Y%m", "legacy_envelope": "%Y/%m"}


def local(name: str, *months: str) -> tuple[str, ...]:
    return tuple(date(int(m[:4]), int(m[5:]), 1).strftime(LOCAL_MONTH[name]) for m in months)


@pytest.mark.parametrize("name", list(DIALECTS))
def test_a_history_is_stored_as_periods_and_read_back_month_by_month(name: str, engine: Engine) -> None:
    dialect = DIALECTS[name]
    records = with_history(CITIES[name])
    dialect.metadata.create_all(engine)
    seed(engine, dialect, records)

    assert period_rows(engine, dialect, "contributions") == [
        local(name, "2023-01", "2023-06"),
        local(name, "2023-07", "2023-12"),
        local(name, "2024-03", "2024-04"),
    ]
    assert period_rows(engine, dialect, "deposits") == [
        local(name, "2023-01", "2023-12"),
        local(name, "2024-01", "2024-01"),
    ]
    document = read(engine, dialect, records.person.id_number)
    assert document is not None
    assert dialect.to_canonical(document, city=CITIES[name]) == records


def add_month(month: str, amounts: tuple[str, str, str]) -> Callable[[PersonRecords], PersonRecords]:
    """A write that adds one month to the contribution history (as a city's own 缴费 posting would)."""

    def change(records: PersonRecords) -> PersonRecords:
        assert records.medical_insurance is not None
        base, employer, personal = (Decimal(a) for a in amounts)
        contribution = Contribution(month=month, base=base, employer_amount=employer, personal_amount=personal)
        contributions = [*records.medical_insurance.contributions, contribution]
        medical = records.medical_insurance.model_copy(update={"contributions": contributions})
        return records.model_copy(update={"medical_insurance": medical})

    return change


@pytest.mark.parametrize("name", list(DIALECTS))
def test_a_month_added_by_a_write_extends_the_last_period_or_starts_one(name: str, engine: Engine) -> None:
    dialect = DIALECTS[name]
    profile = next(p for p in builtin_profiles() if p.dialect == name)
    records = with_history(profile.ref)
    dialect.metadata.create_all(engine)
    city_tables.create_all(engine)
    seed(engine, dialect, records)

    def write(change: Callable[[PersonRecords], PersonRecords]) -> PersonRecords:
        with Session(engine) as session:
            after = update_person_records(
                session=session, dialect=dialect, profile=profile, id_number=records.person.id_number, change=change
            )
            session.commit()
        document = read(engine, dialect, records.person.id_number)
        assert document is not None
        assert dialect.to_canonical(document, city=profile.ref) == after
        return after

    write(add_month("2024-05", ("7450.00", "596.00", "149.00")))  # as the last month paid: the period grows
    assert period_rows(engine, dialect, "contributions")[-1] == local(name, "2024-03", "2024-05")
    after = write(add_month("2024-06", ("7800.00", "624.00", "156.00")))  # a new base: a new period
    assert period_rows(engine, dialect, "contributions")[-2:] == [
        local(name, "2024-03", "2024-05"),
        local(name, "2024-06", "2024-06"),
    ]
    assert after.medical_insurance is not None
    assert [c.month for c in after.medical_insurance.contributions][-3:] == ["2024-04", "2024-05", "2024-06"]
    assert period_rows(engine, dialect, "deposits") == [
        local(name, "2023-01", "2023-12"),
        local(name, "2024-01", "2024-01"),
    ]


def test_amounts_in_fen_become_the_yuan_text_of_the_legacy_columns() -> None:
    amounts = [*range(-1_000, 1_000), *range(99_900, 100_200), 123_456_789, -123_456_789]
    assert [legacy_envelope._yuan_text(fen) for fen in amounts] == [yuan_text(fen_to_yuan(fen)) for fen in amounts]
