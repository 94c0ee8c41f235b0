"""Settings of the ``czt`` command (env prefix ``CZT_RUN_`` and ``CZT_SEED_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mock_cities.profiles import BUILTIN_PROFILES


class SeedSettings(BaseSettings):
    """What population every service seeds from; the same values give the same residents everywhere."""

    model_config = SettingsConfigDict(env_prefix="CZT_SEED_", extra="ignore")

    seed: int = 2026
    residents_per_city: int = Field(default=1000, ge=0)
    profiles: list[str] = Field(default_factory=lambda: list(BUILTIN_PROFILES))
    """City profiles (built-in names or TOML paths) the population lives in."""


class RunSettings(BaseSettings):
    """Where ``czt run`` puts the local deployment: one host, four ports, one data folder."""

    model_config = SettingsConfigDict(env_prefix="CZT_RUN_", extra="ignore")

    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    gateway_port: int = Field(default=8000, gt=0, lt=65536)
    first_city_port: int = Field(default=8001, gt=0, lt=65536)
    """Cities listen on consecutive ports from here, in profile order."""
    startup_timeout_s: float = Field(default=60.0, gt=0)
    city_timeout_s: float = Field(default=2.0, gt=0)
    """The gateway's deadline for one call to one city."""
    sandbox: bool = True
    """Sandbox mode: fault injection, request journal and reset on every city (``czt fault``; docs/sandbox.md)."""
    demo: bool = True
    """Demo mode: the portal at the gateway's ``/`` offers a persona picker (one-click demo logins)."""
