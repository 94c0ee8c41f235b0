"""长沙's modern REST dialect: camelCase keys, ISO-8601 dates, yuan as decimal strings, English UPPER enums.

Its database is modern too: snake_case columns, real DATE and NUMERIC types; the API renders camelCase.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, col, select

from mock_cities.dialects import LocalDocument
from mock_cities.dialects._common import Fields, build, invert, local_person_no, yuan_text
from schemas.cities import CityRef
from schemas.medical_insurance import (
    Contribution,
    Enrolment,
    EnrolmentStatus,
    InsuranceType,
    MedicalInsuranceRecord,
)
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


class ContributionRow(_Base, table=True):
    __tablename__: ClassVar[str] = "medical_contribution"
    person_id: str = Field(primary_key=True, max_length=32, foreign_key="person.person_id")
    period: str = Field(primary_key=True, max_length=7)
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


class DepositRow(_Base, table=True):
    __tablename__: ClassVar[str] = "housing_fund_deposit"
    account_number: str = Field(primary_key=True, max_length=32, foreign_key="housing_fund_account.account_number")
    period: str = Field(primary_key=True, max_length=7)
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


class RestCamel:
    """长沙: the canonical records as a modern REST service shows them."""

    name = "rest_camel"
    metadata = metadata

    def to_local_rows(self, records: PersonRecords) -> dict[str, list[dict[str, Any]]]:
        """Rows per table, parents first; tables the person has no rows in are left out."""
        pid = local_person_no(records)
        person = records.person
        rows: dict[str, list[dict[str, Any]]] = {
            PersonRow.__tablename__: [
                {
                    "person_id": pid,
                    "id_number": person.id_number,
                    "full_name": person.name,
                    "gender": invert(_GENDER)[person.gender],
                }
            ]
        }
        if (medical := records.medical_insurance) is not None:
            e = medical.enrolment
            rows[EnrolmentRow.__tablename__] = [
                {
                    "person_id": pid,
                    "insurance_type": invert(_INSURANCE_TYPE)[e.insurance_type],
                    "status": invert(_ENROLMENT_STATUS)[e.status],
                    "enrolled_on": e.since,
                    "contribution_months": e.contribution_months,
                    "account_balance": e.account_balance,
                    "employer_name": e.employer,
                }
            ]
            rows[ContributionRow.__tablename__] = [
                {
                    "person_id": pid,
                    "period": c.month,
                    "base_amount": c.base,
                    "employer_amount": c.employer_amount,
                    "personal_amount": c.personal_amount,
                }
                for c in medical.contributions
            ]
        if (fund := records.provident_fund) is not None:
            a = fund.account
            rows[FundAccountRow.__tablename__] = [
                {
                    "account_number": a.account_no,
                    "person_id": pid,
                    "status": invert(_FUND_STATUS)[a.status],
                    "employer_name": a.employer,
                    "opened_on": a.opened_on,
                    "deposit_base": a.deposit_base,
                    "monthly_deposit": a.monthly_deposit,
                    "balance": a.balance,
                    "deposit_months": a.deposit_months,
                    "loan_balance": a.outstanding_loan,
                }
            ]
            rows[DepositRow.__tablename__] = [
                {
                    "account_number": a.account_no,
                    "period": d.month,
                    "employer_amount": d.employer_amount,
                    "personal_amount": d.personal_amount,
                }
                for d in fund.deposits
            ]
        talent = records.talent
        rows[SkillCertificateRow.__tablename__] = [
            {
                "person_id": pid,
                "seq": i,
                "certificate_number": s.certificate_no,
                "occupation": s.occupation,
                "level": invert(_SKILL_LEVEL)[s.level],
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
                "grade": invert(_TITLE_GRADE)[t.grade],
                "awarded_on": t.awarded_on,
            }
            for i, t in enumerate(talent.titles)
        ]
        rows[CeHoursRow.__tablename__] = [
            {"person_id": pid, "year": y.year, "hours": y.hours, "required_hours": y.required_hours}
            for y in talent.continuing_education
        ]
        return {table: table_rows for table, table_rows in rows.items() if table_rows}

    def read_document(self, session: Session, *, id_number: str) -> LocalDocument | None:
        """``GET /api/v1/persons/{idNumber}/records`` as 长沙's own systems answer it."""
        person = session.exec(select(PersonRow).where(PersonRow.id_number == id_number)).first()
        if person is None:
            return None
        pid = person.person_id
        enrolment = session.get(EnrolmentRow, pid)
        contributions = session.exec(
            select(ContributionRow).where(ContributionRow.person_id == pid).order_by(col(ContributionRow.period))
        ).all()
        account = session.exec(select(FundAccountRow).where(FundAccountRow.person_id == pid)).first()
        deposits = (
            []
            if account is None
            else session.exec(
                select(DepositRow)
                .where(DepositRow.account_number == account.account_number)
                .order_by(col(DepositRow.period))
            ).all()
        )
        certificates = session.exec(
            select(SkillCertificateRow)
            .where(SkillCertificateRow.person_id == pid)
            .order_by(col(SkillCertificateRow.seq))
        ).all()
        titles = session.exec(select(TitleRow).where(TitleRow.person_id == pid).order_by(col(TitleRow.seq))).all()
        ce_years = session.exec(
            select(CeHoursRow).where(CeHoursRow.person_id == pid).order_by(col(CeHoursRow.year))
        ).all()
        return {
            "person": {
                "personId": pid,
                "idNumber": person.id_number,
                "fullName": person.full_name,
                "gender": person.gender,
            },
            "medicalInsurance": None
            if enrolment is None
            else {
                "enrolment": {
                    "insuranceType": enrolment.insurance_type,
                    "status": enrolment.status,
                    "enrolledOn": enrolment.enrolled_on.isoformat(),
                    "contributionMonths": enrolment.contribution_months,
                    "accountBalance": yuan_text(enrolment.account_balance),
                    "employerName": enrolment.employer_name,
                },
                "contributions": [
                    {
                        "period": c.period,
                        "baseAmount": yuan_text(c.base_amount),
                        "employerAmount": yuan_text(c.employer_amount),
                        "personalAmount": yuan_text(c.personal_amount),
                    }
                    for c in contributions
                ],
            },
            "housingFund": None
            if account is None
            else {
                "account": {
                    "accountNumber": account.account_number,
                    "status": account.status,
                    "employerName": account.employer_name,
                    "openedOn": account.opened_on.isoformat(),
                    "depositBase": yuan_text(account.deposit_base),
                    "monthlyDeposit": yuan_text(account.monthly_deposit),
                    "balance": yuan_text(account.balance),
                    "depositMonths": account.deposit_months,
                    "outstandingLoan": yuan_text(account.loan_balance),
                },
                "deposits": [
                    {
                        "period": d.period,
                        "employerAmount": yuan_text(d.employer_amount),
                        "personalAmount": yuan_text(d.personal_amount),
                    }
                    for d in deposits
                ],
            },
            "talent": {
                "skillCertificates": [
                    {
                        "certificateNumber": s.certificate_number,
                        "occupation": s.occupation,
                        "level": s.level,
                        "issuedOn": s.issued_on.isoformat(),
                        "issuer": s.issuer,
                    }
                    for s in certificates
                ],
                "titles": [
                    {
                        "certificateNumber": t.certificate_number,
                        "series": t.series,
                        "titleName": t.title_name,
                        "grade": t.grade,
                        "awardedOn": t.awarded_on.isoformat(),
                    }
                    for t in titles
                ],
                "ceHours": [{"year": y.year, "hours": y.hours, "requiredHours": y.required_hours} for y in ce_years],
            },
        }

    def to_canonical(self, document: LocalDocument, *, city: CityRef) -> PersonRecords:
        """Map a 长沙 payload to canonical records; :class:`DialectError` names the malformed field."""
        doc = Fields(document, "")
        p = doc.section("person")
        person_id = p.text("personId")
        person = build(
            Person,
            p.path,
            id_number=p.id_number("idNumber"),
            name=p.text("fullName"),
            gender=p.coded("gender", _GENDER),
        )
        mi = doc.optional_section("medicalInsurance")
        fund = doc.optional_section("housingFund")
        talent = doc.section("talent")
        return PersonRecords(
            city=city,
            person=person,
            medical_insurance=None if mi is None else _medical(mi, person_id),
            provident_fund=None if fund is None else _fund(fund),
            talent=_talent(talent),
        )


def _medical(mi: Fields, person_id: str) -> MedicalInsuranceRecord:
    e = mi.section("enrolment")
    enrolment = build(
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
        build(
            Contribution,
            c.path,
            month=c.month("period", _PERIOD),
            base=c.yuan("baseAmount"),
            employer_amount=c.yuan("employerAmount"),
            personal_amount=c.yuan("personalAmount"),
        )
        for c in mi.entries("contributions")
    ]
    return MedicalInsuranceRecord(enrolment=enrolment, contributions=contributions)


def _fund(fund: Fields) -> ProvidentFundRecord:
    a = fund.section("account")
    account = build(
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
        build(
            Deposit,
            d.path,
            month=d.month("period", _PERIOD),
            employer_amount=d.yuan("employerAmount"),
            personal_amount=d.yuan("personalAmount"),
        )
        for d in fund.entries("deposits")
    ]
    return ProvidentFundRecord(account=account, deposits=deposits)


def _talent(talent: Fields) -> TalentRecord:
    certificates = [
        build(
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
        build(
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
        build(
            ContinuingEducationYear,
            y.path,
            year=y.integer("year"),
            hours=y.integer("hours"),
            required_hours=y.integer("requiredHours"),
        )
        for y in talent.entries("ceHours")
    ]
    return TalentRecord(skill_certificates=certificates, titles=titles, continuing_education=ce_years)


DIALECT = RestCamel()
