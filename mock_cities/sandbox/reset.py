"""Reset: put a city's database back exactly as seeding left it, so a test suite can run again and again.

Everything the city stores is dropped and created afresh — its local-dialect tables, the exchange's city-side
tables (filings, claims, the transfer ledger) and its credential tables — and its slice of the population is
written again from the same seed. The population is built over the built-in cities (plus this city when its
profile is not one of them), as ``czt seed`` builds it, so the slice is the same one seeding wrote.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field
from sqlalchemy import Engine, func, select

from mock_cities.credentials.models import metadata as credential_tables
from mock_cities.dialects import get_dialect
from mock_cities.population import build_population
from mock_cities.profiles import CityProfile, builtin_profiles
from mock_cities.seed import seed_city
from services.tables import metadata as city_tables


class SeedReport(BaseModel):
    """What a reset wrote back."""

    persons: int = Field(description="Residents this city holds something on, seeded again")
    rows: dict[str, int] = Field(description="Rows per local-dialect table after seeding")
    seed: int
    residents_per_city: int
    elapsed_ms: float


def population_cities(profile: CityProfile) -> list[CityProfile]:
    """The cities the population is drawn over: the built-in three, and this city if it is another."""
    cities = builtin_profiles()
    if all(city.code != profile.code for city in cities):
        cities.append(profile)
    return cities


def restore_seeded_state(*, engine: Engine, profile: CityProfile, seed: int, residents_per_city: int) -> SeedReport:
    """Drop and re-create every table of this city and seed it again (blocking: run it in a thread)."""
    started = time.perf_counter()
    dialect = get_dialect(profile.dialect)
    for metadata in (credential_tables, city_tables, dialect.metadata):
        metadata.drop_all(engine)
    for metadata in (dialect.metadata, city_tables, credential_tables):
        metadata.create_all(engine)
    population = build_population(seed=seed, residents_per_city=residents_per_city, cities=population_cities(profile))
    persons = seed_city(engine=engine, profile=profile, population=population, replace=True)
    with engine.connect() as conn:
        rows = {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in dialect.metadata.sorted_tables
        }
    return SeedReport(
        persons=persons,
        rows=rows,
        seed=seed,
        residents_per_city=residents_per_city,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )
