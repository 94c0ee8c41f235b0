"""One city's persons in canonical columns, and the rows each local dialect stores them as (the prototype's writers).

:class:`CityColumns` holds a block's persons as the exchange standard sees them — one list per field, money in
whole 分, months as month indexes (``year * 12 + month - 1``), days as (month index, day of the month) — so that a
dialect's rows are a column-by-column mapping instead of a dict per person. :func:`rows_for` gives, per dialect,
the function from columns to rows: tuples in each table's column order, with the values SQLite stores (what
SQLAlchemy's bind processors would make of them: text dates for ``DATE`` columns, floats for ``NUMERIC``).

Each writer maps fields with the dialect module's own code tables and month labels, as its ``local_rows`` does
for one person; tests/bench/test_seeding_vectorised.py reads the rows back through every dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from mock_cities.dialects import CompactRecords, MonthlyRun, PeriodTable, legacy_envelope, nhsa, rest_camel
from mock_cities.profiles import CityProfile
from schemas.medical_insurance import Enrolment, EnrolmentStatus, InsuranceType, MedicalInsuranceRecord
from schemas.money import fen_to_yuan
from schemas.provident_fund import FundAccount, FundAccountStatus, ProvidentFundRecord
from schemas.records import Gender, Person, PersonRecords
from schemas.talent import ContinuingEducationYear, ProfessionalTitle, SkillCertificate, TalentRecord, TitleGrade

Day = tuple[int, int]
"""(month index, day of the month)."""

Rows = dict[str, list[tuple[Any, ...]]]


class Runs(NamedTuple):
    """Periods, one per entry of each list: consecutive months ``first..last`` of one person (or account, by
    position) that paid the same amounts (one list per amount), sorted by owner, then month."""

    owner: list[int]
    first: list[int]
    last: list[int]
    amounts: tuple[list[int], ...]


class Account(NamedTuple):
    owner: int
    status: FundAccountStatus
    opened: int
    """Month index: accounts open on the first of a month."""
    base: int
    monthly: int
    balance: int
    months: int
    loan: int


class Certificate(NamedTuple):
    owner: int
    seq: int
    """Position in the person's list in this city, oldest first (the dialects' ``seq``), from 0."""
    certificate_no: str
    occupation: str
    level: int
    issued: Day


class Title(NamedTuple):
    owner: int
    seq: int
    certificate_no: str
    series: str
    title: str
    grade: TitleGrade
    awarded: Day


class Hours(NamedTuple):
    owner: int
    year: int
    hours: int
    required: int


@dataclass(frozen=True)
class CityColumns:
    """A block's persons held by one city, canonical: one entry per person in the person lists (every person has a
    医保 enrolment), and owner positions into them in the others (a deposit's owner is an account's position)."""

    city: CityProfile
    serial: list[int]
    id_number: list[str]
    name: list[str]
    gender: list[Gender]
    insurance_type: list[InsuranceType]
    enrolment_status: list[EnrolmentStatus]
    enrolled: list[int]
    """Month index of the enrolment (the first of that month)."""
    contribution_months: list[int]
    medical_balance: list[int]
    employer: list[str | None]
    contributions: Runs
    accounts: list[Account]
    deposits: Runs
    certificates: list[Certificate]
    titles: list[Title]
    hours: list[Hours]

    @property
    def persons(self) -> int:
        return len(self.serial)

    def records(self) -> list[CompactRecords]:
        """Each person's canonical records, validated as the exchange standard, in the order of the lists: what a
        dialect's ``local_rows`` turns into the same rows as :func:`rows_for`'s writer (tests/bench hold them to it)."""
        ref, talent = self.city.ref, self.city.talent
        contributions = _by_owner(self.contributions)
        deposits = _by_owner(self.deposits)
        accounts = {account.owner: (position, account) for position, account in enumerate(self.accounts)}
        account_no = self.account_no()
        person_no = self.person_no()
        certificates: dict[int, list[SkillCertificate]] = {}
        for c in self.certificates:
            certificates.setdefault(c.owner, []).append(
                SkillCertificate(
                    certificate_no=c.certificate_no,
                    occupation=c.occupation,
                    level=c.level,
                    issued_on=_date(c.issued),
                    issuer=talent.evaluation_body,
                )
            )
        titles: dict[int, list[ProfessionalTitle]] = {}
        for t in self.titles:
            titles.setdefault(t.owner, []).append(
                ProfessionalTitle(
                    certificate_no=t.certificate_no,
                    series=t.series,
                    title=t.title,
                    grade=t.grade,
                    awarded_on=_date(t.awarded),
                )
            )
        hours: dict[int, list[ContinuingEducationYear]] = {}
        for h in self.hours:
            hours.setdefault(h.owner, []).append(
                ContinuingEducationYear(year=h.year, hours=h.hours, required_hours=h.required)
            )
        result = []
        for i in range(self.persons):
            enrolment = Enrolment(
                local_person_no=person_no[i],
                insurance_type=self.insurance_type[i],
                status=self.enrolment_status[i],
                since=_date((self.enrolled[i], 1)),
                contribution_months=self.contribution_months[i],
                account_balance=fen_to_yuan(self.medical_balance[i]),
                employer=self.employer[i],
            )
            fund = None
            held = accounts.get(i)
            if held is not None:
                position, a = held
                fund = ProvidentFundRecord(
                    account=FundAccount(
                        account_no=account_no[position],
                        status=a.status,
                        employer=self.employer[i],
                        opened_on=_date((a.opened, 1)),
                        deposit_base=fen_to_yuan(a.base),
                        monthly_deposit=fen_to_yuan(a.monthly),
                        balance=fen_to_yuan(a.balance),
                        deposit_months=a.months,
                        outstanding_loan=fen_to_yuan(a.loan),
                    ),
                    deposits=[],
                )
            records = PersonRecords(
                city=ref,
                person=Person(id_number=self.id_number[i], name=self.name[i], gender=self.gender[i]),
                medical_insurance=MedicalInsuranceRecord(enrolment=enrolment, contributions=[]),
                provident_fund=fund,
                talent=TalentRecord(
                    skill_certificates=certificates.get(i, []),
                    titles=titles.get(i, []),
                    continuing_education=hours.get(i, []),
                ),
            )
            account_runs = deposits.get(held[0], ()) if held is not None else ()
            result.append(CompactRecords(records, contributions.get(i, ()), account_runs))
        return result

    def person_no(self) -> list[str]:
        prefix = self.city.local_no_prefix
        return [f"{prefix}{serial:010d}" for serial in self.serial]

    def account_no(self) -> list[str]:
        prefix, serial = self.city.local_no_prefix, self.serial
        return [f"{prefix}GJ{serial[account.owner]:010d}" for account in self.accounts]


def _by_owner(runs: Runs) -> dict[int, tuple[MonthlyRun, ...]]:
    grouped: dict[int, list[MonthlyRun]] = {}
    for owner, first, last, *amounts in zip(runs.owner, runs.first, runs.last, *runs.amounts, strict=True):
        grouped.setdefault(owner, []).append((first, last, tuple(amounts)))
    return {owner: tuple(owned) for owner, owned in grouped.items()}


def _date(day: Day) -> date:
    month, day_of_month = day
    return date(month // 12, month % 12 + 1, day_of_month)


class _Days(dict[Day, Any]):
    """A day's local value, made once per day met."""

    def __init__(self, local: Callable[[date], Any]) -> None:
        super().__init__()
        self._local = local

    def __missing__(self, day: Day) -> Any:
        value = self[day] = self._local(_date(day))
        return value


def _table(metadata_table: Any, columns: dict[str, Sequence[Any]]) -> list[tuple[Any, ...]]:
    """``columns`` (by name) zipped in the table's own column order; every column must be given."""
    names = metadata_table.columns.keys()
    missing = set(names) - set(columns)
    if missing or set(columns) - set(names):
        raise KeyError(f"{metadata_table.name}: columns {sorted(missing)} missing or unknown ones given")
    return list(zip(*(columns[name] for name in names), strict=True))


def _runs(table: PeriodTable, keys: list[str], runs: Runs, amount: Callable[[int], Any] | None) -> list[tuple]:
    """A period table's rows: key, first and last month in the local format, the amounts in the local unit."""
    label = table.label
    amounts = runs.amounts if amount is None else [list(map(amount, column)) for column in runs.amounts]
    owners = [keys[owner] for owner in runs.owner]
    return list(zip(owners, map(label, runs.first), map(label, runs.last), *amounts, strict=True))


class _YuanTexts(dict[int, str]):
    """Non-negative amounts in 分 as yuan text (``legacy_envelope``'s ``_yuan_text`` without the sign's work;
    :func:`_non_negative` checks the columns it is given), each made once: three in four amounts of a block recur
    (the same bases and rates), and a hit is a dict lookup in C. Starts over beyond :data:`_TEXTS_KEPT`."""

    def __missing__(self, fen: int) -> str:
        if len(self) >= _TEXTS_KEPT:
            self.clear()
        text = self[fen] = f"{fen // 100}.{fen % 100:02d}"
        return text


_TEXTS_KEPT = 200_000
_YUAN_TEXT = _YuanTexts()
_yuan_text = _YUAN_TEXT.__getitem__


def _non_negative(*columns: Sequence[int]) -> None:
    for column in columns:
        if column and min(column) < 0:
            raise ValueError("a generated amount is negative")


def _nhsa(columns: CityColumns) -> Rows:
    m, days = nhsa, _NHSA_DAYS
    tables = m.metadata.tables
    person_no, account_no = columns.person_no(), columns.account_no()
    persons = columns.persons
    accounts = columns.accounts
    return {
        "psn_info": _table(
            tables["psn_info"],
            {
                "psn_no": person_no,
                "psn_cert_type": [m._RESIDENT_ID_CARD] * persons,
                "certno": columns.id_number,
                "psn_name": columns.name,
                "gend": [m._GEND_CODE[g] for g in columns.gender],
            },
        ),
        "psn_insu_d": _table(
            tables["psn_insu_d"],
            {
                "psn_no": person_no,
                "insutype": [m._INSUTYPE_CODE[t] for t in columns.insurance_type],
                "psn_insu_stas": [m._PSN_INSU_STAS_CODE[s] for s in columns.enrolment_status],
                "begndate": [days[(month, 1)] for month in columns.enrolled],
                "crt_pay_mons": columns.contribution_months,
                "balc": columns.medical_balance,
                "emp_name": columns.employer,
            },
        ),
        "psn_clct_prd_d": _runs(m._CLCT_PERIODS, person_no, columns.contributions, None),
        "hf_acct": _table(
            tables["hf_acct"],
            {
                "hf_acct_no": account_no,
                "psn_no": [person_no[a.owner] for a in accounts],
                "acct_stas": [m._ACCT_STAS_CODE[a.status] for a in accounts],
                "emp_name": [columns.employer[a.owner] for a in accounts],
                "opn_date": [days[(a.opened, 1)] for a in accounts],
                "dpst_base": [a.base for a in accounts],
                "mon_dpst_amt": [a.monthly for a in accounts],
                "balc": [a.balance for a in accounts],
                "dpst_mons": [a.months for a in accounts],
                "loan_balc": [a.loan for a in accounts],
            },
        ),
        "hf_dpst_prd_d": _runs(m._DPST_PERIODS, account_no, columns.deposits, None),
        "skl_cert_d": [
            (
                person_no[c.owner],
                c.seq,
                c.certificate_no,
                c.occupation,
                m._SKL_LV_CODE[c.level],
                days[c.issued],
                columns.city.talent.evaluation_body,
            )
            for c in columns.certificates
        ],
        "titl_d": [
            (person_no[t.owner], t.seq, t.certificate_no, t.series, t.title, m._TITL_LV_CODE[t.grade], days[t.awarded])
            for t in columns.titles
        ],
        "cedu_hrs_d": [(person_no[h.owner], h.year, h.hours, h.required) for h in columns.hours],
    }


def _yuan_float(fen: int) -> float:
    """分 as SQLAlchemy binds a NUMERIC on SQLite (a float of the yuan): ``1234 / 100`` is the float of 12.34."""
    return fen / 100


def _rest_camel(columns: CityColumns) -> Rows:
    m, days = rest_camel, _ISO_DAYS
    tables = m.metadata.tables
    person_id, account_no = columns.person_no(), columns.account_no()
    accounts = columns.accounts
    return {
        "person": _table(
            tables["person"],
            {
                "person_id": person_id,
                "id_number": columns.id_number,
                "full_name": columns.name,
                "gender": [m._GENDER_CODE[g] for g in columns.gender],
            },
        ),
        "medical_enrolment": _table(
            tables["medical_enrolment"],
            {
                "person_id": person_id,
                "insurance_type": [m._INSURANCE_TYPE_CODE[t] for t in columns.insurance_type],
                "status": [m._ENROLMENT_STATUS_CODE[s] for s in columns.enrolment_status],
                "enrolled_on": [days[(month, 1)] for month in columns.enrolled],
                "contribution_months": columns.contribution_months,
                "account_balance": list(map(_yuan_float, columns.medical_balance)),
                "employer_name": columns.employer,
            },
        ),
        "medical_contribution_period": _runs(m._CONTRIBUTION_PERIODS, person_id, columns.contributions, _yuan_float),
        "housing_fund_account": _table(
            tables["housing_fund_account"],
            {
                "account_number": account_no,
                "person_id": [person_id[a.owner] for a in accounts],
                "status": [m._FUND_STATUS_CODE[a.status] for a in accounts],
                "employer_name": [columns.employer[a.owner] for a in accounts],
                "opened_on": [days[(a.opened, 1)] for a in accounts],
                "deposit_base": [_yuan_float(a.base) for a in accounts],
                "monthly_deposit": [_yuan_float(a.monthly) for a in accounts],
                "balance": [_yuan_float(a.balance) for a in accounts],
                "deposit_months": [a.months for a in accounts],
                "loan_balance": [_yuan_float(a.loan) for a in accounts],
            },
        ),
        "housing_fund_deposit_period": _runs(m._DEPOSIT_PERIODS, account_no, columns.deposits, _yuan_float),
        "skill_certificate": [
            (
                person_id[c.owner],
                c.seq,
                c.certificate_no,
                c.occupation,
                m._SKILL_LEVEL_CODE[c.level],
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
                m._TITLE_GRADE_CODE[t.grade],
                days[t.awarded],
            )
            for t in columns.titles
        ],
        "continuing_education": [(person_id[h.owner], h.year, h.hours, h.required) for h in columns.hours],
    }


def _legacy_envelope(columns: CityColumns) -> Rows:
    m, days, text = legacy_envelope, _SLASH_DAYS, _yuan_text
    _non_negative(columns.medical_balance, *columns.contributions.amounts, *columns.deposits.amounts)
    _non_negative([a.base for a in columns.accounts], [a.balance for a in columns.accounts])
    tables = m.metadata.tables
    grbh, account_no = columns.person_no(), columns.account_no()
    accounts = columns.accounts
    return {
        "t_grxx": _table(
            tables["t_grxx"],
            {
                "grbh": grbh,
                "sfzh": columns.id_number,
                "xm": columns.name,
                "xb": [m._XB_CODE[g] for g in columns.gender],
            },
        ),
        "t_ybcb": _table(
            tables["t_ybcb"],
            {
                "grbh": grbh,
                "xzlx": [m._XZLX_CODE[t] for t in columns.insurance_type],
                "cbzt": [m._CBZT_CODE[s] for s in columns.enrolment_status],
                "cbrq": [days[(month, 1)] for month in columns.enrolled],
                "jfys": list(map(str, columns.contribution_months)),
                "zhye": list(map(text, columns.medical_balance)),
                "dwmc": columns.employer,
            },
        ),
        "t_ybjfqj": _runs(m._YBJF_PERIODS, grbh, columns.contributions, text),
        "t_gjjzh": _table(
            tables["t_gjjzh"],
            {
                "zh": account_no,
                "grbh": [grbh[a.owner] for a in accounts],
                "zhzt": [m._ZHZT_CODE[a.status] for a in accounts],
                "dwmc": [columns.employer[a.owner] for a in accounts],
                "khrq": [days[(a.opened, 1)] for a in accounts],
                "jcjs": [text(a.base) for a in accounts],
                "yjce": [text(a.monthly) for a in accounts],
                "zhye": [text(a.balance) for a in accounts],
                "jcys": [str(a.months) for a in accounts],
                "dkye": [text(a.loan) for a in accounts],
            },
        ),
        "t_gjjjcqj": _runs(m._GJJJC_PERIODS, account_no, columns.deposits, text),
        "t_jnzs": [
            (
                grbh[c.owner],
                c.seq,
                c.certificate_no,
                c.occupation,
                m._DJ_CODE[c.level],
                days[c.issued],
                columns.city.talent.evaluation_body,
            )
            for c in columns.certificates
        ],
        "t_zcxx": [
            (grbh[t.owner], t.seq, t.certificate_no, t.series, t.title, m._ZCDJ_CODE[t.grade], days[t.awarded])
            for t in columns.titles
        ],
        "t_jxjy": [(grbh[h.owner], str(h.year), str(h.hours), str(h.required)) for h in columns.hours],
    }


_NHSA_DAYS = _Days(lambda day: day.strftime(nhsa._DATE))
_ISO_DAYS = _Days(date.isoformat)
_SLASH_DAYS = _Days(lambda day: day.strftime(legacy_envelope._RQ))

_WRITERS: dict[str, Callable[[CityColumns], Rows]] = {
    "nhsa": _nhsa,
    "rest_camel": _rest_camel,
    "legacy_envelope": _legacy_envelope,
}


def rows_for(dialect: str) -> Callable[[CityColumns], Rows]:
    """The writer of ``dialect``'s rows; ``KeyError`` names the known dialects."""
    if dialect not in _WRITERS:
        raise KeyError(f"no writer for dialect {dialect!r}; known: {', '.join(sorted(_WRITERS))}")
    return _WRITERS[dialect]
