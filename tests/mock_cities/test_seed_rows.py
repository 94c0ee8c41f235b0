"""Seeding writes exactly the rows of the canonical records, however it gets there.

The seeder takes shortcuts (monthly histories as runs of equal months, the SQLite driver's ``executemany``,
records generated in worker processes); the reference here is the plain way: every canonical record turned
into local rows with ``to_local_rows`` and written with SQLAlchemy Core. Both files must dump the same.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.pool import StaticPool

from commons.db import make_engine
from mock_cities import seed
from mock_cities.dialects import CompactRecords, get_dialect
from mock_cities.population import (
    STORED_MONTHS,
    Population,
    Stint,
    build_population,
    fund_record,
    medical_record,
    month_text,
)
from mock_cities.profiles import CityProfile, builtin_profiles
from mock_cities.seed import seed_city
from schemas.medical_insurance import EnrolmentStatus
from schemas.provident_fund import FundAccountStatus


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(seed=11, residents_per_city=12, cities=builtin_profiles())


def _dump(path: Path) -> list[str]:
    """Every statement that rebuilds the file, sorted: same rows, same values, same stored types."""
    with sqlite3.connect(path) as conn:
        return sorted(conn.iterdump())


def _seed_the_plain_way(path: Path, profile: CityProfile, population: Population) -> None:
    dialect = get_dialect(profile.dialect)
    engine = create_engine(f"sqlite:///{path}")
    dialect.metadata.create_all(engine)
    with engine.begin() as conn:
        for records in population.records_for(profile.code):
            rows = dialect.to_local_rows(records)
            for table in dialect.metadata.sorted_tables:
                if rows.get(table.name):
                    conn.execute(insert(table), rows[table.name])
    engine.dispose()


def _seed(path: Path, profile: CityProfile, population: Population, **options: int) -> int:
    engine = make_engine(f"sqlite:///{path}")
    try:
        return seed_city(engine=engine, profile=profile, population=population, **options)
    finally:
        engine.dispose()


@pytest.mark.parametrize("profile", builtin_profiles(), ids=lambda p: p.slug)
def test_seeding_writes_the_rows_of_the_canonical_records(
    tmp_path: Path, profile: CityProfile, population: Population
) -> None:
    _seed_the_plain_way(tmp_path / "plain.db", profile, population)
    written = _seed(tmp_path / "seeded.db", profile, population, batch_size=5, workers=0)

    assert written == sum(1 for _ in population.records_for(profile.code))
    seeded = _dump(tmp_path / "seeded.db")
    assert sum(line.startswith("INSERT") for line in seeded) > 3 * written  # the histories' periods are there
    assert seeded == _dump(tmp_path / "plain.db")


def test_records_generated_in_worker_processes_are_the_same(
    tmp_path: Path, population: Population, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = builtin_profiles()[1]
    monkeypatch.setattr(seed, "CHUNK", 5)  # several tasks per worker, handed back in order
    here = _seed(tmp_path / "here.db", profile, population, workers=0)
    in_workers = _seed(tmp_path / "workers.db", profile, population, workers=2)

    assert in_workers == here
    assert _dump(tmp_path / "workers.db") == _dump(tmp_path / "here.db")


def test_a_fresh_file_ends_as_a_normal_wal_database(tmp_path: Path, population: Population) -> None:
    # One connection for everything, so the one the seeder used is the one checked afterwards.
    engine = create_engine(f"sqlite:///{tmp_path / 'city.db'}", poolclass=StaticPool)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        before = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()

    seed_city(engine=engine, profile=builtin_profiles()[0], population=population)

    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == before
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    engine.dispose()


def test_compact_records_are_the_canonical_records(population: Population) -> None:
    for profile in builtin_profiles():
        full = list(population.records_for(profile.code))
        compact = list(population.compact_records_for(profile.code))
        assert [c.expanded() for c in compact] == full
        assert [CompactRecords.of(r).expanded() for r in full] == full


@pytest.mark.parametrize("months_lived", [1, 11, 12, 13, 59, 60, 61, 130])
def test_the_stored_history_is_the_last_sixty_months_whatever_the_calendar(months_lived: int) -> None:
    city = builtin_profiles()[0]
    for last in range(2024 * 12, 2025 * 12):  # every month of the year as the last one: runs split at each year
        start = last - months_lived + 1
        stint = Stint(city=city, start=start, end=last, employer="E", work_end=last, wage=Decimal(9000))
        medical = medical_record(stint, serial=1, status=EnrolmentStatus.ACTIVE, spent_share=0.5)
        fund = fund_record(stint, serial=1, status=FundAccountStatus.NORMAL, withdrawn_share=0.0)
        assert fund is not None
        stored = list(range(max(stint.start, last - STORED_MONTHS + 1), last + 1))
        assert [c.month for c in medical.contributions] == [month_text(m) for m in stored]
        assert [d.month for d in fund.deposits] == [month_text(m) for m in stored]
        assert medical.enrolment.contribution_months == fund.account.deposit_months == months_lived
