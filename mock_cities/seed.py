"""Write one city's slice of the population into its database, in its own local dialect.

Rows go in with SQLAlchemy Core bulk inserts, one transaction per batch of persons, so that seeding
100,000 residents neither holds them all in memory nor leaves a half-written batch behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import Engine, MetaData, insert, select

from mock_cities.dialects import Dialect, get_dialect
from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from schemas.records import PersonRecords


class AlreadySeeded(RuntimeError):
    """The city's database already holds records; seed with ``replace=True`` to start over."""


def _batches(records: Iterator[PersonRecords], size: int) -> Iterator[list[PersonRecords]]:
    while batch := list(islice(records, size)):
        yield batch


def _holds_rows(engine: Engine, metadata: MetaData) -> bool:
    with engine.connect() as conn:
        return any(
            conn.execute(select(1).select_from(table).limit(1)).first() is not None for table in metadata.sorted_tables
        )


def _rows_by_table(dialect: Dialect, batch: list[PersonRecords]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for records in batch:
        for table_name, table_rows in dialect.to_local_rows(records).items():
            rows.setdefault(table_name, []).extend(table_rows)
    return rows


def seed_city(
    *,
    engine: Engine,
    profile: CityProfile,
    population: Population,
    batch_size: int = 200,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create the city's tables and write every resident it holds something on; return how many.

    Raises :class:`AlreadySeeded` when the database already holds records, unless ``replace`` is set,
    in which case the dialect's tables are dropped and created afresh.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    dialect = get_dialect(profile.dialect)
    metadata = dialect.metadata
    if replace:
        metadata.drop_all(engine)
    metadata.create_all(engine)
    if not replace and _holds_rows(engine, metadata):
        raise AlreadySeeded(f"{profile.name} ({profile.code}) database already holds records")

    written = 0
    for batch in _batches(population.records_for(profile.code), batch_size):
        rows = _rows_by_table(dialect, batch)
        with engine.begin() as conn:
            # Metadata order puts parents before children, whatever order the dialect listed them in.
            for table in metadata.sorted_tables:
                if rows.get(table.name):
                    conn.execute(insert(table), rows[table.name])
        written += len(batch)
        if progress is not None:
            progress(len(batch))
    return written
