"""A local deployment: which processes ``czt run`` starts, on which ports, with which environment.

The end-to-end tests start the very same processes, so what they test is what ``make run`` runs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mock_cities.profiles import CityProfile

GATEWAY = "gateway"


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    health_url: str


@dataclass(frozen=True)
class LocalDeployment:
    data_dir: Path
    profiles: list[CityProfile]
    host: str = "127.0.0.1"
    gateway_port: int = 8000
    city_ports: dict[str, int] = field(default_factory=dict)
    """City code → port."""
    city_timeout_s: float = 2.0
    policy: str | None = None
    """The gateway's data-sharing policy (a shipped name or a path); None leaves CZT_GATEWAY_POLICY in charge."""
    shadow_policy: str | None = None
    admin_token: str | None = None
    """Sandbox mode when set: every city serves ``/_admin`` (faults, journal, reset) behind this bearer token."""
    seed: int = 2026
    residents_per_city: int = 1000
    """The population the cities were seeded from, which a sandbox reset seeds again."""
    demo: bool = False
    """Demo mode: the portal offers a persona picker (``CZT_GATEWAY_DEMO``)."""

    @classmethod
    def consecutive(
        cls,
        *,
        data_dir: Path,
        profiles: list[CityProfile],
        host: str,
        gateway_port: int,
        first_city_port: int,
        city_timeout_s: float = 2.0,
        policy: str | None = None,
        shadow_policy: str | None = None,
        admin_token: str | None = None,
        seed: int = 2026,
        residents_per_city: int = 1000,
        demo: bool = False,
    ) -> LocalDeployment:
        ports = {profile.code: first_city_port + index for index, profile in enumerate(profiles)}
        return cls(
            data_dir,
            profiles,
            host,
            gateway_port,
            ports,
            city_timeout_s,
            policy,
            shadow_policy,
            admin_token=admin_token,
            seed=seed,
            residents_per_city=residents_per_city,
            demo=demo,
        )

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    def city_url(self, profile: CityProfile) -> str:
        return f"http://{self.host}:{self.city_ports[profile.code]}"

    def gateway_env(self) -> dict[str, str]:
        cities = [
            {
                "code": p.code,
                "name": p.name,
                "name_en": p.name_en,
                "url": self.city_url(p),
                "timeout_s": self.city_timeout_s,
            }
            for p in self.profiles
        ]
        env = {"CZT_GATEWAY_DATA_DIR": str(self.data_dir), "CZT_GATEWAY_CITIES": json.dumps(cities)}
        if self.policy is not None:
            env["CZT_GATEWAY_POLICY"] = self.policy
        if self.shadow_policy is not None:
            env["CZT_GATEWAY_SHADOW_POLICY"] = self.shadow_policy
        if self.demo:
            env["CZT_GATEWAY_DEMO"] = "true"
        return env

    def city_env(self, profile: CityProfile, profile_ref: str) -> dict[str, str]:
        env = {
            "CZT_CITY_PROFILE": profile_ref,
            "CZT_CITY_DATA_DIR": str(self.data_dir),
            "CZT_CITY_GATEWAY_JWKS_URL": f"{self.gateway_url}/.well-known/jwks.json",
            "CZT_CITY_SEED": str(self.seed),
            "CZT_CITY_RESIDENTS_PER_CITY": str(self.residents_per_city),
            "CZT_CITY_SANDBOX": "true" if self.admin_token else "false",
        }
        if self.admin_token:
            env["CZT_CITY_ADMIN_TOKEN"] = self.admin_token
        return env

    def processes(self, profile_refs: list[str]) -> list[ProcessSpec]:
        """The city processes, then the gateway; ``profile_refs`` name each profile as configured."""
        specs = []
        for profile, ref in zip(self.profiles, profile_refs, strict=True):
            port = self.city_ports[profile.code]
            specs.append(
                ProcessSpec(
                    name=f"{profile.slug} ({profile.code})",
                    argv=_uvicorn("mock_cities.app:create_city_app", self.host, port),
                    env=self.city_env(profile, ref),
                    health_url=f"{self.city_url(profile)}/health",
                )
            )
        specs.append(
            ProcessSpec(
                name=GATEWAY,
                argv=_uvicorn("gateway.app:create_app", self.host, self.gateway_port),
                env=self.gateway_env(),
                health_url=f"{self.gateway_url}/v1/health",
            )
        )
        return specs


def _uvicorn(factory: str, host: str, port: int) -> list[str]:
    # --no-access-log: every app writes its own access line (commons/metrics.py), as JSON, with the request id.
    server = [sys.executable, "-m", "uvicorn", "--factory", factory]
    return [*server, "--host", host, "--port", str(port), "--no-access-log"]
