"""The data catalogue: which categories of personal data the exchange carries, their fields, and what each
service needs of them.

A *category* is one part of a city's canonical record (``schemas/records.py``), named ``domain.part``;
its *fields* are the canonical model's fields, so a field added to the exchange standard is governed at
once. List categories (deposits, certificates …) govern each item's fields.

A *service* is something a requester does through the gateway (a lookup, a loan check, a transfer …);
it states the purpose it serves and the fields it needs from each category. A policy that withholds or
masks a needed field stops the service — the policy lab counts exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel

from schemas.medical_insurance import Contribution, Enrolment
from schemas.provident_fund import Deposit, FundAccount
from schemas.purposes import Purpose
from schemas.records import Person
from schemas.talent import ContinuingEducationYear, ProfessionalTitle, SkillCertificate


@dataclass(frozen=True)
class Category:
    """One category of personal data: where it sits in a city's canonical record, and its fields."""

    name: str
    path: tuple[str, ...]
    """Keys from the top of a city's canonical record (``PersonRecords``) to the category's object or list."""
    fields: tuple[str, ...]
    many: bool
    """True when the category is a list of items (deposits, certificates …), each with ``fields``."""
    description: str
    date_fields: frozenset[str] = frozenset()
    """Fields holding a date or a month: the only ones a ``year`` mask fits."""

    @property
    def domain(self) -> str:
        return self.name.split(".", 1)[0]


def _category(name: str, path: tuple[str, ...], model: type[BaseModel], *, many: bool, description: str) -> Category:
    dates = frozenset(
        field
        for field, info in model.model_fields.items()
        if info.annotation in (date, datetime, date | None, datetime | None) or field == "month"
    )
    return Category(
        name=name, path=path, fields=tuple(model.model_fields), many=many, description=description, date_fields=dates
    )


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        _category("identity", ("person",), Person, many=False, description="身份信息: ID number, name, gender"),
        _category(
            "medical_insurance.enrolment",
            ("medical_insurance", "enrolment"),
            Enrolment,
            many=False,
            description="医保参保: insurance type, status, since, months, account balance, employer",
        ),
        _category(
            "medical_insurance.contributions",
            ("medical_insurance", "contributions"),
            Contribution,
            many=True,
            description="医保缴费记录: monthly contribution base and amounts",
        ),
        _category(
            "provident_fund.account",
            ("provident_fund", "account"),
            FundAccount,
            many=False,
            description="公积金账户: status, employer, base, monthly deposit, balance, months, loan",
        ),
        _category(
            "provident_fund.deposits",
            ("provident_fund", "deposits"),
            Deposit,
            many=True,
            description="公积金缴存记录: monthly employer and personal deposits",
        ),
        _category(
            "talent.skill_certificates",
            ("talent", "skill_certificates"),
            SkillCertificate,
            many=True,
            description="职业技能等级证书",
        ),
        _category(
            "talent.titles", ("talent", "titles"), ProfessionalTitle, many=True, description="职称: series, grade"
        ),
        _category(
            "talent.continuing_education",
            ("talent", "continuing_education"),
            ContinuingEducationYear,
            many=True,
            description="继续教育学时 per year, with the city's requirement",
        ),
    )
}
"""Every category, by name; the order is the order of a record."""

CATEGORY_NAMES = tuple(CATEGORIES)


def expand_categories(patterns: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Category names matched by ``patterns``: exact names, ``domain.*`` or ``*``; unknown names raise ValueError."""
    names: list[str] = []
    for pattern in patterns:
        if pattern == "*":
            matched = list(CATEGORY_NAMES)
        elif pattern.endswith(".*"):
            matched = [n for n in CATEGORY_NAMES if n == pattern[:-2] or n.startswith(pattern[:-1])]
        else:
            matched = [pattern] if pattern in CATEGORIES else []
        if not matched:
            raise ValueError(f"no data category {pattern!r}; known: {', '.join(CATEGORY_NAMES)}")
        names += [n for n in matched if n not in names]
    return tuple(names)


class Service(StrEnum):
    """What a requester does through the gateway; each names a purpose and the data it needs."""

    RECORDS_SELF = "records.self"
    RECORDS_LOOKUP = "records.lookup"
    LOCAL_DOCUMENT = "records.local-document"
    LOAN_ELIGIBILITY = "provident_fund.loan-eligibility"
    FUND_TRANSFER = "provident_fund.transfer"
    MEDICAL_ENROLMENT = "medical_insurance.enrolment-view"
    MEDICAL_FILING = "medical_insurance.filing"
    MEDICAL_SETTLEMENT = "medical_insurance.settlement"
    CONTINUING_EDUCATION = "talent.continuing-education"
    TITLE_EVALUATION = "talent.title-evaluation"
    CREDENTIAL_ISSUE = "talent.credential-issue"
    CREDENTIAL_VERIFICATION = "talent.credential-verification"
    CREDENTIAL_REVOCATION = "talent.credential-revocation"


@dataclass(frozen=True)
class ServiceNeed:
    """What one service needs: its purpose (None: the requester states it) and the fields per category."""

    service: Service
    purpose: Purpose | None
    needs: dict[str, tuple[str, ...]]
    """Category → the fields the service cannot do without. Empty fields: whatever the policy releases."""
    description: str


def _all(category: str) -> tuple[str, ...]:
    return CATEGORIES[category].fields


_CREDENTIAL_CATEGORIES = (
    "talent.skill_certificates",
    "talent.titles",
    "talent.continuing_education",
    "provident_fund.account",
)
_ACCOUNT_FOR_LOANS = ("status", "deposit_months", "balance", "outstanding_loan", "monthly_deposit", "deposit_base")

SERVICES: dict[Service, ServiceNeed] = {
    s.service: s
    for s in (
        ServiceNeed(
            Service.RECORDS_SELF,
            Purpose.SELF_SERVICE,
            {c: () for c in CATEGORY_NAMES},
            "我的档案: a resident reads their own records from every city",
        ),
        ServiceNeed(
            Service.RECORDS_LOOKUP,
            None,
            {c: () for c in CATEGORY_NAMES},
            "An official or API client looks a resident up for a stated purpose",
        ),
        ServiceNeed(
            Service.LOCAL_DOCUMENT,
            Purpose.SELF_SERVICE,
            {c: _all(c) for c in CATEGORY_NAMES},
            "A resident reads one city's unmapped local document (all of it, so every field is needed)",
        ),
        ServiceNeed(
            Service.LOAN_ELIGIBILITY,
            Purpose.LOAN_APPLICATION,
            {"provident_fund.account": _ACCOUNT_FOR_LOANS, "provident_fund.deposits": ("month",)},
            "住房公积金贷款: eligibility and limit with deposits in every city recognised",
        ),
        ServiceNeed(
            Service.FUND_TRANSFER,
            Purpose.FUND_TRANSFER,
            {"provident_fund.account": ("status", "balance", "outstanding_loan")},
            "公积金转移接续: move a sealed account's balance to the new city",
        ),
        ServiceNeed(
            Service.MEDICAL_ENROLMENT,
            Purpose.SELF_SERVICE,
            {"medical_insurance.enrolment": _all("medical_insurance.enrolment")},
            "医保参保 in every city, contribution months recognised across them",
        ),
        ServiceNeed(
            Service.MEDICAL_FILING,
            Purpose.MEDICAL_FILING,
            {"medical_insurance.enrolment": ("status",)},
            "异地就医备案: file, list or cancel a filing with the insuring city",
        ),
        ServiceNeed(
            Service.MEDICAL_SETTLEMENT,
            Purpose.MEDICAL_SETTLEMENT,
            {"medical_insurance.enrolment": ("status", "insurance_type", "account_balance"), "identity": ("name",)},
            "异地就医直接结算: a care city's claim settled by the insuring city's rules",
        ),
        ServiceNeed(
            Service.CONTINUING_EDUCATION,
            Purpose.TALENT_EVALUATION,
            {"talent.continuing_education": ("year", "hours")},
            "学时互认: hours from every city counted toward one city's requirement",
        ),
        ServiceNeed(
            Service.TITLE_EVALUATION,
            Purpose.TALENT_EVALUATION,
            {
                "talent.continuing_education": ("year", "hours"),
                "talent.titles": _all("talent.titles"),
                "talent.skill_certificates": _all("talent.skill_certificates"),
            },
            "职称评审: the whole talent record from every city",
        ),
        ServiceNeed(
            Service.CREDENTIAL_ISSUE,
            Purpose.SELF_SERVICE,
            {c: _all(c) for c in _CREDENTIAL_CATEGORIES},
            "A city signs a credential on one of the resident's own records (each kind is one category)",
        ),
        ServiceNeed(
            Service.CREDENTIAL_VERIFICATION,
            Purpose.CREDENTIAL_VERIFICATION,
            {c: () for c in _CREDENTIAL_CATEGORIES},
            "证书核验: a credential's signature, issuer, validity and revocation (the holder presents it)",
        ),
        ServiceNeed(
            Service.CREDENTIAL_REVOCATION,
            Purpose.CASE_HANDLING,
            {c: () for c in _CREDENTIAL_CATEGORIES},
            "The issuing city's official revokes one of its credentials (no data leaves the city)",
        ),
    )
}


PURPOSE_NEEDS: dict[Purpose, dict[str, tuple[str, ...]]] = {
    Purpose.SELF_SERVICE: {},
    Purpose.CASE_HANDLING: {},
    Purpose.FUND_TRANSFER: dict(SERVICES[Service.FUND_TRANSFER].needs),
    Purpose.LOAN_APPLICATION: dict(SERVICES[Service.LOAN_ELIGIBILITY].needs),
    Purpose.MEDICAL_SETTLEMENT: dict(SERVICES[Service.MEDICAL_SETTLEMENT].needs),
    Purpose.MEDICAL_FILING: dict(SERVICES[Service.MEDICAL_FILING].needs),
    Purpose.CREDENTIAL_VERIFICATION: {  # is there such a certificate, of that kind and level: not when it was issued
        "talent.skill_certificates": ("certificate_no", "occupation", "level", "issuer"),
        "talent.titles": ("certificate_no", "series", "title", "grade"),
    },
    Purpose.TALENT_EVALUATION: dict(SERVICES[Service.TITLE_EVALUATION].needs),
}
"""What a lookup *for a purpose* needs to do its job: the fields of the service that purpose serves (the
requester named the person, so identity is not among them; a case check needs nothing in particular).
A lookup (``records.lookup``) takes whatever the policy releases; the policy lab counts what it releases
beyond this as over-sharing, and a lookup that lacks it as a service the requester cannot finish."""


def needs_of(service: Service, purpose: Purpose) -> dict[str, tuple[str, ...]]:
    """The fields ``service`` cannot do without when used for ``purpose`` (category → fields)."""
    if service is Service.RECORDS_LOOKUP:
        return PURPOSE_NEEDS[purpose]
    return {category: fields for category, fields in SERVICES[service].needs.items() if fields}
