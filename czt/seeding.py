"""Seeding: every city's database and the gateway's accounts, from one deterministic population."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from commons.db import make_engine
from czt.settings import SeedSettings
from gateway.auth.models import ResidentAccount
from gateway.auth.service import seed_accounts
from gateway.db import metadata as gateway_metadata
from mock_cities.personas import DEMO_RESIDENT_PASSWORD, PERSONAS
from mock_cities.population import Population, build_population
from mock_cities.profiles import CityProfile, load_profile
from mock_cities.seed import AlreadySeeded, seed_city

Progress = Callable[[str, int], None]
"""Called with (what, how many persons were just written)."""


@dataclass(frozen=True)
class SeedTarget:
    """One database to seed: a city (with its profile) or the gateway (profile None)."""

    name: str
    database_url: str
    profile: CityProfile | None


def population_from(settings: SeedSettings) -> Population:
    profiles = [load_profile(ref) for ref in settings.profiles]
    return build_population(seed=settings.seed, residents_per_city=settings.residents_per_city, cities=profiles)


def local_targets(data_dir: Path, profiles: list[CityProfile]) -> list[SeedTarget]:
    """The SQLite files of a local deployment under ``data_dir``."""
    targets = [SeedTarget(p.slug, f"sqlite:///{data_dir / p.slug}.db", p) for p in profiles]
    targets.append(SeedTarget("gateway", f"sqlite:///{data_dir / 'gateway'}.db", None))
    return targets


def is_seeded(data_dir: Path, profiles: list[CityProfile]) -> bool:
    return all(Path(t.database_url.removeprefix("sqlite:///")).exists() for t in local_targets(data_dir, profiles))


def seed_target(
    target: SeedTarget, *, population: Population, replace: bool, progress: Progress | None = None
) -> int | None:
    """Seed one database; None when it already held data and ``replace`` was not asked for."""
    engine = make_engine(target.database_url)
    try:
        if target.profile is not None:
            report = (lambda n: progress(target.name, n)) if progress else None
            try:
                return seed_city(
                    engine=engine, profile=target.profile, population=population, progress=report, replace=replace
                )
            except AlreadySeeded:
                return None
        gateway_metadata.create_all(engine)
        with Session(engine) as session:
            if not replace and session.execute(select(func.count()).select_from(ResidentAccount)).scalar_one():
                return None
            count = seed_accounts(
                session=session, residents=population.people(), resident_password=DEMO_RESIDENT_PASSWORD
            )
        if progress:
            progress(target.name, count)
        return count
    finally:
        engine.dispose()


POPULATION_FILE = "population.json"
"""Written by every seeding: the seed and size the data folder's databases were made from, so that a later
``czt run`` (and a sandbox reset, which seeds again) uses the same population whatever its own options say."""

TABLE_LAYOUT = 3
"""What seeding writes, recorded with the population: 3 is the block generator's residents (mock_cities/generated.py)
in tables that keep contribution and deposit histories as periods of equal months; 2 had the same tables with the
person-by-person generator's residents, 1 (unrecorded) a row per month. A folder seeded with another layout holds
tables the cities no longer read, or residents the population no longer draws, so its population counts as not
recorded."""


def record_population(data_dir: Path, settings: SeedSettings) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    recorded = {"seed": settings.seed, "residents_per_city": settings.residents_per_city, "layout": TABLE_LAYOUT}
    (data_dir / POPULATION_FILE).write_text(json.dumps(recorded) + "\n", encoding="utf-8")


def recorded_population(data_dir: Path) -> tuple[int, int] | None:
    """``(seed, residents_per_city)`` the data folder was seeded with; None when no seeding recorded it, or when
    it was seeded with another :data:`TABLE_LAYOUT`."""
    try:
        recorded = json.loads((data_dir / POPULATION_FILE).read_text(encoding="utf-8"))
        if recorded.get("layout") != TABLE_LAYOUT:
            return None
        return int(recorded["seed"]), int(recorded["residents_per_city"])
    except (FileNotFoundError, KeyError, TypeError, ValueError, AttributeError):
        return None


DEMO_RESIDENTS_FILE = "demo-residents.json"
"""Who the portal's persona picker offers (the gateway reads it in demo mode; it knows no mock city's personas)."""


def write_demo_residents(path: Path) -> None:
    """The personas, with their stories and the published demo password, for the portal's picker."""
    residents = [
        {
            "key": p.key,
            "id_number": p.id_number,
            "name": p.name,
            "gender": p.gender.value,
            "story_zh": p.story_zh,
            "story_en": p.story_en,
            "password": DEMO_RESIDENT_PASSWORD,
        }
        for p in PERSONAS
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(residents, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
