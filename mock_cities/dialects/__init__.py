"""Local dialects: how a city's own systems store and present records.

Each dialect is one module with its own SQLModel tables (in its own ``registry()``, so that two
cities' same-named tables never collide), and one object implementing :class:`Dialect`:

* ``to_local_rows`` — canonical → the rows its tables hold (used to seed a city);
* ``read_document`` — its tables → the local payload its own API returns (a "recorded payload");
* ``to_canonical`` — local payload → the canonical exchange models (the city's mapping).

Cities name their dialect in their profile; several cities may share one dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import MetaData
from sqlmodel import Session

from schemas.cities import CityRef
from schemas.records import PersonRecords

LocalDocument = dict[str, Any]
"""A payload exactly as the city's own system would return it (JSON-compatible)."""


class DialectError(ValueError):
    """A local payload does not follow its dialect; the mapping cannot produce canonical records."""


class Dialect(Protocol):
    """One local data dialect."""

    name: str
    metadata: MetaData

    def to_local_rows(self, records: PersonRecords) -> dict[str, list[dict[str, Any]]]:
        """Rows to insert, keyed by table name, in insertion order (parents first)."""
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
