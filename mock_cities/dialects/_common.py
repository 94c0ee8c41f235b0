"""Helpers shared by the dialects: reading a local payload field by field, and local formats."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, Table, bindparam, select

from mock_cities.dialects import DialectError
from schemas.idcard import InvalidIdNumber, validate_id_number
from schemas.money import fen_to_yuan, to_yuan
from schemas.records import PersonRecords

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_YUAN_TEXT = re.compile(r"^-?\d{1,12}(\.\d{1,2})?$")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


class Fields:
    """One JSON object of a local payload; every error names the offending field by its path.

    The root object has the empty path, so fields read from it are named plainly (``output.certno``).
    """

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise DialectError(f"{path}: expected an object, got {_kind(value)}")
        self._data: dict[str, Any] = value
        self.path = path

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str) -> object:
        try:
            return self._data[key]
        except KeyError:
            raise DialectError(f"{self.where(key)}: missing") from None

    def fail(self, key: str, problem: str) -> DialectError:
        return DialectError(f"{self.where(key)}: {problem}")

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def optional_text(self, key: str) -> str | None:
        """Absent and null both mean "none": local systems differ in which they send."""
        if self._data.get(key) is None:
            return None
        return self.text(key)

    def integer(self, key: str) -> int:
        value = self.raw(key)
        # bool is an int subclass; true/false is never a count.
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(key, f"expected a non-negative integer, got {value!r}")
        return value

    def digits(self, key: str) -> int:
        """A non-negative integer sent as a string of digits (legacy systems keep numbers in text)."""
        value = self.raw(key)
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise self.fail(key, f"expected a string of digits, got {value!r}")
        return int(value)

    def section(self, key: str) -> Fields:
        return Fields(self.raw(key), self.where(key))

    def optional_section(self, key: str) -> Fields | None:
        if self.raw(key) is None:
            return None
        return self.section(key)

    def entries(self, key: str) -> list[Fields]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_kind(value)}")
        where = self.where(key)
        return [Fields(item, f"{where}[{i}]") for i, item in enumerate(value)]

    def day(self, key: str, fmt: str) -> date:
        value = self.raw(key)
        parsed = _day(value, fmt) if isinstance(value, str) else None
        if parsed is None:
            raise _not_a_day(value, fmt, self.where(key))
        return parsed

    def month(self, key: str, fmt: str) -> str:
        """A local month (e.g. ``202401``, ``2024/01``) as the canonical ``YYYY-MM``."""
        return _month_text(self.day(key, fmt))

    def yuan(self, key: str) -> Decimal:
        value = self.raw(key)
        amount = _yuan(value) if isinstance(value, str) else None
        if amount is None:
            raise self.fail(key, f"expected an amount in yuan as a decimal string, got {value!r}")
        return amount

    def optional_yuan(self, key: str) -> Decimal:
        """An amount that older payloads leave out: absent or null is zero."""
        return Decimal("0.00") if self._absent(key) else self.yuan(key)

    def optional_fen(self, key: str) -> Decimal:
        """An amount in fen that older payloads leave out: absent or null is zero."""
        return Decimal("0.00") if self._absent(key) else self.fen(key)

    def _absent(self, key: str) -> bool:
        return self._data.get(key) is None

    def fen(self, key: str) -> Decimal:
        value = self.raw(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(key, f"expected an amount in fen as an integer, got {value!r}")
        return _fen(value)

    def coded(self, key: str, table: Mapping[str, T]) -> T:
        value = self.raw(key)
        if not isinstance(value, str) or value not in table:
            raise self.fail(key, f"unknown code {value!r}; expected one of {', '.join(table)}")
        return table[value]

    def id_number(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise self.fail(key, f"expected an ID number string, got {_kind(value)}")
        try:
            return validate_id_number(value)
        except InvalidIdNumber as exc:
            raise self.fail(key, str(exc)) from None


def parse_day(value: object, fmt: str, where: str) -> date:
    """A local date string; strict, so ``2024-1-5`` is refused where ``2024-01-05`` is expected."""
    parsed = _day(value, fmt) if isinstance(value, str) else None
    if parsed is None:
        raise _not_a_day(value, fmt, where)
    return parsed


def _not_a_day(value: object, fmt: str, where: str) -> DialectError:
    example = date(2024, 1, 31).strftime(fmt)
    return DialectError(f"{where}: expected a date like {example!r}, got {value!r}")


# Every resident's payload repeats the same months, days and amounts, and strptime and Decimal arithmetic
# dominate a mapping's cost: each distinct string is parsed once. The values are immutable, so sharing them
# is safe; the caches are bounded, and only hold strings read from the city's own tables.


@lru_cache(maxsize=8192)
def _day(value: str, fmt: str) -> date | None:
    try:
        parsed = datetime.strptime(value, fmt).date()
    except ValueError:
        return None
    return parsed if parsed.strftime(fmt) == value else None


@lru_cache(maxsize=4096)
def _month_text(day: date) -> str:
    return f"{day:%Y-%m}"


@lru_cache(maxsize=16384)
def _yuan(value: str) -> Decimal | None:
    return to_yuan(Decimal(value)) if _YUAN_TEXT.match(value) else None


@lru_cache(maxsize=16384)
def _fen(value: int) -> Decimal:
    return fen_to_yuan(value)


@lru_cache(maxsize=8192)
def local_day(day: date, fmt: str) -> str:
    """A date in a local format (``day.strftime(fmt)``), made once: enrolments and accounts open on the first of a
    month, so residents share a few hundred dates."""
    return day.strftime(fmt)


def local_month(month: str, fmt: str) -> str:
    """The canonical ``YYYY-MM`` in a local month format."""
    return date(int(month[:4]), int(month[5:7]), 1).strftime(fmt)


def yuan_text(value: Decimal) -> str:
    """Yuan as a two-decimal string, e.g. ``"3821.50"``."""
    return f"{to_yuan(value):.2f}"


@lru_cache(maxsize=16384)
def stored_yuan_text(value: Decimal) -> str:
    """:func:`yuan_text` of an amount read from a table, cached: the same amounts recur across residents."""
    return yuan_text(value)


def invert(table: Mapping[str, T]) -> dict[T, str]:
    """Canonical value → local code, from a local code table."""
    return {canonical: code for code, canonical in table.items()}


def build(model: type[M], where: str, /, **values: Any) -> M:
    """A canonical model, with any rule the local fields could not check reported as a DialectError."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise DialectError(f"{where}: {field}: {first['msg']}") from None


class Assemble(Protocol):
    """Turns the checked values of one canonical part into that part: :func:`build` or :func:`as_values`."""

    def __call__(self, model: type[BaseModel], where: str, /, **values: Any) -> Any: ...


def as_values(model: type[BaseModel], where: str, /, **values: Any) -> dict[str, Any]:
    """The part's values as they are, for :func:`mapped` to validate with everything else at once."""
    return values


def mapped(mapping: Callable[[Assemble], Any]) -> PersonRecords:
    """Run a dialect's ``mapping`` of one payload to canonical records.

    ``mapping`` checks the local fields and hands each canonical part to the ``Assemble`` it is given. First it
    runs with :func:`as_values`, and the whole document is validated in one ``PersonRecords.model_validate`` (one
    call into pydantic-core instead of one per contribution or deposit). When anything is wrong, it runs again
    with :func:`build`, part by part in document order, so the DialectError names the first offending field
    exactly as if the records had been built one model at a time. Both runs check the same rules.
    """
    try:
        return PersonRecords.model_validate(mapping(as_values))
    except (DialectError, ValidationError):
        pass
    records: PersonRecords = mapping(build)
    return records


def local_person_no(records: PersonRecords) -> str:
    """The city's person number: its 医保 person number, else one derived from the ID number.

    Canonical records carry the local person number only on the enrolment; a resident the city
    never enrolled still needs a person row, and deriving the number keeps it unique.
    """
    if records.medical_insurance is not None:
        return records.medical_insurance.enrolment.local_person_no
    return f"N{records.person.id_number}"


def rows_of(table: Table, *columns: str, key: str, param: str | None = None, order: str) -> Select[Any]:
    """``columns`` of ``table``'s rows whose ``key`` equals the bound parameter ``param`` (default: named as the
    key), in ``order``: the read side's one query per record table, on its primary key."""
    return (
        select(*(table.c[name] for name in columns))
        .where(table.c[key] == bindparam(param or key))
        .order_by(table.c[order])
    )
