"""Fixtures shared by the whole suite: a small seeded world, and the gateway over three in-process cities."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session

from commons.db import make_engine
from commons.jwks import StaticKeys
from commons.keys import SigningKey
from czt.seeding import DEMO_RESIDENTS_FILE, write_demo_residents
from gateway.app import create_app
from gateway.auth.service import seed_accounts
from gateway.db import metadata as gateway_metadata
from gateway.settings import CityEntry, GatewaySettings
from mock_cities.app import create_city_app
from mock_cities.personas import DEMO_RESIDENT_PASSWORD
from mock_cities.population import Population, build_population
from mock_cities.profiles import CityProfile, builtin_profiles
from mock_cities.seed import seed_city
from mock_cities.settings import CitySettings
from tests.databases import TestDatabases
from tests.gateway.faults import CityTransport

SEED = 5
RESIDENTS_PER_CITY = 6


@pytest.fixture(autouse=True)
def _let_finished_apps_go() -> Iterator[None]:
    """After each test, empty FastAPI's module-level caches of endpoint and dependency callables.

    FastAPI (0.16x) classifies every callable it meets through ``lru_cache``s of 4,096 entries that keep the
    callables alive, and with them the closures, routers and apps they belong to. A suite that builds a few apps
    per test would keep every one of them — three million objects by the end — and each full garbage
    collection then stalls the event loop for one to three seconds: long enough to blow the 2-second city
    deadlines of whichever in-process test it lands in. Emptying the caches lets finished apps go.
    """
    yield
    from fastapi.dependencies import models

    for name in dir(models):
        cached = getattr(models, name)
        if name.endswith("_cached") and hasattr(cached, "cache_clear"):
            cached.cache_clear()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    dbs = TestDatabases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def profiles() -> list[CityProfile]:
    return builtin_profiles()


@pytest.fixture(scope="session")
def population(profiles: list[CityProfile]) -> Population:
    return build_population(seed=SEED, residents_per_city=RESIDENTS_PER_CITY, cities=profiles)


def seeded_city_databases(
    databases: TestDatabases, profiles: list[CityProfile], population: Population, prefix: str = ""
) -> dict[str, str]:
    """City code → URL of a new database seeded with that city's slice of the population (names start ``prefix``)."""
    urls = {}
    for profile in profiles:
        url = databases.new_url(f"{prefix}{profile.slug}")
        engine = make_engine(url)
        seed_city(engine=engine, profile=profile, population=population)
        engine.dispose()
        urls[profile.code] = url
    return urls


def seeded_gateway_database(databases: TestDatabases, population: Population, name: str = "gateway") -> str:
    """URL of a new gateway database holding the population's accounts and the demo logins."""
    url = databases.new_url(name)
    engine = make_engine(url)
    gateway_metadata.create_all(engine)
    with Session(engine) as session:
        seed_accounts(session=session, residents=population.people(), resident_password=DEMO_RESIDENT_PASSWORD)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def city_database_urls(databases: TestDatabases, profiles: list[CityProfile], population: Population) -> dict[str, str]:
    """City code → URL of a database seeded with that city's slice of the population, shared by the whole suite."""
    return seeded_city_databases(databases, profiles, population)


@pytest.fixture(scope="session")
def gateway_database_url(databases: TestDatabases, population: Population) -> str:
    return seeded_gateway_database(databases, population)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()


TEST_HASH_KEY = b"czt-test-pseudonym-key-0123456789"
"""The gateway's pseudonym secret in tests: fixed, so tests can compute a subject's pseudonym."""


def city_url(code: str) -> str:
    return f"http://city-{code}.test"


@dataclass
class World:
    """A running in-process deployment: the gateway app, the city apps and a client for the gateway."""

    gateway: FastAPI
    cities: dict[str, FastAPI]
    client: httpx.AsyncClient
    transports: dict[str, httpx.AsyncBaseTransport]
    entries: list[CityEntry]
    gateway_database_url: str
    signing_key: SigningKey

    async def another_gateway(
        self,
        stack: AsyncExitStack,
        *,
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
        entries: list[CityEntry] | None = None,
        cities: dict[str, FastAPI] | None = None,
        policy: str = "default",
        shadow_policy: str | None = None,
        demo: bool = False,
    ) -> World:
        """A second gateway over the same running cities and database, with other transports, entries, cities
        or policies (or in demo mode)."""
        return await start_gateway(
            stack=stack,
            city_apps=cities or self.cities,
            entries=entries or self.entries,
            gateway_database_url=self.gateway_database_url,
            signing_key=self.signing_key,
            transports=transports,
            policy=policy,
            shadow_policy=shadow_policy,
            demo=demo,
        )


def city_app(
    profile: CityProfile, url: str, key: SigningKey, *, profile_ref: str | None = None, **settings: Any
) -> FastAPI:
    """A city app over ``url`` (seeded from SEED and RESIDENTS_PER_CITY); ``settings`` adds to its CitySettings."""
    city_settings = CitySettings(
        profile=profile_ref or profile.slug,
        database_url=url,
        seed=SEED,
        residents_per_city=RESIDENTS_PER_CITY,
        **settings,
    )
    return create_city_app(city_settings, key_source=StaticKeys(key.jwks()), signing_key=SigningKey.generate())


async def start_cities(stack: AsyncExitStack, city_apps: dict[str, FastAPI]) -> None:
    """Run the city apps' lifespans until ``stack`` closes."""
    for app in city_apps.values():
        await stack.enter_async_context(app.router.lifespan_context(app))


async def start_gateway(
    *,
    stack: AsyncExitStack,
    city_apps: dict[str, FastAPI],
    entries: list[CityEntry],
    gateway_database_url: str,
    signing_key: SigningKey,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    policy: str = "default",
    shadow_policy: str | None = None,
    demo: bool = False,
) -> World:
    """A gateway over already running city apps (``transports`` replace some), and a client for it."""
    city_transports: dict[str, httpx.AsyncBaseTransport] = {
        code: CityTransport(app=app) for code, app in city_apps.items()
    }
    city_transports.update(transports or {})
    demo_residents = None
    if demo:  # the picker's personas, as `czt run` writes them
        demo_residents = Path(stack.enter_context(tempfile.TemporaryDirectory())) / DEMO_RESIDENTS_FILE
        write_demo_residents(demo_residents)
    settings = GatewaySettings(
        database_url=gateway_database_url,
        cities=entries,
        policy=policy,
        shadow_policy=shadow_policy,
        demo=demo,
        demo_residents_file=demo_residents,
    )
    gateway = create_app(settings, city_transports=city_transports, signing_key=signing_key, hash_key=TEST_HASH_KEY)
    await stack.enter_async_context(gateway.router.lifespan_context(gateway))
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gateway.test")
    )
    return World(
        gateway=gateway,
        cities=city_apps,
        client=client,
        transports=city_transports,
        entries=entries,
        gateway_database_url=gateway_database_url,
        signing_key=signing_key,
    )


@pytest.fixture
def city_entries(profiles: list[CityProfile]) -> list[CityEntry]:
    return [CityEntry(code=p.code, name=p.name, name_en=p.name_en, url=city_url(p.code)) for p in profiles]


@pytest.fixture
async def world(
    profiles: list[CityProfile],
    city_database_urls: dict[str, str],
    gateway_database_url: str,
    signing_key: SigningKey,
    city_entries: list[CityEntry],
) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        apps = {p.code: city_app(p, city_database_urls[p.code], signing_key) for p in profiles}
        await start_cities(stack, apps)
        yield await start_gateway(
            stack=stack,
            city_apps=apps,
            entries=city_entries,
            gateway_database_url=gateway_database_url,
            signing_key=signing_key,
        )


async def login(client: httpx.AsyncClient, username: str, password: str = DEMO_RESIDENT_PASSWORD) -> str:
    response = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
