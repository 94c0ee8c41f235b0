"""Reading one person's records out of a city's local database, in canonical form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from mock_cities.dialects import Dialect, LocalDocument
from mock_cities.profiles import CityProfile
from schemas.records import PersonRecords
from services.tables import PersonLock


class PersonNotFound(Exception):
    """This city holds no record on that person."""


def local_document(*, session: Session, dialect: Dialect, id_number: str) -> LocalDocument:
    """The person's records exactly as the city's own system presents them."""
    document = dialect.read_document(session, id_number=id_number)
    if document is None:
        raise PersonNotFound("no records for this ID number in this city")
    return document


def person_records(*, session: Session, dialect: Dialect, profile: CityProfile, id_number: str) -> PersonRecords:
    """The person's records mapped from the local dialect to the exchange standard."""
    document = local_document(session=session, dialect=dialect, id_number=id_number)
    return dialect.to_canonical(document, city=profile.ref)


def lock_person(*, session: Session, id_number: str) -> None:
    """Serialise writers on one person: a row lock on PostgreSQL, the database write lock on SQLite.

    Called first in a write transaction, so the reads that follow see every earlier writer's commit.
    """
    backend = session.get_bind().dialect.name
    table = PersonLock.__table__  # type: ignore[attr-defined]
    upsert = postgresql.insert(table) if backend == "postgresql" else sqlite.insert(table)
    session.execute(upsert.values(id_number=id_number).on_conflict_do_nothing())
    session.execute(select(table).where(table.c.id_number == id_number).with_for_update())


def update_person_records(
    *,
    session: Session,
    dialect: Dialect,
    profile: CityProfile,
    id_number: str,
    change: Callable[[PersonRecords], PersonRecords],
) -> PersonRecords:
    """Apply ``change`` to the person's canonical records and store the result back in the local dialect.

    The local rows are derived entirely from canonical records (the dialects round-trip), so replacing a
    person's rows with those of the changed records loses nothing; one code path serves every dialect.
    The caller commits.
    """
    lock_person(session=session, id_number=id_number)
    before = person_records(session=session, dialect=dialect, profile=profile, id_number=id_number)
    after = change(before)
    _replace_rows(session, dialect, dialect.to_local_rows(before), dialect.to_local_rows(after))
    return after


def _replace_rows(
    session: Session, dialect: Dialect, old: dict[str, list[dict[str, Any]]], new: dict[str, list[dict[str, Any]]]
) -> None:
    tables = dialect.metadata.sorted_tables
    for table in reversed(tables):  # children first
        rows = old.get(table.name, [])
        if rows:
            keys = list(table.primary_key.columns)
            match = or_(*(and_(*(column == row[column.name] for column in keys)) for row in rows))
            session.execute(delete(table).where(match))
    for table in tables:  # parents first
        if new.get(table.name):
            session.execute(insert(table), new[table.name])
