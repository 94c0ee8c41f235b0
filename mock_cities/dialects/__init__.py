"""Local dialects: how a city's own systems store and present records.

Each dialect is one module with its own SQLModel tables (in its own ``registry()``, so that two
cities' same-named tables never collide), and one object implementing :class:`Dialect`:

* ``local_rows`` — canonical records, their monthly histories as runs (:class:`CompactRecords`) → the rows
  its tables hold, monthly tables as runs too (:class:`LocalRows`): what seeding writes, without one object
  per month until the rows themselves are written;
* ``to_local_rows`` — canonical → the rows its tables hold, as dicts (``local_rows`` expanded);
* ``read_document`` — its tables → the local payload its own API returns (a "recorded payload");
* ``to_canonical`` — local payload → the canonical exchange models (the city's mapping).

Cities name their dialect in their profile; several cities may share one dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, Protocol

from sqlalchemy import MetaData
from sqlmodel import Session

from schemas.cities import CityRef
from schemas.medical_insurance import Contribution, MedicalInsuranceRecord
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


class MonthlyRun(NamedTuple):
    """Consecutive months ``first..last`` (month indexes, both included) that paid the same ``amounts``.

    Contributions carry (base, employer, personal) and deposits (employer, personal), in yuan; a dialect's
    :class:`MonthlyRows` carry them converted to its local form, in its amount columns' order.
    """

    first: int
    last: int
    amounts: tuple[Any, ...]


def converted(runs: Sequence[MonthlyRun], convert: Callable[[Any], Any]) -> tuple[MonthlyRun, ...]:
    """``runs`` with every amount in a dialect's own unit (fen, text …), as ``convert`` writes it."""
    return tuple(MonthlyRun(first, last, tuple(map(convert, amounts))) for first, last, amounts in runs)


def contributions_of(runs: Sequence[MonthlyRun]) -> list[Contribution]:
    return [
        Contribution(month=month_text(month), base=base, employer_amount=employer, personal_amount=personal)
        for first, last, (base, employer, personal) in runs
        for month in range(first, last + 1)
    ]


def deposits_of(runs: Sequence[MonthlyRun]) -> list[Deposit]:
    return [
        Deposit(month=month_text(month), employer_amount=employer, personal_amount=personal)
        for first, last, (employer, personal) in runs
        for month in range(first, last + 1)
    ]


@dataclass(frozen=True, slots=True)
class CompactRecords:
    """One city's records on one person with the monthly histories held as runs of equal months.

    ``records`` holds everything else, its ``contributions`` and ``deposits`` lists empty. Generated
    residents pay the same amounts all year, so sixty months are five or six runs: seeding builds no
    object per month before writing the rows.
    """

    records: PersonRecords
    contributions: tuple[MonthlyRun, ...] = ()
    deposits: tuple[MonthlyRun, ...] = ()

    @classmethod
    def of(cls, records: PersonRecords) -> CompactRecords:
        """From full canonical records: a run per month, whatever the months are."""
        medical, fund = records.medical_insurance, records.provident_fund
        contributions = tuple(
            MonthlyRun(m, m, (c.base, c.employer_amount, c.personal_amount))
            for c in (medical.contributions if medical is not None else [])
            for m in [month_index_of(c.month)]
        )
        deposits = tuple(
            MonthlyRun(m, m, (d.employer_amount, d.personal_amount))
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


@dataclass(frozen=True)
class MonthlyTable:
    """How a dialect's table of monthly rows is laid out: person or account key, month, amounts."""

    key_column: str
    month_column: str
    month_format: str
    """``strftime`` format of the local month, e.g. ``%Y%m``."""
    amount_columns: tuple[str, ...]

    def month_label(self, month: int) -> str:
        return date(month // 12, month % 12 + 1, 1).strftime(self.month_format)


@dataclass(frozen=True, slots=True)
class MonthlyRows:
    """One person's rows of a monthly table, as runs whose amounts are already in the local form."""

    table: MonthlyTable
    key: str
    runs: tuple[MonthlyRun, ...]

    def as_dicts(self) -> list[dict[str, Any]]:
        t = self.table
        return [
            {
                t.key_column: self.key,
                t.month_column: t.month_label(month),
                **dict(zip(t.amount_columns, amounts, strict=True)),
            }
            for first, last, amounts in self.runs
            for month in range(first, last + 1)
        ]


@dataclass(frozen=True, slots=True)
class LocalRows:
    """One person's local rows: per table, in insertion order (parents first); monthly tables as runs.

    Tables the person has no rows in are left out.
    """

    rows: dict[str, list[dict[str, Any]]]
    monthly: dict[str, MonthlyRows]

    def as_dicts(self) -> dict[str, list[dict[str, Any]]]:
        expanded = {**self.rows, **{name: monthly.as_dicts() for name, monthly in self.monthly.items()}}
        return {name: rows for name, rows in expanded.items() if rows}


# --- dialects ----------------------------------------------------------------------------------------------


class Dialect(Protocol):
    """One local data dialect."""

    name: str
    metadata: MetaData

    def local_rows(self, records: CompactRecords) -> LocalRows:
        """The rows ``records`` take in the dialect's tables, monthly tables as runs (used to seed a city)."""
        ...

    def to_local_rows(self, records: PersonRecords) -> dict[str, list[dict[str, Any]]]:
        """Rows to insert, keyed by table name, parents first; tables without rows are left out."""
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
