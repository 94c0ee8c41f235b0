"""长沙's modern REST dialect: camelCase keys, ISO-8601 dates, yuan as decimal strings, English UPPER enums.

Its database is modern too: snake_case columns, real DATE and NUMERIC types; the API renders camelCase.
Contributions and deposits are kept as periods (``period_start`` … ``period_end``, ``YYYY-MM``) of equal
amounts; the API lists them month by month.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel

from mock_cities.columns import CityColumns, LocalDays, Rows, period_rows, table_rows, yuan_float
from mock_cities.dialects import CompactRecords, LocalDocument, LocalRows, PeriodTable
from mock_cities.dialects._common import (
    Assemble,
    Fields,
    invert,
    local_person_no,
    mapped,
    rows_of,
    stored_yuan_text,
)
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

_GENDER = {"MALE": Gender.MALE, "FEMALE": Gender.FEMALE}
_INSURANCE_TYPE = {"EMPLOYEE": InsuranceType.EMPLOYEE, "RESIDENT": InsuranceType.RESIDENT}
_ENROLMENT_STATUS = {
    "ACTIVE": EnrolmentStatus.ACTIVE,
    "SUSPENDED": EnrolmentStatus.SUSPENDED,
    "TERMINATED": EnrolmentStatus.TERMINATED,
}
_FUND_STATUS = {
    "NORMAL": FundAccountStatus.NORMAL,
    "SEALED": FundAccountStatus.SEALED,
    "FROZEN": FundAccountStatus.FROZEN,
    "CLOSED": FundAccountStatus.CLOSED,
}
_SKILL_LEVEL = {
    "SENIOR_TECHNICIAN": 1,
    "TECHNICIAN": 2,
    "SENIOR_WORKER": 3,
    "INTERMEDIATE_WORKER": 4,
    "JUNIOR_WORKER": 5,
}
_TITLE_GRADE = {
    "JUNIOR": TitleGrade.JUNIOR,
    "INTERMEDIATE": TitleGrade.INTERMEDIATE,
    "ASSOCIATE_SENIOR": TitleGrade.ASSOCIATE_SENIOR,
    "SENIOR": TitleGrade.SENIOR,
}
_ISO = "%Y-%m-%d"
_PERIOD = "%Y-%m"


class _Base(SQLModel, registry=registry()):
    pass


class PersonRow(_Base, table=True):
    __tablename__: ClassVar[str] = "person"
    person_id: str = Field(primary_key=True, max_length=32)
    id_number: str = Field(max_length=18, unique=True, index=True)
    full_name: str = Field(max_length=64)
    gender: str = Field(max_length=8)


class EnrolmentRow(_Base, table=True):
    __tablename__: ClassVar[str] = "medical_enrolment"
    person_id: str = Field(primary_key=True, max_length=32, foreign_key="person.person_id")
    insurance_type: str = Field(max_length=16)
    status: str = Field(max_length=16)
    enrolled_on: date
    contribution_months: int
    account_balance: Decimal = Field(max_digits=14, decimal_places=2)
    employer_name: str | None = Field(default=None, max_length=128)


class ContributionPeriodRow(_Base, table=True):
    """Months of equal contributions, ``period_start`` to ``period_end`` (both included)."""

    __tablename__: ClassVar[str] = "medical_contribution_period"
    __table_args__ = {"sqlite_with_rowid": False}  # small rows read by key: the primary key holds them
    person_id: str = Field(primary_key=True, max_length=32, foreign_key="person.person_id")
    period_start: str = Field(primary_key=True, max_length=7)
    period_end: str = Field(max_length=7)
    base_amount: Decimal = Field(max_digits=14, decimal_places=2)
    employer_amount: Decimal = Field(max_digits=14, decimal_places=2)
    personal_amount: Decimal = Field(max_digits=14, decimal_places=2)


class FundAccountRow(_Base, table=True):
    __tablename__: ClassVar[str] = "housing_fund_account"
    account_number: str = Field(primary_key=True, max_length=32)
    person_id: str = Field(max_length=32, foreign_key="person.person_id", unique=True)
    status: str = Field(max_length=16)
    employer_name: str | None = Field(default=None, max_length=128)
    opened_on: date
    deposit_base: Decimal = Field(max_digits=14, decimal_places=2)
    monthly_deposit: Decimal = Field(max_digits=14, decimal_places=2)
    balance: Decimal = Field(max_digits=14, decimal_places=2)
    deposit_months: int
    loan_balance: Decimal = Field(default=Decimal(0), max_digits=14, decimal_places=2)


class DepositPeriodRow(_Base, table=True):
    """Months of equal deposits, ``period_start`` to ``period_end`` (both included)."""

    __tablename__: ClassVar[str] = "housing_fund_deposit_period"
    __table_args__ = {"sqlite_with_rowid": False}
    account_number: str = Field(primary_key=True, max_length=32, foreign_key="housing_fund_account.account_number")
    period_start: str = Field(primary_key=True, max_length=7)
    period_end: str = Field(max_length=7)
    employer_amount: Decimal = Field(max_digits=14, decimal_places=2)
    personal_amount: Decimal = Field(max_digits=14, decimal_places=2)


class SkillCertificateRow(_Base, table=True):
    __tablename__: ClassVar[str] = "skill_certificate"
    person_id: str = Field(primary_key=True, max_length=32, foreign_key="person.person_id")
    # Position in the person's list: certificates and titles have no natural order to sort by.
    seq: int = Field(primary_key=True)
    certificate_number: str = Field(max_length=64)
    occupation: str = Field(max_length=64)
    level: str = Field(max_length=24)
    issued_on: date
    issuer: str = Field(max_length=128)


class TitleRow(_Base, table=True):
    __tablename__: ClassVar[str] = "professional_title"
    person_id: str = Field(primary_key=True, max_length=32, foreign_key="person.person_id")
    seq: int = Field(primary_key=True)
    certificate_number: str = Field(max_length=64)
    series: str = Field(max_length=64)
    title_name: str = Field(max_length=64)
    grade: str = Field(max_length=24)
    awarded_on: date


class CeHoursRow(_Base, table=True):
    __tablename__: ClassVar[str] = "continuing_education"
    person_id: str = Field(primary_key=True, max_length=32, foreign_key="person.person_id")
    year: int = Field(primary_key=True)
    hours: int
    required_hours: int


metadata = _Base.metadata

_GENDER_CODE = invert(_GENDER)
_INSURANCE_TYPE_CODE = invert(_INSURANCE_TYPE)
_ENROLMENT_STATUS_CODE = invert(_ENROLMENT_STATUS)
_FUND_STATUS_CODE = invert(_FUND_STATUS)
_SKILL_LEVEL_CODE = invert(_SKILL_LEVEL)
_TITLE_GRADE_CODE = invert(_TITLE_GRADE)
# Amounts stay Decimal yuan: NUMERIC columns. Residents pay the same few thousand amounts: each is made once.
_yuan = lru_cache(maxsize=1 << 14)(fen_to_yuan)
_CONTRIBUTION_PERIODS = PeriodTable(metadata.tables[ContributionPeriodRow.__tablename__], _PERIOD, _yuan)
_DEPOSIT_PERIODS = PeriodTable(metadata.tables[DepositPeriodRow.__tablename__], _PERIOD, _yuan)
_SQLITE_DAYS = LocalDays(date.isoformat)
"""Dates as SQLAlchemy binds a ``DATE`` on SQLite, for :meth:`RestCamel.sqlite_rows`."""

# The read side selects rows with SQLAlchemy Core (no ORM objects): the person with their enrolment and fund
# account in one query on the unique ID-number index, then one query per history table on its primary key.
_PERSON = metadata.tables[PersonRow.__tablename__]
_ENROLMENT = metadata.tables[EnrolmentRow.__tablename__]
_CONTRIBUTION = _CONTRIBUTION_PERIODS.table
_ACCOUNT = metadata.tables[FundAccountRow.__tablename__]
_DEPOSIT = _DEPOSIT_PERIODS.table
_CERTIFICATE = metadata.tables[SkillCertificateRow.__tablename__]
_TITLE = metadata.tables[TitleRow.__tablename__]
_CE_HOURS = metadata.tables[CeHoursRow.__tablename__]
_HEAD = (
    select(
        _PERSON.c.person_id,
        _PERSON.c.id_number,
        _PERSON.c.full_name,
        _PERSON.c.gender,
        _ENROLMENT.c.person_id.label("enrolled"),
        _ENROLMENT.c.insurance_type,
        _ENROLMENT.c.status.label("enrolment_status"),
        _ENROLMENT.c.enrolled_on,
        _ENROLMENT.c.contribution_months,
        _ENROLMENT.c.account_balance,
        _ENROLMENT.c.employer_name.label("enrolment_employer"),
        _ACCOUNT.c.account_number,
        _ACCOUNT.c.status.label("account_status"),
        _ACCOUNT.c.employer_name.label("account_employer"),
        _ACCOUNT.c.opened_on,
        _ACCOUNT.c.deposit_base,
        _ACCOUNT.c.monthly_deposit,
        _ACCOUNT.c.balance,
        _ACCOUNT.c.deposit_months,
        _ACCOUNT.c.loan_balance,
    )
    .select_from(
        _PERSON.outerjoin(_ENROLMENT, _ENROLMENT.c.person_id == _PERSON.c.person_id).outerjoin(
            _ACCOUNT, _ACCOUNT.c.person_id == _PERSON.c.person_id
        )
    )
    .where(_PERSON.c.id_number == bindparam("id_number"))
)
_CONTRIBUTIONS = rows_of(
    _CONTRIBUTION,
    "period_start",
    "period_end",
    "base_amount",
    "employer_amount",
    "personal_amount",
    key="person_id",
    param="pid",
    order="period_start",
)
_DEPOSITS = rows_of(
    _DEPOSIT,
    "period_start",
    "period_end",
    "employer_amount",
    "personal_amount",
    key="account_number",
    param="account",
    order="period_start",
)
_CERTIFICATES = rows_of(
    _CERTIFICATE,
    "certificate_number",
    "occupation",
    "level",
    "issued_on",
    "issuer",
    key="person_id",
    param="pid",
    order="seq",
)
_TITLES = rows_of(
    _TITLE,
    "certificate_number",
    "series",
    "title_name",
    "grade",
    "awarded_on",
    key="person_id",
    param="pid",
    order="seq",
)
_CE_YEARS = rows_of(_CE_HOURS, "year", "hours", "required_hours", key="person_id", param="pid", order="year")


class RestCamel:
    """长沙: the canonical records as a modern REST service shows them."""

    name = "rest_camel"
    metadata = metadata

    def local_rows(self, records: CompactRecords) -> LocalRows:
        """Rows per table, parents first; the histories as periods."""
        canonical = records.records
        pid = local_person_no(canonical)
        person = canonical.person
        rows: dict[str, list[dict[str, Any]]] = {
            PersonRow.__tablename__: [
                {
                    "person_id": pid,
                    "id_number": person.id_number,
                    "full_name": person.name,
                    "gender": _GENDER_CODE[person.gender],
                }
            ]
        }
        periods: dict[str, list[tuple[Any, ...]]] = {}
        if (medical := canonical.medical_insurance) is not None:
            e = medical.enrolment
            rows[EnrolmentRow.__tablename__] = [
                {
                    "person_id": pid,
                    "insurance_type": _INSURANCE_TYPE_CODE[e.insurance_type],
                    "status": _ENROLMENT_STATUS_CODE[e.status],
                    "enrolled_on": e.since,
                    "contribution_months": e.contribution_months,
                    "account_balance": e.account_balance,
                    "employer_name": e.employer,
                }
            ]
            periods[ContributionPeriodRow.__tablename__] = _CONTRIBUTION_PERIODS.rows(pid, records.contributions)
        if (fund := canonical.provident_fund) is not None:
            a = fund.account
            rows[FundAccountRow.__tablename__] = [
                {
                    "account_number": a.account_no,
                    "person_id": pid,
                    "status": _FUND_STATUS_CODE[a.status],
                    "employer_name": a.employer,
                    "opened_on": a.opened_on,
                    "deposit_base": a.deposit_base,
                    "monthly_deposit": a.monthly_deposit,
                    "balance": a.balance,
                    "deposit_months": a.deposit_months,
                    "loan_balance": a.outstanding_loan,
                }
            ]
            periods[DepositPeriodRow.__tablename__] = _DEPOSIT_PERIODS.rows(a.account_no, records.deposits)
        talent = canonical.talent
        rows[SkillCertificateRow.__tablename__] = [
            {
                "person_id": pid,
                "seq": i,
                "certificate_number": s.certificate_no,
                "occupation": s.occupation,
                "level": _SKILL_LEVEL_CODE[s.level],
                "issued_on": s.issued_on,
                "issuer": s.issuer,
            }
            for i, s in enumerate(talent.skill_certificates)
        ]
        rows[TitleRow.__tablename__] = [
            {
                "person_id": pid,
                "seq": i,
                "certificate_number": t.certificate_no,
                "series": t.series,
                "title_name": t.title,
                "grade": _TITLE_GRADE_CODE[t.grade],
                "awarded_on": t.awarded_on,
            }
            for i, t in enumerate(talent.titles)
        ]
        rows[CeHoursRow.__tablename__] = [
            {"person_id": pid, "year": y.year, "hours": y.hours, "required_hours": y.required_hours}
            for y in talent.continuing_education
        ]
        return LocalRows(
            {table: table_rows for table, table_rows in rows.items() if table_rows},
            {table: table_rows for table, table_rows in periods.items() if table_rows},
        )

    def sqlite_rows(self, columns: CityColumns) -> Rows:
        """The persons of ``columns`` as rows per table, parents first, valued as SQLite stores them: what
        ``local_rows`` of their records gives, bound as seeding binds it (tests/mock_cities/test_generated.py)."""
        days, tables = _SQLITE_DAYS, metadata.tables
        person_id, account_no = columns.person_no(), columns.account_no()
        accounts = columns.accounts
        return {
            "person": table_rows(
                tables["person"],
                {
                    "person_id": person_id,
                    "id_number": columns.id_number,
                    "full_name": columns.name,
                    "gender": [_GENDER_CODE[g] for g in columns.gender],
                },
            ),
            "medical_enrolment": table_rows(
                tables["medical_enrolment"],
                {
                    "person_id": person_id,
                    "insurance_type": [_INSURANCE_TYPE_CODE[t] for t in columns.insurance_type],
                    "status": [_ENROLMENT_STATUS_CODE[s] for s in columns.enrolment_status],
                    "enrolled_on": [days[(month, 1)] for month in columns.enrolled],
                    "contribution_months": columns.contribution_months,
                    "account_balance": list(map(yuan_float, columns.medical_balance)),
                    "employer_name": columns.employer,
                },
            ),
            "medical_contribution_period": period_rows(
                _CONTRIBUTION_PERIODS, person_id, columns.contributions, yuan_float
            ),
            "housing_fund_account": table_rows(
                tables["housing_fund_account"],
                {
                    "account_number": account_no,
                    "person_id": [person_id[a.owner] for a in accounts],
                    "status": [_FUND_STATUS_CODE[a.status] for a in accounts],
                    "employer_name": [columns.employer[a.owner] for a in accounts],
                    "opened_on": [days[(a.opened, 1)] for a in accounts],
                    "deposit_base": [yuan_float(a.base) for a in accounts],
                    "monthly_deposit": [yuan_float(a.monthly) for a in accounts],
                    "balance": [yuan_float(a.balance) for a in accounts],
                    "deposit_months": [a.months for a in accounts],
                    "loan_balance": [yuan_float(a.loan) for a in accounts],
                },
            ),
            "housing_fund_deposit_period": period_rows(_DEPOSIT_PERIODS, account_no, columns.deposits, yuan_float),
            "skill_certificate": [
                (
                    person_id[c.owner],
                    c.seq,
                    c.certificate_no,
                    c.occupation,
                    _SKILL_LEVEL_CODE[c.level],
                    days[c.issued],
                    columns.city.talent.evaluation_body,
                )
                for c in columns.certificates
            ],
            "professional_title": [
                (
                    person_id[t.owner],
                    t.seq,
                    t.certificate_no,
                    t.series,
                    t.title,
                    _TITLE_GRADE_CODE[t.grade],
                    days[t.awarded],
                )
                for t in columns.titles
            ],
            "continuing_education": [(person_id[h.owner], h.year, h.hours, h.required) for h in columns.hours],
        }

    def to_local_rows(self, records: PersonRecords) -> dict[str, list[dict[str, Any]]]:
        """Rows per table, parents first; tables the person has no rows in are left out."""
        return self.local_rows(CompactRecords.of(records)).as_dicts(metadata)

    def read_document(self, session: Session, *, id_number: str) -> LocalDocument | None:
        """``GET /api/v1/persons/{idNumber}/records`` as 长沙's own systems answer it."""
        db = session.connection()
        head = db.execute(_HEAD, {"id_number": id_number}).first()
        if head is None:
            return None
        pid = head.person_id
        by_person = {"pid": pid}
        contributions = [] if head.enrolled is None else db.execute(_CONTRIBUTIONS, by_person).all()
        deposits = [] if head.account_number is None else db.execute(_DEPOSITS, {"account": head.account_number}).all()
        certificates = db.execute(_CERTIFICATES, by_person).all()
        titles = db.execute(_TITLES, by_person).all()
        ce_years = db.execute(_CE_YEARS, by_person).all()
        return {
            "person": {
                "personId": pid,
                "idNumber": head.id_number,
                "fullName": head.full_name,
                "gender": head.gender,
            },
            "medicalInsurance": None
            if head.enrolled is None
            else {
                "enrolment": {
                    "insuranceType": head.insurance_type,
                    "status": head.enrolment_status,
                    "enrolledOn": head.enrolled_on.isoformat(),
                    "contributionMonths": head.contribution_months,
                    "accountBalance": stored_yuan_text(head.account_balance),
                    "employerName": head.enrolment_employer,
                },
                "contributions": [
                    {
                        "period": period,
                        "baseAmount": stored_yuan_text(base),
                        "employerAmount": stored_yuan_text(employer),
                        "personalAmount": stored_yuan_text(personal),
                    }
                    for period, base, employer, personal in _CONTRIBUTION_PERIODS.months(contributions)
                ],
            },
            "housingFund": None
            if head.account_number is None
            else {
                "account": {
                    "accountNumber": head.account_number,
                    "status": head.account_status,
                    "employerName": head.account_employer,
                    "openedOn": head.opened_on.isoformat(),
                    "depositBase": stored_yuan_text(head.deposit_base),
                    "monthlyDeposit": stored_yuan_text(head.monthly_deposit),
                    "balance": stored_yuan_text(head.balance),
                    "depositMonths": head.deposit_months,
                    "outstandingLoan": stored_yuan_text(head.loan_balance),
                },
                "deposits": [
                    {
                        "period": period,
                        "employerAmount": stored_yuan_text(employer),
                        "personalAmount": stored_yuan_text(personal),
                    }
                    for period, employer, personal in _DEPOSIT_PERIODS.months(deposits)
                ],
            },
            "talent": {
                "skillCertificates": [
                    {
                        "certificateNumber": number,
                        "occupation": occupation,
                        "level": level,
                        "issuedOn": issued_on.isoformat(),
                        "issuer": issuer,
                    }
                    for number, occupation, level, issued_on, issuer in certificates
                ],
                "titles": [
                    {
                        "certificateNumber": number,
                        "series": series,
                        "titleName": title_name,
                        "grade": grade,
                        "awardedOn": awarded_on.isoformat(),
                    }
                    for number, series, title_name, grade, awarded_on in titles
                ],
                "ceHours": [
                    {"year": year, "hours": hours, "requiredHours": required_hours}
                    for year, hours, required_hours in ce_years
                ],
            },
        }

    def to_canonical(self, document: LocalDocument, *, city: CityRef) -> PersonRecords:
        """Map a 长沙 payload to canonical records; :class:`DialectError` names the malformed field."""
        return mapped(lambda make: _records(document, city, make))


def _records(document: LocalDocument, city: CityRef, make: Assemble) -> Any:
    doc = Fields(document, "")
    p = doc.section("person")
    person_id = p.text("personId")
    person = make(
        Person,
        p.path,
        id_number=p.id_number("idNumber"),
        name=p.text("fullName"),
        gender=p.coded("gender", _GENDER),
    )
    mi = doc.optional_section("medicalInsurance")
    fund = doc.optional_section("housingFund")
    talent = doc.section("talent")
    return make(
        PersonRecords,
        doc.path,
        city=city,
        person=person,
        medical_insurance=None if mi is None else _medical(mi, person_id, make),
        provident_fund=None if fund is None else _fund(fund, make),
        talent=_talent(talent, make),
    )


def _medical(mi: Fields, person_id: str, make: Assemble) -> Any:
    e = mi.section("enrolment")
    enrolment = make(
        Enrolment,
        e.path,
        local_person_no=person_id,
        insurance_type=e.coded("insuranceType", _INSURANCE_TYPE),
        status=e.coded("status", _ENROLMENT_STATUS),
        since=e.day("enrolledOn", _ISO),
        contribution_months=e.integer("contributionMonths"),
        account_balance=e.yuan("accountBalance"),
        employer=e.optional_text("employerName"),
    )
    contributions = [
        make(
            Contribution,
            c.path,
            month=c.month("period", _PERIOD),
            base=c.yuan("baseAmount"),
            employer_amount=c.yuan("employerAmount"),
            personal_amount=c.yuan("personalAmount"),
        )
        for c in mi.entries("contributions")
    ]
    return make(MedicalInsuranceRecord, mi.path, enrolment=enrolment, contributions=contributions)


def _fund(fund: Fields, make: Assemble) -> Any:
    a = fund.section("account")
    account = make(
        FundAccount,
        a.path,
        account_no=a.text("accountNumber"),
        status=a.coded("status", _FUND_STATUS),
        employer=a.optional_text("employerName"),
        opened_on=a.day("openedOn", _ISO),
        deposit_base=a.yuan("depositBase"),
        monthly_deposit=a.yuan("monthlyDeposit"),
        balance=a.yuan("balance"),
        deposit_months=a.integer("depositMonths"),
        outstanding_loan=a.optional_yuan("outstandingLoan"),
    )
    deposits = [
        make(
            Deposit,
            d.path,
            month=d.month("period", _PERIOD),
            employer_amount=d.yuan("employerAmount"),
            personal_amount=d.yuan("personalAmount"),
        )
        for d in fund.entries("deposits")
    ]
    return make(ProvidentFundRecord, fund.path, account=account, deposits=deposits)


def _talent(talent: Fields, make: Assemble) -> Any:
    certificates = [
        make(
            SkillCertificate,
            s.path,
            certificate_no=s.text("certificateNumber"),
            occupation=s.text("occupation"),
            level=s.coded("level", _SKILL_LEVEL),
            issued_on=s.day("issuedOn", _ISO),
            issuer=s.text("issuer"),
        )
        for s in talent.entries("skillCertificates")
    ]
    titles = [
        make(
            ProfessionalTitle,
            t.path,
            certificate_no=t.text("certificateNumber"),
            series=t.text("series"),
            title=t.text("titleName"),
            grade=t.coded("grade", _TITLE_GRADE),
            awarded_on=t.day("awardedOn", _ISO),
        )
        for t in talent.entries("titles")
    ]
    ce_years = [
        make(
            ContinuingEducationYear,
            y.path,
            year=y.integer("year"),
            hours=y.integer("hours"),
            required_hours=y.integer("requiredHours"),
        )
        for y in talent.entries("ceHours")
    ]
    return make(
        TalentRecord, talent.path, skill_certificates=certificates, titles=titles, continuing_education=ce_years
    )


DIALECT = RestCamel()
