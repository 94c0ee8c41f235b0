"""Settings of one city backend process (env prefix ``CZT_CITY_``)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mock_cities.credentials.models import CredentialSettings
from mock_cities.profiles import CityProfile, load_profile


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

    @cached_property
    def city(self) -> CityProfile:
        return load_profile(self.profile)

    @property
    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "keys" / f"{self.city.slug}-es256.pem"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / self.city.slug}.db"
