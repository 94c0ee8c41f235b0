"""Local dialects: how a city's own systems store and present records.

Each dialect is one module with its own SQLModel tables (in its own ``registry()``, so that two
cities' same-named tables never collide), and one object implementing :class:`Dialect`:

* ``local_rows`` — canonical records, their monthly histories as runs (:class:`CompactRecords`) → the rows
  its tables hold (:class:`LocalRows`): what seeding writes, without one object per month;
* ``to_local_rows`` — canonical → the rows its tables hold, as dicts (``local_rows`` of the same records);
* ``sqlite_rows`` — generated persons in canonical columns (:class:`~mock_cities.columns.CityColumns`) → the
  same rows for a whole block at once, column by column, valued as SQLite stores them;
* ``read_document`` — its tables → the local payload its own API returns (a "recorded payload");
* ``to_canonical`` — local payload → the canonical exchange models (the city's mapping).

Every city keeps its contribution and deposit histories as periods, as Chinese social-insurance systems do
(缴费起止年月): one row per run of consecutive months that paid the same amounts, from its first to its last
month (:class:`PeriodTable`). ``read_document`` expands the periods back into months, so the local payloads
and the canonical records list every month, exactly as when each month was a row of its own.

Cities name their dialect in their profile; several cities may share one dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import MetaData, Table
from sqlmodel import Session

if TYPE_CHECKING:
    from mock_cities.columns import CityColumns

from schemas.cities import CityRef
from schemas.medical_insurance import Contribution, MedicalInsuranceRecord
from schemas.money import fen_to_yuan, yuan_to_fen
from schemas.provident_fund import Deposit, ProvidentFundRecord
from schemas.records import PersonRecords

LocalDocument = dict[str, Any]
"""A payload exactly as the city's own system would return it (JSON-compatible)."""


class DialectError(ValueError):
    """A local payload does not follow its dialect; the mapping cannot produce canonical records."""


# --- monthly histories as runs ------------------------------------------------------------------------------


def month_text(index: int) -> str:
    """A month index (``year * 12 + month - 1``) as the canonical ``YYYY-MM``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_index_of(month: str) -> int:
    """The canonical ``YYYY-MM`` as a month index."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


MonthlyRun = tuple[int, int, tuple[int, ...]]
"""``(first, last, amounts)``: consecutive months ``first..last`` (month indexes, both included) that paid the
same ``amounts``. Contributions carry (base, employer, personal) and deposits (employer, personal), in whole 分
(fen): exact, cheap to compare, and what each dialect converts to its own unit once per run. A plain tuple: a
resident's histories are a dozen runs, made by the million."""


def periods(runs: Iterable[MonthlyRun]) -> list[MonthlyRun]:
    """``runs`` joined where one ends the month before the next begins with the same amounts: the fewest runs.

    However a history was cut (a run per month, per year …), the same months make the same periods.
    """
    joined: list[MonthlyRun] = []
    for first, last, amounts in runs:
        if joined and joined[-1][1] + 1 == first and joined[-1][2] == amounts:
            joined[-1] = (joined[-1][0], last, amounts)
        else:
            joined.append((first, last, amounts))
    return joined


def contributions_of(runs: Sequence[MonthlyRun]) -> list[Contribution]:
    return [
        Contribution(
            month=month_text(month),
            base=fen_to_yuan(base),
            employer_amount=fen_to_yuan(employer),
            personal_amount=fen_to_yuan(personal),
        )
        for first, last, (base, employer, personal) in runs
        for month in range(first, last + 1)
    ]


def deposits_of(runs: Sequence[MonthlyRun]) -> list[Deposit]:
    return [
        Deposit(month=month_text(month), employer_amount=fen_to_yuan(employer), personal_amount=fen_to_yuan(personal))
        for first, last, (employer, personal) in runs
        for month in range(first, last + 1)
    ]


@dataclass(frozen=True, slots=True)
class CompactRecords:
    """One city's records on one person with the monthly histories held as runs of equal months.

    ``records`` holds everything else, its ``contributions`` and ``deposits`` lists empty. Generated
    residents pay the same amounts all year, so sixty months are five or six runs: seeding builds no
    object per month.
    """

    records: PersonRecords
    contributions: tuple[MonthlyRun, ...] = ()
    deposits: tuple[MonthlyRun, ...] = ()

    @classmethod
    def of(cls, records: PersonRecords) -> CompactRecords:
        """From full canonical records: a run per month, whatever the months are."""
        medical, fund = records.medical_insurance, records.provident_fund
        contributions = tuple(
            (m, m, (yuan_to_fen(c.base), yuan_to_fen(c.employer_amount), yuan_to_fen(c.personal_amount)))
            for c in (medical.contributions if medical is not None else [])
            for m in [month_index_of(c.month)]
        )
        deposits = tuple(
            (m, m, (yuan_to_fen(d.employer_amount), yuan_to_fen(d.personal_amount)))
            for d in (fund.deposits if fund is not None else [])
            for m in [month_index_of(d.month)]
        )
        update: dict[str, Any] = {}
        if medical is not None:
            update["medical_insurance"] = MedicalInsuranceRecord(enrolment=medical.enrolment, contributions=[])
        if fund is not None:
            update["provident_fund"] = ProvidentFundRecord(account=fund.account, deposits=[])
        return cls(records.model_copy(update=update), contributions, deposits)

    def expanded(self) -> PersonRecords:
        """The full canonical records."""
        records = self.records
        medical, fund = records.medical_insurance, records.provident_fund
        return PersonRecords(
            city=records.city,
            person=records.person,
            medical_insurance=None
            if medical is None
            else MedicalInsuranceRecord(
                enrolment=medical.enrolment, contributions=contributions_of(self.contributions)
            ),
            provident_fund=None
            if fund is None
            else ProvidentFundRecord(account=fund.account, deposits=deposits_of(self.deposits)),
            talent=records.talent,
        )


class PeriodTable:
    """A dialect's table of periods (缴费起止年月): one row per run of consecutive months with equal amounts.

    Its columns, in this order: the person or account key, the first and the last month of the period (both
    included) in the local ``month_format`` (e.g. ``%Y%m``), then the amounts, in the dialect's own unit:
    ``local_amount`` turns whole 分 into it. Its primary key is the key and the first month, so one person's
    periods are one index range.
    """

    def __init__(self, table: Table, month_format: str, local_amount: Callable[[int], Any]) -> None:
        self.table = table
        self.key_column, self.first_column, self.last_column, *amount_columns = table.columns.keys()
        self.amount_columns = tuple(amount_columns)
        primary_key = [column.name for column in table.primary_key.columns]
        if primary_key != [self.key_column, self.first_column]:
            raise ValueError(f"{table.name}: the primary key must be ({self.key_column}, {self.first_column})")
        self.month_format = month_format
        self._local_amount = local_amount
        self._labels = _MonthLabels(month_format)
        self.label: Callable[[int], str] = self._labels.__getitem__
        """A month index in the local month format: a dict lookup (in C) once the month has been formatted."""

    def rows(self, key: str, runs: Iterable[MonthlyRun]) -> list[tuple[Any, ...]]:
        """The rows of one person's or account's history, one per period, as tuples in the columns' order."""
        local, labels = self._local_amount, self._labels
        return [(key, labels[first], labels[last], *map(local, amounts)) for first, last, amounts in periods(runs)]

    def months(self, rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
        """(month, *amounts) of every month of ``rows`` read as (first month, last month, *amounts), oldest first
        when the rows are: the history as one row per month would hold it."""
        for first, last, *amounts in rows:
            for month in _months_between(first, last, self.month_format):
                yield (month, *amounts)


class _MonthLabels(dict[int, str]):
    """Local month labels by month index, each formatted once (a few hundred months in all)."""

    def __init__(self, month_format: str) -> None:
        super().__init__()
        self.month_format = month_format

    def __missing__(self, month: int) -> str:
        label = self[month] = date(month // 12, month % 12 + 1, 1).strftime(self.month_format)
        return label


@lru_cache(maxsize=4096)
def _months_between(first: str, last: str, month_format: str) -> tuple[str, ...]:
    """Every local month label from ``first`` to ``last``: histories repeat the same few hundred periods."""
    start, end = (datetime.strptime(label, month_format) for label in (first, last))
    return tuple(
        date(month // 12, month % 12 + 1, 1).strftime(month_format)
        for month in range(start.year * 12 + start.month - 1, end.year * 12 + end.month)
    )


@dataclass(frozen=True, slots=True)
class LocalRows:
    """Local rows, per table, parents first; tables without rows are left out.

    ``rows`` holds dicts of column values. ``periods`` holds the rows of :class:`PeriodTable` tables as tuples in
    their columns' order: they are most of a person's rows, and making them dicts would cost more than everything
    else the dialect does. One person's rows (``persons`` 1), or several persons' joined for one write.
    """

    rows: dict[str, list[dict[str, Any]]]
    periods: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    persons: int = 1

    @classmethod
    def joined(cls, parts: Iterable[LocalRows]) -> LocalRows:
        rows: dict[str, list[dict[str, Any]]] = {}
        period_rows: dict[str, list[tuple[Any, ...]]] = {}
        persons = 0
        for part in parts:
            persons += part.persons
            for name, table_rows in part.rows.items():
                rows.setdefault(name, []).extend(table_rows)
            for name, tuples in part.periods.items():
                period_rows.setdefault(name, []).extend(tuples)
        return cls(rows, period_rows, persons)

    def as_dicts(self, metadata: MetaData) -> dict[str, list[dict[str, Any]]]:
        """Every row as a dict of column values, per table of ``metadata`` (the dialect's), parents first."""
        tables: dict[str, list[dict[str, Any]]] = {}
        for table in metadata.sorted_tables:
            if table.name in self.rows:
                tables[table.name] = self.rows[table.name]
            elif table.name in self.periods:
                columns = table.columns.keys()
                tables[table.name] = [dict(zip(columns, row, strict=True)) for row in self.periods[table.name]]
        return tables


# --- dialects ----------------------------------------------------------------------------------------------


class Dialect(Protocol):
    """One local data dialect."""

    name: str
    metadata: MetaData

    def local_rows(self, records: CompactRecords) -> LocalRows:
        """The rows ``records`` take in the dialect's tables (what seeding writes)."""
        ...

    def to_local_rows(self, records: PersonRecords) -> dict[str, list[dict[str, Any]]]:
        """Rows to insert, keyed by table name, parents first; tables without rows are left out."""
        ...

    def sqlite_rows(self, columns: CityColumns) -> dict[str, list[tuple[Any, ...]]]:
        """Generated persons' rows per table, parents first, as tuples in the columns' order valued as SQLite
        stores them (``local_rows`` of :meth:`CityColumns.records`, bound): what seeding writes on SQLite."""
        ...

    def read_document(self, session: Session, *, id_number: str) -> LocalDocument | None:
        """The local payload for one person, or None when the city holds nothing on them."""
        ...

    def to_canonical(self, document: LocalDocument, *, city: CityRef) -> PersonRecords:
        """Map a local payload to canonical records; raise :class:`DialectError` when malformed."""
        ...


def _registry() -> dict[str, Callable[[], Dialect]]:
    from mock_cities.dialects import legacy_envelope, nhsa, rest_camel

    return {
        "rest_camel": lambda: rest_camel.DIALECT,
        "nhsa": lambda: nhsa.DIALECT,
        "legacy_envelope": lambda: legacy_envelope.DIALECT,
    }


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name``; ``KeyError`` names the known ones."""
    known = _registry()
    if name not in known:
        raise KeyError(f"unknown dialect {name!r}; known: {', '.join(sorted(known))}")
    return known[name]()


def dialect_names() -> list[str]:
    return sorted(_registry())
