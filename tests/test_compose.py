"""docker-compose.yml, the Dockerfile and deploy/ agree with the code (no Docker engine needed).

A renamed setting, a moved port or a forgotten package would otherwise only show up when someone
runs ``docker compose up`` — as a service that silently runs on defaults or never turns healthy.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import TypeAdapter
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

from commons.keys import SigningKey
from czt.settings import SeedSettings
from gateway.app import create_app
from gateway.settings import CityEntry, GatewaySettings
from mock_cities.profiles import BUILTIN_PROFILES, load_profile
from mock_cities.router import health_router
from mock_cities.settings import CitySettings

ROOT = Path(__file__).resolve().parent.parent
CITY_SERVICES = {"changsha", "zhuzhou", "xiangtan"}
SETTINGS_BY_PREFIX: dict[str, type[BaseSettings]] = {
    "CZT_CITY_": CitySettings,
    "CZT_GATEWAY_": GatewaySettings,
    "CZT_SEED_": SeedSettings,
}
Service = dict[str, Any]


@pytest.fixture(scope="module")
def services() -> dict[str, Service]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    found: dict[str, Service] = compose["services"]
    return found


def environment(service: Service) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "KEY=value" list form
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def command(service: Service) -> list[str]:
    cmd = service["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def serve_port(service: Service) -> int:
    args = command(service)
    assert "--port" in args, f"{args} does not name a --port"
    return int(args[args.index("--port") + 1])


def healthcheck_url(service: Service) -> str:
    test = service["healthcheck"]["test"]
    text = test if isinstance(test, str) else " ".join(test)
    match = re.search(r"https?://[^'\"\s]+", text)
    assert match, f"no URL in healthcheck {text!r}"
    return match.group(0)


def registry(services: dict[str, Service]) -> list[CityEntry]:
    raw = environment(services["gateway"])["CZT_GATEWAY_CITIES"]
    return TypeAdapter(list[CityEntry]).validate_json(raw)


def city_services(services: dict[str, Service]) -> dict[str, Service]:
    return {name: s for name, s in services.items() if s.get("command") and command(s)[:3] == ["czt", "serve", "city"]}


def test_every_service_exists(services: dict[str, Service]) -> None:
    assert {"gateway", "postgres", *CITY_SERVICES} <= set(services)
    assert set(city_services(services)) == CITY_SERVICES
    assert command(services["gateway"])[:3] == ["czt", "serve", "gateway"]


@pytest.mark.parametrize("name", ["gateway", *sorted(CITY_SERVICES)])
def test_env_keys_are_settings_fields(services: dict[str, Service], name: str) -> None:
    env = environment(services[name])
    czt_keys = [key for key in env if key.startswith("CZT_")]
    assert czt_keys, f"{name} sets no CZT_ variables"
    for key in czt_keys:
        prefix = next((p for p in SETTINGS_BY_PREFIX if key.startswith(p)), None)
        assert prefix is not None, f"{name}: {key} has no known prefix {sorted(SETTINGS_BY_PREFIX)}"
        settings_class = SETTINGS_BY_PREFIX[prefix]
        field = key.removeprefix(prefix).lower()
        assert field in settings_class.model_fields, f"{name}: {key} is not a field of {settings_class.__name__}"


@pytest.mark.parametrize("name", ["gateway", *sorted(CITY_SERVICES)])
def test_env_values_parse_into_the_settings(
    services: dict[str, Service], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Names alone are not enough: a malformed value would crash the service at start-up.
    env = environment(services[name])
    for prefix, settings_class in SETTINGS_BY_PREFIX.items():
        ours = {key: value for key, value in env.items() if key.startswith(prefix)}
        if not ours:
            continue
        with monkeypatch.context() as patch:
            for key in list(os.environ):
                if key.startswith(prefix):
                    patch.delenv(key)
            for key, value in ours.items():
                patch.setenv(key, value)
            settings = settings_class()
        assert {key.removeprefix(prefix).lower() for key in ours} <= settings.model_fields_set


def test_dockerfile_env_keys_are_settings_fields() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    keys = [
        pair.split("=", 1)[0]
        for line in dockerfile.splitlines()
        if line.startswith("ENV ")
        for pair in shlex.split(line.removeprefix("ENV "))
    ]
    for key in (k for k in keys if k.startswith("CZT_")):
        prefix = next(p for p in SETTINGS_BY_PREFIX if key.startswith(p))
        assert key.removeprefix(prefix).lower() in SETTINGS_BY_PREFIX[prefix].model_fields, key


@pytest.mark.parametrize("name", sorted(CITY_SERVICES))
def test_city_profile_is_builtin_and_matches_the_gateway_registry(services: dict[str, Service], name: str) -> None:
    profile_name = environment(services[name])["CZT_CITY_PROFILE"]
    assert profile_name in BUILTIN_PROFILES
    profile = load_profile(profile_name)
    entries = [entry for entry in registry(services) if urlsplit(entry.url).hostname == name]
    assert len(entries) == 1, f"the gateway registry must point at {name} exactly once"
    assert entries[0].code == profile.code
    assert entries[0].name == profile.name


def test_gateway_registry_covers_every_city_once(services: dict[str, Service]) -> None:
    entries = registry(services)
    assert sorted(urlsplit(entry.url).hostname or "" for entry in entries) == sorted(CITY_SERVICES)
    assert len({entry.code for entry in entries}) == len(entries)


@pytest.mark.parametrize("name", sorted(CITY_SERVICES))
def test_registry_url_port_is_the_port_the_city_serves_and_is_checked_on(
    services: dict[str, Service], name: str
) -> None:
    (entry,) = (e for e in registry(services) if urlsplit(e.url).hostname == name)
    service = services[name]
    port = serve_port(service)
    assert urlsplit(entry.url).port == port
    health = urlsplit(healthcheck_url(service))
    assert health.port == port
    assert health.path in {route.path for route in health_router.routes}  # type: ignore[attr-defined]


def gateway_paths() -> set[str]:
    app = create_app(GatewaySettings(), signing_key=SigningKey.generate(), hash_key=b"compose-test")
    return set(app.openapi()["paths"])


def test_gateway_healthcheck_uses_its_port_and_a_real_route(services: dict[str, Service]) -> None:
    gateway = services["gateway"]
    health = urlsplit(healthcheck_url(gateway))
    assert health.port == serve_port(gateway)
    assert health.path in gateway_paths()


@pytest.mark.parametrize("name", sorted(CITY_SERVICES))
def test_city_fetches_keys_from_the_gateway(services: dict[str, Service], name: str) -> None:
    jwks = urlsplit(environment(services[name])["CZT_CITY_GATEWAY_JWKS_URL"])
    assert jwks.hostname == "gateway"
    assert jwks.port == serve_port(services["gateway"])
    assert jwks.path in gateway_paths()


def test_every_database_url_names_a_database_postgres_creates(services: dict[str, Service]) -> None:
    init_sql = (ROOT / "deploy" / "postgres-init.sql").read_text(encoding="utf-8")
    created = set(re.findall(r"^\s*CREATE DATABASE\s+\"?(\w+)\"?\s*;", init_sql, re.MULTILINE | re.IGNORECASE))
    postgres_env = environment(services["postgres"])
    urls = {
        f"{name}:{key}": value
        for name, service in services.items()
        for key, value in environment(service).items()
        if key.endswith("_DATABASE_URL")
    }
    assert len(urls) == 1 + len(CITY_SERVICES)
    for where, value in urls.items():
        url = make_url(value)
        assert url.host == "postgres", where
        assert url.database in created, f"{where}: database {url.database!r} is not created by postgres-init.sql"
        assert url.username == postgres_env["POSTGRES_USER"], where
        assert url.password == postgres_env["POSTGRES_PASSWORD"], where
    # Each service owns its database (DESIGN §8): no two share one.
    assert len({make_url(value).database for value in urls.values()}) == len(urls)


def test_init_script_is_mounted_into_postgres(services: dict[str, Service]) -> None:
    volumes = [str(v) for v in services["postgres"].get("volumes", [])]
    assert any(
        v.split(":")[0] == "./deploy/postgres-init.sql" and v.split(":")[1].startswith("/docker-entrypoint-initdb.d/")
        for v in volumes
    )


def test_services_wait_for_a_healthy_postgres_and_have_healthchecks(services: dict[str, Service]) -> None:
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        if name == "postgres":
            continue
        depends_on = service.get("depends_on")
        assert isinstance(depends_on, dict), f"{name} must depend on postgres with a condition"
        assert depends_on.get("postgres", {}).get("condition") == "service_healthy", name


def dockerfile_copy_sources() -> set[str]:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied: set[str] = set()
    for line in dockerfile.splitlines():
        parts = shlex.split(line)
        if parts and parts[0].upper() == "COPY":
            copied.update(p.rstrip("/") for p in parts[1:-1] if not p.startswith("--"))
    return copied


def test_dockerfile_copies_only_files_that_exist() -> None:
    # A missing COPY source fails `docker build` before anything runs.
    missing = sorted(source for source in dockerfile_copy_sources() if not (ROOT / source).exists())
    assert not missing, f"the Dockerfile COPYs {missing}, which the repository does not have"


def test_dockerfile_copies_every_package(services: dict[str, Service]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {pattern.rstrip("*.") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages
    copied = dockerfile_copy_sources()
    assert packages <= copied, f"the Dockerfile does not COPY {sorted(packages - copied)}"
    for package in packages:
        assert (ROOT / package / "__init__.py").is_file(), package
    assert all(services[name].get("build") for name in ("gateway", *CITY_SERVICES))
