"""Settings of the gateway process (env prefix ``CZT_GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.exchange.transport import HttpTransport
from schemas.cities import CityCode, CityRef


class CityEntry(BaseModel):
    """One city in the gateway's registry: configuration, never code."""

    code: CityCode
    name: str
    name_en: str = ""
    url: str = Field(description="Base URL of the city's backend, e.g. http://127.0.0.1:8001")
    timeout_s: float = Field(
        default=2.0, gt=0, description="Deadline for one whole call to this city, its retries included"
    )
    retries: int = Field(
        default=2, ge=0, le=10, description="Extra attempts of an idempotent read (GET) after a transient failure"
    )
    retry_backoff_s: float = Field(default=0.05, ge=0, description="Longest wait before the first retry (jittered)")
    retry_backoff_max_s: float = Field(default=0.5, ge=0, description="Longest wait before any retry (jittered)")
    breaker_failures: int = Field(default=5, ge=1, description="Failed calls in a row that open the circuit breaker")
    breaker_open_s: float = Field(
        default=10.0, gt=0, description="How long an open breaker refuses calls before one trial call"
    )
    jwks: dict[str, Any] | None = Field(
        default=None, description="The city's public keys, pinned; when absent they are fetched from jwks_url"
    )
    jwks_url: str | None = Field(
        default=None, description="Where the city publishes its keys; default <url>/.well-known/jwks.json"
    )

    @model_validator(mode="after")
    def _backoff_window_grows(self) -> CityEntry:
        if self.retry_backoff_max_s < self.retry_backoff_s:
            raise ValueError("retry_backoff_max_s must be at least retry_backoff_s")
        return self

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.url.rstrip('/')}/.well-known/jwks.json"

    @property
    def ref(self) -> CityRef:
        return CityRef(code=self.code, name=self.name, name_en=self.name_en)


SHIPPED_POLICIES = Path(__file__).resolve().parent.parent / "policies"
"""The policies shipped with CZT Interop (``default.yaml``, ``strict.yaml``, ``open.yaml``) in a checkout;
an installed copy (the Docker image) finds them in ``policies/`` of its working directory."""


def policy_path(name_or_path: str) -> Path:
    """A shipped policy by name (``strict``), or any YAML file by path."""
    if "/" not in name_or_path and not name_or_path.endswith((".yaml", ".yml")):
        for folder in (SHIPPED_POLICIES, Path("policies")):
            if (folder / f"{name_or_path}.yaml").exists():
                return folder / f"{name_or_path}.yaml"
    return Path(name_or_path)


DEFAULT_CITIES = [
    CityEntry(code="430100", name="长沙", name_en="Changsha", url="http://127.0.0.1:8001"),
    CityEntry(code="430200", name="株洲", name_en="Zhuzhou", url="http://127.0.0.1:8002"),
    CityEntry(code="430300", name="湘潭", name_en="Xiangtan", url="http://127.0.0.1:8003"),
]


class GatewaySettings(BaseSettings):
    """The gateway: its database, its signing key, its tokens and its city registry."""

    model_config = SettingsConfigDict(env_prefix="CZT_GATEWAY_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///<data_dir>/gateway.db``."""
    signing_key_file: Path | None = None
    """ES256 private key (PEM), generated on first run with mode 0600; default ``<data_dir>/keys/gateway-es256.pem``."""
    issuer: str = "czt-gateway"
    audience: str = "czt-api"
    access_token_ttl_s: int = Field(default=900, gt=0)
    service_token_ttl_s: int = Field(default=60, gt=0)
    cities: list[CityEntry] = Field(default_factory=lambda: [c.model_copy() for c in DEFAULT_CITIES])
    """The city registry; as an environment variable, a JSON list of entries."""
    max_connections_per_city: int = Field(default=50, gt=0)
    """Kept-alive connections to each city, at most (the pool of its client)."""
    http_transport: HttpTransport = HttpTransport.AIOHTTP
    """What carries the calls to the cities: ``aiohttp`` (default, chosen on the evidence in docs/performance.md)
    or ``httpx`` (httpx's own transport). The client's API is httpx's either way."""
    transfer_resume_interval_s: float = Field(default=5.0, ge=0)
    """How often unfinished fund transfers are pushed on; 0 resumes them once at start-up only."""
    status_list_ttl_s: float = Field(default=60.0, ge=0)
    """How long a city's credential status list is cached before verification fetches it again (0: every time)."""

    policy: str = "default"
    """The data-sharing policy enforced on every exchange: a shipped policy's name (``default``, ``strict``,
    ``open``: ``policies/<name>.yaml``) or the path of a YAML file (see docs/governance.md)."""
    shadow_policy: str | None = None
    """A candidate policy (name or path) evaluated beside the active one on live traffic, never enforced;
    where it would decide otherwise, the divergence is kept for admins to list."""
    pseudonym_key_file: Path | None = None
    """Secret for pseudonyms of data subjects and ``hash`` masks; default ``<data_dir>/keys/pseudonym.key``."""
    server_timing: bool = True
    """Send ``Server-Timing`` on every response: how long authentication, the policy decision, the audit append,
    each city and the release took (``commons/server_timing.py``). Durations only, never data."""
    demo: bool = False
    """Demo mode (``czt run`` sets it): the portal at ``/`` offers a persona picker, one-click logins with the
    published demo passwords (``GET /portal/demo``). Never on in a real deployment."""
    demo_residents_file: Path | None = None
    """Who the persona picker offers: a JSON list written by ``czt run`` (the gateway knows no mock city's
    personas); default ``<data_dir>/demo-residents.json``."""

    @property
    def policy_path(self) -> Path:
        return policy_path(self.policy)

    @property
    def shadow_policy_path(self) -> Path | None:
        return None if self.shadow_policy is None else policy_path(self.shadow_policy)

    @property
    def resolved_demo_residents_file(self) -> Path:
        return self.demo_residents_file or self.data_dir / "demo-residents.json"

    @property
    def resolved_pseudonym_key_file(self) -> Path:
        return self.pseudonym_key_file or self.data_dir / "keys" / "pseudonym.key"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir}/gateway.db"

    @property
    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "keys" / "gateway-es256.pem"
