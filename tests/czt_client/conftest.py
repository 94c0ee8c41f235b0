"""Fixtures for the client's tests: service tokens as the gateway mints them, and cities on their own databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from fastapi import FastAPI

from commons.keys import SigningKey
from gateway.exchange.tokens import ServiceTokenMinter
from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from schemas.purposes import Purpose
from schemas.service_token import GATEWAY_ISSUER
from tests.conftest import city_app, seeded_city_databases, start_cities
from tests.databases import TestDatabases


def service_token(key: SigningKey, city_code: str, subject: str, purpose: str = Purpose.SELF_SERVICE) -> str:
    """A token exactly as the gateway mints one for a city call."""
    minter = ServiceTokenMinter(key, issuer=GATEWAY_ISSUER, ttl_s=60)
    return minter.mint(city_code=city_code, subject=subject, client_id="czt-portal", purpose=purpose, decision_id="d1")


@pytest.fixture(scope="module")
def own_city_urls(databases: TestDatabases, profiles: list[CityProfile], population: Population) -> dict[str, str]:
    """City code → a freshly seeded database of this module's own: writes here touch no other test's data."""
    return seeded_city_databases(databases, profiles, population, prefix=f"client-{uuid.uuid4().hex[:8]}-")


@pytest.fixture
async def own_cities(
    profiles: list[CityProfile], own_city_urls: dict[str, str], signing_key: SigningKey
) -> AsyncIterator[dict[str, FastAPI]]:
    """The three city apps on this module's own databases, trusting the test gateway's key, running."""
    apps = {p.code: city_app(p, own_city_urls[p.code], signing_key) for p in profiles}
    async with AsyncExitStack() as stack:
        await start_cities(stack, apps)
        yield apps
