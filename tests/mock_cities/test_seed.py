"""Seeding a city's database: every resident it holds, once, in its own dialect."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from commons.db import make_engine
from mock_cities.dialects import get_dialect
from mock_cities.population import Population, build_population
from mock_cities.profiles import CityProfile, builtin_profiles
from mock_cities.seed import GC_THRESHOLD, AlreadySeeded, few_collections, seed_city


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(seed=2, residents_per_city=40, cities=builtin_profiles())


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'city.db'}")
    yield engine
    engine.dispose()


def _row_counts(engine: Engine, profile: CityProfile) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in get_dialect(profile.dialect).metadata.sorted_tables
        }


@pytest.mark.parametrize("profile", builtin_profiles(), ids=lambda p: p.slug)
def test_seeds_every_resident_the_city_holds(engine: Engine, profile: CityProfile, population: Population) -> None:
    batches: list[int] = []
    written = seed_city(engine=engine, profile=profile, population=population, batch_size=2, progress=batches.append)
    expected = sum(1 for _ in population.records_for(profile.code))
    assert written == expected == sum(batches)
    assert all(0 < size <= 2 for size in batches)
    counts = _row_counts(engine, profile)
    assert counts and all(count > 0 for count in counts.values()), counts


@pytest.mark.parametrize("profile", builtin_profiles(), ids=lambda p: p.slug)
def test_every_row_has_its_parent_and_the_connection_gets_its_settings_back(
    tmp_path: Path, profile: CityProfile, population: Population
) -> None:
    """Seeding does not check foreign keys row by row (mock_cities/seed.py): this is where they are checked."""
    engine = make_engine(f"sqlite:///{tmp_path / 'city.db'}")  # as the cities open it: foreign keys on

    def settings() -> list[int]:
        with engine.connect() as conn:
            return [conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in ("foreign_keys", "synchronous")]

    try:
        before = settings()
        assert before[0] == 1
        seed_city(engine=engine, profile=profile, population=population)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert settings() == before  # the seeding connection's own, back from the pool
        assert engine.pool.checkedin() == 1, "one connection did all of it"
    finally:
        engine.dispose()


def test_the_garbage_collector_runs_seldom_while_seeding_and_as_before_after(
    engine: Engine, population: Population
) -> None:
    before = gc.get_threshold(), gc.get_freeze_count()
    with few_collections():
        assert gc.get_threshold() == (GC_THRESHOLD, *before[0][1:])
        assert gc.get_freeze_count() > before[1], "what existed before is left out of the collector's passes"
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    seed_city(engine=engine, profile=builtin_profiles()[0], population=population)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_refuses_to_seed_twice_and_replaces_on_request(engine: Engine, population: Population) -> None:
    profile = builtin_profiles()[1]
    seed_city(engine=engine, profile=profile, population=population)
    before = _row_counts(engine, profile)
    with pytest.raises(AlreadySeeded):
        seed_city(engine=engine, profile=profile, population=population)
    assert _row_counts(engine, profile) == before
    written = seed_city(engine=engine, profile=profile, population=population, replace=True)
    assert written == sum(1 for _ in population.records_for(profile.code))
    assert _row_counts(engine, profile) == before


def test_an_empty_database_with_tables_is_not_seeded_yet(engine: Engine, population: Population) -> None:
    profile = builtin_profiles()[2]
    get_dialect(profile.dialect).metadata.create_all(engine)
    assert seed_city(engine=engine, profile=profile, population=population) > 0


def test_rejects_a_batch_size_below_one(engine: Engine, population: Population) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        seed_city(engine=engine, profile=builtin_profiles()[0], population=population, batch_size=0)
