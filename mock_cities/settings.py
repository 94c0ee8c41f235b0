"""Settings of one city backend process (env prefix ``CZT_CITY_``)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mock_cities.credentials.models import CredentialSettings
from mock_cities.profiles import CityProfile, load_profile
from mock_cities.sandbox.faults import FaultSpec


class CitySettings(BaseSettings):
    """One city backend: which profile it runs, where its database is, whom it trusts."""

    model_config = SettingsConfigDict(env_prefix="CZT_CITY_", env_nested_delimiter="__", extra="ignore")

    profile: str = "changsha"
    """A built-in profile name or the path of a profile TOML file."""
    data_dir: Path = Path("var")
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/<slug>.db``."""
    gateway_jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    """Where the gateway publishes the keys its service tokens are signed with."""
    gateway_issuer: str = "czt-gateway"
    credentials: CredentialSettings = Field(default_factory=CredentialSettings)
    """Credential validity and status lists, e.g. ``CZT_CITY_CREDENTIALS__VALIDITY_DAYS='{"skill_certificate": 9}'``."""
    signing_key_file: Path | None = None
    """ES256 key the city signs its answers with; default ``<data_dir>/keys/<slug>-es256.pem``, made on first run."""
    server_timing: bool = True
    """Send ``Server-Timing`` on every response: the service token's check, the read, an injected fault's delay,
    the signing and the total (``commons/server_timing.py``); the gateway passes the total on as ``served-<code>``."""
    sandbox: bool = False
    """Sandbox mode: fault injection, request journal and reset under ``/_admin`` (docs/sandbox.md)."""
    admin_token: str | None = Field(default=None, min_length=16)
    """Bearer token of the ``/_admin`` API; required in sandbox mode (``czt run`` makes a fresh one per run)."""
    faults: list[FaultSpec] = Field(default_factory=list)
    """Faults in force from start-up (and again after each reset), as a JSON list."""
    journal_size: int = Field(default=1000, ge=1, le=1_000_000)
    """How many requests the journal keeps."""
    seed: int = 2026
    """The seed the city's data was generated from (``czt seed --seed``): a reset seeds again from it."""
    residents_per_city: int = Field(default=1000, ge=0)
    """The population size the city's data was generated with (``czt seed --residents``)."""

    @model_validator(mode="after")
    def _sandbox_needs_a_token(self) -> CitySettings:
        if self.sandbox and not self.admin_token:
            raise ValueError("CZT_CITY_ADMIN_TOKEN must be set when CZT_CITY_SANDBOX is on (the /_admin API needs it)")
        return self

    @cached_property
    def city(self) -> CityProfile:
        return load_profile(self.profile)

    @property
    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "keys" / f"{self.city.slug}-es256.pem"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / self.city.slug}.db"
