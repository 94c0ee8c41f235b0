"""Persons in canonical columns: how the generator hands a block's persons to a city's dialect.

:class:`CityColumns` holds some persons of one city as the exchange standard sees them — one list per field, money
in whole 分, months as month indexes (``year * 12 + month - 1``), days as (month index, day of the month) — so
that a dialect's rows are a column-by-column mapping (each dialect's ``sqlite_rows``) instead of a dict per
person, and :meth:`CityColumns.records` gives the same persons' canonical records. The helpers below are what the
dialects' ``sqlite_rows`` share: rows come out as tuples in each table's column order, with the values SQLite
stores (what SQLAlchemy's bind processors make of them: text dates for ``DATE`` columns, floats for ``NUMERIC``).
tests/mock_cities/test_generated.py holds every dialect's ``sqlite_rows`` to its ``local_rows`` of the records.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Table

from mock_cities.dialects import CompactRecords, MonthlyRun, PeriodTable
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
        dialect's ``local_rows`` turns into the same rows as its ``sqlite_rows`` (tests/mock_cities/test_generated.py
        holds them to it)."""
        ref, talent = self.city.ref, self.city.talent
        contributions = _by_owner(self.contributions)
        deposits = _by_owner(self.deposits)
        accounts = {account.owner: (position, account) for position, account in enumerate(self.accounts)}
        account_no = self.account_no()
        person_no = self.person_no()
        certificates = _grouped(
            self.certificates,
            lambda c: SkillCertificate(
                certificate_no=c.certificate_no,
                occupation=c.occupation,
                level=c.level,
                issued_on=_date(c.issued),
                issuer=talent.evaluation_body,
            ),
        )
        titles = _grouped(
            self.titles,
            lambda t: ProfessionalTitle(
                certificate_no=t.certificate_no,
                series=t.series,
                title=t.title,
                grade=t.grade,
                awarded_on=_date(t.awarded),
            ),
        )
        hours = _grouped(
            self.hours, lambda h: ContinuingEducationYear(year=h.year, hours=h.hours, required_hours=h.required)
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

    def split(self, size: int) -> list[CityColumns]:
        """These persons in parts of at most ``size`` persons each (a transaction's worth), owners renumbered."""
        if size < 1:
            raise ValueError("a part holds at least one person")
        if self.persons <= size:
            return [self]
        account_owners = [account.owner for account in self.accounts]
        parts = []
        for start in range(0, self.persons, size):
            stop = min(start + size, self.persons)
            first_account, end_account = bisect_left(account_owners, start), bisect_left(account_owners, stop)
            persons: dict[str, Any] = {name: getattr(self, name)[start:stop] for name in _PERSON_FIELDS}
            parts.append(
                CityColumns(
                    city=self.city,
                    **persons,
                    contributions=_runs_between(self.contributions, start, stop),
                    accounts=[a._replace(owner=a.owner - start) for a in self.accounts[first_account:end_account]],
                    deposits=_runs_between(self.deposits, first_account, end_account),
                    certificates=_owned(self.certificates, start, stop),
                    titles=_owned(self.titles, start, stop),
                    hours=_owned(self.hours, start, stop),
                )
            )
        return parts

    def person_no(self) -> list[str]:
        prefix = self.city.local_no_prefix
        return [f"{prefix}{serial:010d}" for serial in self.serial]

    def account_no(self) -> list[str]:
        prefix, serial = self.city.local_no_prefix, self.serial
        return [f"{prefix}GJ{serial[account.owner]:010d}" for account in self.accounts]


_PERSON_FIELDS = (
    "serial",
    "id_number",
    "name",
    "gender",
    "insurance_type",
    "enrolment_status",
    "enrolled",
    "contribution_months",
    "medical_balance",
    "employer",
)
"""The lists with one entry per person, in :class:`CityColumns`' order after ``city``."""


OwnedT = TypeVar("OwnedT", Certificate, Title, Hours)


def _owned(entries: list[OwnedT], start: int, stop: int) -> list[OwnedT]:
    """The entries of owners ``start .. stop - 1``, renumbered from 0."""
    return [entry._replace(owner=entry.owner - start) for entry in entries if start <= entry.owner < stop]


ModelT = TypeVar("ModelT")


def _grouped(entries: list[OwnedT], build: Callable[[OwnedT], ModelT]) -> dict[int, list[ModelT]]:
    """``build`` of each entry, listed by owner, in the entries' order."""
    grouped: dict[int, list[ModelT]] = {}
    for entry in entries:
        grouped.setdefault(entry.owner, []).append(build(entry))
    return grouped


def _runs_between(runs: Runs, start: int, stop: int) -> Runs:
    """The runs of owners ``start .. stop - 1``, renumbered from 0 (runs are sorted by owner)."""
    first, end = bisect_left(runs.owner, start), bisect_left(runs.owner, stop)
    return Runs(
        [owner - start for owner in runs.owner[first:end]],
        runs.first[first:end],
        runs.last[first:end],
        tuple(column[first:end] for column in runs.amounts),
    )


def _by_owner(runs: Runs) -> dict[int, tuple[MonthlyRun, ...]]:
    grouped: dict[int, list[MonthlyRun]] = {}
    for owner, first, last, *amounts in zip(runs.owner, runs.first, runs.last, *runs.amounts, strict=True):
        grouped.setdefault(owner, []).append((first, last, tuple(amounts)))
    return {owner: tuple(owned) for owner, owned in grouped.items()}


def _date(day: Day) -> date:
    month, day_of_month = day
    return date(month // 12, month % 12 + 1, day_of_month)


class LocalDays(dict[Day, Any]):
    """A day's local value (``local(date)``), made once per day met: most are the first of a month."""

    def __init__(self, local: Callable[[date], Any]) -> None:
        super().__init__()
        self._local = local

    def __missing__(self, day: Day) -> Any:
        value = self[day] = self._local(_date(day))
        return value


def table_rows(metadata_table: Table, columns: dict[str, Sequence[Any]]) -> list[tuple[Any, ...]]:
    """``columns`` (by name) zipped in the table's own column order; every column must be given."""
    names = metadata_table.columns.keys()
    missing = set(names) - set(columns)
    if missing or set(columns) - set(names):
        raise KeyError(f"{metadata_table.name}: columns {sorted(missing)} missing or unknown ones given")
    return list(zip(*(columns[name] for name in names), strict=True))


def period_rows(table: PeriodTable, keys: list[str], runs: Runs, amount: Callable[[int], Any] | None) -> list[tuple]:
    """A period table's rows: key, first and last month in the local format, the amounts in the local unit."""
    label = table.label
    amounts = runs.amounts if amount is None else [list(map(amount, column)) for column in runs.amounts]
    owners = [keys[owner] for owner in runs.owner]
    return list(zip(owners, map(label, runs.first), map(label, runs.last), *amounts, strict=True))


class _YuanTexts(dict[int, str]):
    """Non-negative amounts in 分 as yuan text (``legacy_envelope``'s ``_yuan_text`` without the sign's work;
    :func:`non_negative` checks the columns it is given), each made once: three in four amounts of a block recur
    (the same bases and rates), and a hit is a dict lookup in C. Starts over beyond :data:`_TEXTS_KEPT`."""

    def __missing__(self, fen: int) -> str:
        if len(self) >= _TEXTS_KEPT:
            self.clear()
        text = self[fen] = f"{fen // 100}.{fen % 100:02d}"
        return text


_TEXTS_KEPT = 200_000
_YUAN_TEXT = _YuanTexts()
yuan_text_of = _YUAN_TEXT.__getitem__
"""A non-negative amount in 分 as yuan text (``"3821.50"``)."""


def non_negative(*columns: Sequence[int]) -> None:
    """Raise unless every amount in ``columns`` is at least 0 (what :data:`yuan_text_of` takes)."""
    for column in columns:
        if column and min(column) < 0:
            raise ValueError("a generated amount is negative")


def yuan_float(fen: int) -> float:
    """分 as SQLAlchemy binds a NUMERIC on SQLite (a float of the yuan): ``1234 / 100`` is the float of 12.34."""
    return fen / 100
