"""Write one city's slice of the population into its database, in its own local dialect.

Persons go in batches, one transaction each, so that seeding a million residents neither holds them all in
memory nor leaves a half-written batch behind. A person is about a dozen rows: their histories are periods of
equal months (see :mod:`mock_cities.dialects`), so sixty months of contributions are five or six rows.

Generated residents come a block at a time as canonical columns (:class:`~mock_cities.columns.CityColumns`). On
SQLite the dialect turns a block's columns straight into the driver's parameter tuples (``sqlite_rows``), the
values SQLAlchemy Core would bind; other databases get each person's rows from the dialect
(:class:`~mock_cities.dialects.LocalRows`, from the block's canonical records) as Core bulk inserts
(:class:`_CoreRows`). The personas go through ``local_rows`` everywhere, on SQLite with the column types' own bind
processors applied (:class:`_SqliteRows`). The secondary indexes (the unique one on the ID number) are built once
the rows are in, as a bulk load builds them: at a million persons, that makes the inserts a quarter cheaper; on
SQLite, foreign keys are not checked row by row while the rows go in (a fifth of the insert; the tests check them).

From :data:`PARALLEL_FROM` residents, worker processes generate the blocks' rows while this process writes them.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import islice
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Connection, Date, Engine, MetaData, Table, insert, select
from sqlalchemy.engine import Dialect as SqlDialect

from mock_cities.columns import CityColumns
from mock_cities.dialects import Dialect, LocalRows, get_dialect
from mock_cities.generated import BLOCK
from mock_cities.population import Population, build_population
from mock_cities.profiles import CityProfile

DEFAULT_BATCH_SIZE = BLOCK
"""Most persons per transaction: a generated block goes in whole (cutting a block into smaller parts renumbers its
owners, a fifth of generating it); large enough that commits cost nothing, small enough to stay far below 300 MB."""

PARALLEL_FROM = 100_000
"""Generated residents (all cities) from which the rows are generated in a worker process: below it, starting it
(the first time, a fork server that imports the project: ~0.4 s) costs about what it saves (docs/performance.md)."""

CHUNK = BLOCK
"""Resident indexes one worker task covers: one block of the generator."""


GC_THRESHOLD = 100_000
"""Allocations between two passes of the cyclic garbage collector while seeding (Python's default: 700)."""


@contextmanager
def few_collections() -> Iterator[None]:
    """The cyclic garbage collector seldom, while rows are made and written: a block is ~45,000 tuples, made and
    freed without a reference cycle, and at Python's default of a pass every 700 allocations the collector took a
    fifth of generating them (docs/performance.md, *Seeding*). What exists before is frozen out of its passes; the
    thresholds come back after, and what was frozen joins the oldest generation again."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


MEMO_SIZE = 20_000
"""Bound dates remembered per column (see ``_SqliteTable._memoized``); beyond it, the memo starts over."""

_UNSEEN = object()


class AlreadySeeded(RuntimeError):
    """The city's database already holds records; seed with ``replace=True`` to start over."""


@dataclass(frozen=True, slots=True)
class Batch:
    """Some persons' rows, per table, ready for one :meth:`Rows.write`: what a worker hands over."""

    persons: int
    rows: dict[str, list[Any]]


class Rows(Protocol):
    """How local rows reach one kind of database: :meth:`prepare` (anywhere, even in a worker), :meth:`write`."""

    def prepare(self, rows: LocalRows) -> Batch: ...

    def write(self, conn: Connection, batch: Batch) -> None: ...


class _SqliteTable:
    """One table's insert statement, and its rows as the driver's parameter tuples, bind processors applied."""

    def __init__(self, table: Table, dialect: SqlDialect) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(table.columns.keys()))
        self.sql = compiled.string
        columns: list[str] = list(compiled.positiontup or ())
        self._values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
        processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
        self._processed = [
            (i, self._memoized(process) if isinstance(table.c[name].type, Date) else process)
            for i, (name, process) in enumerate(zip(columns, processors, strict=True))
            if process is not None
        ]

    def parameters(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Rows given as dicts of column values."""
        return self.bound(list(map(self._values, rows)))

    def bound(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Rows given as tuples in the columns' order."""
        if not self._processed or not rows:  # text and integers: bound as they are
            return rows
        columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
        for i, process in self._processed:
            columns[i] = map(process, columns[i])
        return list(zip(*columns, strict=True))

    @staticmethod
    def _memoized(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``process`` remembering what it made of each date: most are the first day of a month, and formatting one
        (SQLAlchemy's SQLite DATE, in Python) costs more than looking it up."""
        memo: dict[Any, Any] = {}

        def bind(value: Any) -> Any:
            bound = memo.get(value, _UNSEEN)
            if bound is _UNSEEN:
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                bound = memo[value] = process(value)
            return bound

        return bind


class _SqliteRows:
    """Local rows on SQLite: parameter tuples for the driver's ``executemany``."""

    def __init__(self, metadata: MetaData, dialect: SqlDialect) -> None:
        self._tables = {table.name: _SqliteTable(table, dialect) for table in metadata.sorted_tables}

    def prepare(self, rows: LocalRows) -> Batch:
        tables = self._tables
        parameters = {name: tables[name].parameters(table_rows) for name, table_rows in rows.rows.items()}
        parameters.update((name, tables[name].bound(table_rows)) for name, table_rows in rows.periods.items())
        return Batch(rows.persons, parameters)

    def write(self, conn: Connection, batch: Batch) -> None:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for name, table in self._tables.items():  # parents first, as the foreign keys require
                if batch.rows.get(name):
                    cursor.executemany(table.sql, batch.rows[name])
        finally:
            cursor.close()


class _CoreRows:
    """Local rows with SQLAlchemy Core bulk inserts: any database."""

    def __init__(self, metadata: MetaData) -> None:
        self.metadata = metadata

    def prepare(self, rows: LocalRows) -> Batch:
        return Batch(rows.persons, rows.as_dicts(self.metadata))

    def write(self, conn: Connection, batch: Batch) -> None:
        for table in self.metadata.sorted_tables:
            if batch.rows.get(table.name):
                conn.execute(insert(table), batch.rows[table.name])


def _rows_for(metadata: MetaData, sql_dialect: SqlDialect) -> Rows:
    return _SqliteRows(metadata, sql_dialect) if sql_dialect.name == "sqlite" else _CoreRows(metadata)


def _batches(local_rows: Iterable[LocalRows], size: int, rows: Rows) -> Generator[Batch, None, None]:
    local_rows = iter(local_rows)
    while persons := list(islice(local_rows, size)):
        yield rows.prepare(LocalRows.joined(persons))


def _block_batches(
    blocks: Iterable[CityColumns], dialect: Dialect, size: int, rows: Rows, sqlite: bool
) -> Generator[Batch, None, None]:
    """Generated persons' batches, a block at a time (in parts of at most ``size`` persons)."""
    for columns in blocks:
        for part in columns.split(size):
            if sqlite:
                yield Batch(part.persons, dialect.sqlite_rows(part))
            else:
                yield rows.prepare(LocalRows.joined(map(dialect.local_rows, part.records())))


def _batches_here(
    population: Population, code: str, dialect: Dialect, size: int, rows: Rows, sqlite: bool
) -> Generator[Batch, None, None]:
    yield from _batches(map(dialect.local_rows, population.persona_records_for(code)), size, rows)
    yield from _block_batches(population.city_columns(code), dialect, size, rows, sqlite)


# --- generating in worker processes ------------------------------------------------------------------------
#
# On a machine with a core to spare, a worker process generates the blocks' rows, a block per task, while this
# process writes: handing a block's rows over costs a few µs a person, generating them several times that. A
# worker hands back its block's batches ready to write (for SQLite, the driver's parameter lists). Tasks are
# submitted a few ahead of the writer, so memory stays bounded whatever the population's size.

_worker: tuple[Population, Dialect, Rows, bool] | None = None


def _start_worker(
    seed: int,
    residents_per_city: int,
    cities: list[CityProfile],
    as_of: date,
    dialect: str,
    sql_dialect: type[SqlDialect],
) -> None:
    global _worker
    population = build_population(seed=seed, residents_per_city=residents_per_city, cities=cities, as_of=as_of)
    local, sql = get_dialect(dialect), sql_dialect()
    _worker = (population, local, _rows_for(local.metadata, sql), sql.name == "sqlite")


def _generate(code: str, start: int, stop: int, size: int) -> list[Batch]:
    assert _worker is not None, "not a seeding worker"
    population, dialect, rows, sqlite = _worker
    with few_collections():
        return list(_block_batches(population.city_columns(code, range(start, stop)), dialect, size, rows, sqlite))


def _worker_context() -> BaseContext:
    """Where workers come from: a fork server, which imports this module (and the main one) once, then forks.

    Not a fork of this process, which may hold database connections and threads that a fork would copy; not
    spawned either, as each spawned worker imports the project again (most of a second) before its first
    resident. The fork server is started once per process, on the first seeding with workers.
    """
    if "forkserver" not in get_all_start_methods():
        return get_context("spawn")
    context = get_context("forkserver")
    # Children run the main module again (as __mp_main__): preloaded, its imports cost nothing then. Not under its
    # own name too (``bench.seeding``): runpy would then find it imported already and warn in every worker.
    context.set_forkserver_preload(["__main__", __name__])
    return context


def _batches_in_workers(
    population: Population, code: str, dialect: Dialect, size: int, rows: Rows, sql_dialect: SqlDialect, workers: int
) -> Generator[Batch, None, None]:
    yield from _batches(map(dialect.local_rows, population.persona_records_for(code)), size, rows)
    starts = iter(range(0, population.generated_count, CHUNK))
    initargs = (
        population.seed,
        population.residents_per_city,
        population.cities,
        population.as_of,
        dialect.name,
        type(sql_dialect),
    )
    with ProcessPoolExecutor(
        workers, mp_context=_worker_context(), initializer=_start_worker, initargs=initargs
    ) as pool:
        pending: deque[Future[list[Batch]]] = deque()

        def submit() -> None:
            start = next(starts, None)
            if start is not None:
                stop = min(start + CHUNK, population.generated_count)
                pending.append(pool.submit(_generate, code, start, stop, size))

        try:
            for _ in range(2 * workers):
                submit()
            while pending:
                batches = pending.popleft().result()
                submit()
                yield from batches
        finally:
            for future in pending:  # the writer stopped early: leave what has not started
                future.cancel()


def default_workers(population: Population) -> int:
    """Worker processes worth starting for ``population``: none when small or on a single core, else one (this
    process writes, and SQLite takes one writer)."""
    cores = os.cpu_count() or 1
    if population.generated_count < PARALLEL_FROM or cores < 2:
        return 0
    return 1


def _holds_rows(engine: Engine, metadata: MetaData) -> bool:
    with engine.connect() as conn:
        return any(
            conn.execute(select(1).select_from(table).limit(1)).first() is not None for table in metadata.sorted_tables
        )


def seed_city(
    *,
    engine: Engine,
    profile: CityProfile,
    population: Population,
    batch_size: int = DEFAULT_BATCH_SIZE,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> int:
    """Create the city's tables and write every resident it holds something on; return how many.

    Raises :class:`AlreadySeeded` when the database already holds records, unless ``replace`` is set,
    in which case the dialect's tables are dropped and created afresh. At most ``batch_size`` persons go in
    one transaction. ``workers`` processes generate the records (0: this process does; None:
    :func:`default_workers`); the rows are the same either way. Workers are spawned, so they import the main
    module again: a script that seeds a large population must keep its work under ``if __name__ == "__main__":``.
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

    if workers is None:
        workers = default_workers(population)
    rows = _rows_for(metadata, engine.dialect)
    sqlite = engine.dialect.name == "sqlite"
    if workers > 0:
        batches = _batches_in_workers(population, profile.code, dialect, batch_size, rows, engine.dialect, workers)
    else:
        batches = _batches_here(population, profile.code, dialect, batch_size, rows, sqlite)
    written = 0
    indexes = [index for table in metadata.sorted_tables for index in table.indexes]
    with closing(batches), engine.connect() as conn:
        with conn.begin():
            for index in indexes:  # built again once the rows are in
                index.drop(conn)
        # A fresh file has nothing to lose if the machine fails half way (seeding starts over), so it skips
        # syncing to disk until the end; the database's own setting comes back before the connection goes
        # back to the pool, and the last commit still leaves a whole WAL database.
        synchronous = _pragma(conn, "synchronous", 0) if sqlite and not replace else None
        # Fresh or replaced, the rows go in without SQLite checking each one's foreign keys (a lookup of its parent,
        # a fifth of the insert), as bulk loads do: the keys come from the dialects, and
        # tests/mock_cities/test_seed.py checks them with ``PRAGMA foreign_key_check`` on every seeded city. This
        # connection only, until the end.
        foreign_keys = _pragma(conn, "foreign_keys", 0) if sqlite else None
        try:
            with few_collections():
                for batch in batches:
                    with conn.begin():
                        rows.write(conn, batch)
                    written += batch.persons
                    if progress is not None:
                        progress(batch.persons)
            with conn.begin():
                for index in indexes:
                    index.create(conn)
        finally:
            if synchronous is not None:
                _pragma(conn, "synchronous", synchronous)
            if foreign_keys is not None:
                _pragma(conn, "foreign_keys", foreign_keys)
    return written


def _pragma(conn: Connection, name: str, value: int) -> int:
    """Set the SQLite connection setting ``name`` (outside any transaction, where it takes effect); return the
    value it had."""
    before = int(conn.exec_driver_sql(f"PRAGMA {name}").scalar_one())
    conn.exec_driver_sql(f"PRAGMA {name}={value}")
    conn.commit()
    return before
