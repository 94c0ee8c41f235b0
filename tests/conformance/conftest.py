"""Cities for the kit to check, on databases of their own: the kit writes (a transfer step, a claim)."""

from __future__ import annotations

import uuid

import pytest

from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from tests.conftest import seeded_city_databases
from tests.databases import TestDatabases


@pytest.fixture(scope="module")
def kit_city_urls(databases: TestDatabases, profiles: list[CityProfile], population: Population) -> dict[str, str]:
    """City code → a database seeded for this module alone (one set per module that asks)."""
    return seeded_city_databases(databases, profiles, population, prefix=f"kit-{uuid.uuid4().hex[:8]}-")
