"""``czt fault``, ``czt journal``, ``czt reset`` against sandbox cities, through an injected transport.

The cities run in-process in a blocking portal (one event loop for all of them); the commands' synchronous
HTTP calls reach them through :class:`PortalTransport`. ``tests/e2e/test_sandbox.py`` runs the same commands
against real processes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from typer.testing import CliRunner

from commons.db import make_engine
from commons.keys import SigningKey
from czt.cli import app
from czt.deployment import LocalDeployment
from czt.fault import build_faults, parse_duration
from czt.sandbox import SandboxCity, SandboxInfo, write_sandbox
from czt.settings import RunSettings
from mock_cities.population import Population
from mock_cities.profiles import CityProfile
from mock_cities.sandbox.faults import FaultKind
from mock_cities.sandbox.router import Sandbox
from mock_cities.seed import seed_city
from mock_cities.settings import CitySettings
from tests.conftest import SEED, city_app
from tests.databases import TestDatabases
from tests.gateway.faults import CityTransport

TOKEN = "cli-sandbox-admin-token-0123"
runner = CliRunner()


class PortalTransport(httpx.BaseTransport):
    """Synchronous calls to ASGI apps running in a portal's event loop, chosen by host name."""

    def __init__(self, portal: BlockingPortal, apps: dict[str, FastAPI]) -> None:
        self.portal = portal
        self.apps = apps
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        target = self.apps.get(request.url.host)
        if target is None:
            raise httpx.ConnectError("connection refused", request=request)

        async def call() -> tuple[int, httpx.Headers, bytes]:
            response = await CityTransport(app=target).handle_async_request(request)
            return response.status_code, response.headers, await response.aread()

        status, headers, content = self.portal.call(call)
        return httpx.Response(status, headers=headers, content=content, request=request)


@dataclass
class CliSandbox:
    data_dir: Path
    transport: PortalTransport
    apps: dict[str, FastAPI]

    def invoke(self, *args: str) -> Any:
        # Wide, so that tables keep whole ids; the city apps' own logs go to stderr, apart from ``stdout``.
        return runner.invoke(app, [*args, "--data-dir", str(self.data_dir)], obj=self.transport, env={"COLUMNS": "200"})

    def sandbox(self, code: str) -> Sandbox:
        state: Sandbox = self.apps[code].state.sandbox
        return state

    def get(self, code: str, path: str, **headers: str) -> httpx.Response:
        with httpx.Client(transport=self.transport, base_url=f"http://city-{code}.test") as client:
            return client.get(path, headers=headers)


@pytest.fixture
def cli_sandbox(
    tmp_path: Path,
    databases: TestDatabases,
    profiles: list[CityProfile],
    population: Population,
    signing_key: SigningKey,
) -> Iterator[CliSandbox]:
    """Three sandbox cities on databases of their own (``czt reset`` drops tables) and their sandbox.json."""
    apps: dict[str, FastAPI] = {}
    for profile in profiles:
        url = databases.new_url(f"cli_{profile.slug}_{uuid.uuid4().hex[:8]}")
        engine = make_engine(url)
        seed_city(engine=engine, profile=profile, population=population)
        engine.dispose()
        apps[profile.code] = city_app(profile, url, signing_key, sandbox=True, admin_token=TOKEN)
    cities = [
        SandboxCity(code=p.code, slug=p.slug, name=p.name, name_en=p.name_en, url=f"http://city-{p.code}.test")
        for p in profiles
    ]
    write_sandbox(tmp_path, SandboxInfo(gateway_url="http://gateway.test", cities=cities, admin_token=TOKEN))
    with start_blocking_portal() as portal, ExitStack() as stack:
        for city in apps.values():
            stack.enter_context(portal.wrap_async_context_manager(city.router.lifespan_context(city)))
        transport = PortalTransport(portal, {f"city-{code}.test": city for code, city in apps.items()})
        yield CliSandbox(tmp_path, transport, apps)


def test_fault_set_puts_a_latency_on_one_city(cli_sandbox: CliSandbox) -> None:
    result = cli_sandbox.invoke("fault", "set", "zhuzhou", "--latency", "2s", "--jitter", "500ms")
    assert result.exit_code == 0, result.output
    (fault,) = cli_sandbox.sandbox("430200").book.faults()
    assert (fault.spec.kind, fault.spec.ms, fault.spec.jitter_ms, fault.spec.path) == ("latency", 2000, 500, "*")
    assert fault.spec.id in result.stdout and "2000 ms" in result.stdout
    assert not cli_sandbox.sandbox("430100").book and not cli_sandbox.sandbox("430300").book
    sent = cli_sandbox.transport.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"


def test_fault_set_replaces_the_city_s_faults_unless_add(cli_sandbox: CliSandbox) -> None:
    assert cli_sandbox.invoke("fault", "set", "430300", "--outage").exit_code == 0
    assert cli_sandbox.invoke("fault", "set", "湘潭", "--error-rate", "0.5").exit_code == 0
    assert [f.spec.kind for f in cli_sandbox.sandbox("430300").book.faults()] == ["error"]
    assert cli_sandbox.invoke("fault", "set", "Xiangtan", "--malformed-rate", "0.2", "--add").exit_code == 0
    assert [f.spec.kind for f in cli_sandbox.sandbox("430300").book.faults()] == ["error", "malformed"]


def test_fault_set_with_scope_seed_and_scenario_makes_reproducible_faults(cli_sandbox: CliSandbox) -> None:
    args = ["--path", "/health", "--method", "get", "--seed", "7", "--skip", "1", "--times", "2"]
    result = cli_sandbox.invoke("fault", "set", "zhuzhou", "--error-rate", "1", "--status", "503", *args)
    assert result.exit_code == 0, result.output
    (fault,) = cli_sandbox.sandbox("430200").book.faults()
    spec = fault.spec
    assert (spec.method, spec.path, spec.seed, spec.skip, spec.times, spec.status) == ("GET", "/health", 7, 1, 2, 503)
    assert [cli_sandbox.get("430200", "/health").status_code for _ in range(4)] == [200, 503, 503, 200]
    shown = cli_sandbox.invoke("fault", "show", "zhuzhou", "--json")
    assert shown.exit_code == 0
    (listed,) = json.loads(shown.stdout)["zhuzhou"]
    assert (listed["matched"], listed["fired"], listed["seed"]) == (4, 2, 7)


def test_every_kind_can_be_set_in_one_go() -> None:
    faults = build_faults(
        latency_ms=100,
        error_rate=0.1,
        status=502,
        outage=True,
        reset_rate=0.2,
        dribble_ms=3000,
        malformed_rate=0.3,
        seed=5,
    )
    assert [f["kind"] for f in faults] == [k.value for k in FaultKind]
    assert {f["seed"] for f in faults} == {5}
    assert build_faults(status=503) == [{"path": "*", "skip": 0, "kind": "error", "probability": 1.0, "status": 503}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency", "2"], "not a duration"),
        (["--latency", "fast"], "not a duration"),
        (["--dribble", "2h"], "not a duration"),
        (["--latency", "90m"], "longer than"),
        (["--error-rate", "1.5"], "--error-rate"),
        (["--reset-rate", "-1"], "--reset-rate"),
        (["--status", "200"], "--status"),
        (["--outage", "--method", "FETCH"], "method"),
        (["--outage", "--path", "health"], "path"),
        (["--outage", "--times", "0"], "--times"),
        ([], "nothing to set"),
    ],
)
def test_fault_set_refuses_bad_values_and_sends_nothing(cli_sandbox: CliSandbox, args: list[str], message: str) -> None:
    result = cli_sandbox.invoke("fault", "set", "zhuzhou", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())  # rich wraps long lines
    assert cli_sandbox.transport.requests == []


def test_an_unknown_city_is_named_with_the_choices(cli_sandbox: CliSandbox) -> None:
    result = cli_sandbox.invoke("fault", "set", "yueyang", "--outage")
    assert result.exit_code == 2
    assert "yueyang" in result.output and "zhuzhou (430200" in result.output


def test_fault_show_and_clear_one_city_or_all(cli_sandbox: CliSandbox) -> None:
    for city in ("changsha", "zhuzhou", "xiangtan"):
        assert cli_sandbox.invoke("fault", "set", city, "--latency", "10ms").exit_code == 0
    shown = cli_sandbox.invoke("fault", "show")
    assert shown.exit_code == 0
    for name in ("Changsha", "Zhuzhou", "Xiangtan"):
        assert name in shown.output
    cleared = cli_sandbox.invoke("fault", "clear", "zhuzhou")
    assert cleared.exit_code == 0 and "1 fault cleared" in cleared.output
    assert not cli_sandbox.sandbox("430200").book and cli_sandbox.sandbox("430100").book
    assert cli_sandbox.invoke("fault", "clear").exit_code == 0
    assert not any(cli_sandbox.sandbox(code).book for code in ("430100", "430200", "430300"))
    assert "no faults in force" in cli_sandbox.invoke("fault", "show").output


def test_journal_shows_what_a_city_received(cli_sandbox: CliSandbox) -> None:
    cli_sandbox.invoke("fault", "set", "zhuzhou", "--error-rate", "1", "--status", "503", "--path", "/health")
    cli_sandbox.get("430200", "/health", **{"X-Request-ID": "cli-journal-1"})
    cli_sandbox.get("430200", "/.well-known/jwks.json", **{"X-Request-ID": "cli-journal-2"})
    as_json = cli_sandbox.invoke("journal", "zhuzhou", "--json", "--request-id", "cli-journal-1")
    assert as_json.exit_code == 0, as_json.output
    (entry,) = json.loads(as_json.stdout)["requests"]
    assert (entry["path"], entry["status"]) == ("/health", 503) and entry["faults"][0].endswith(":error")
    table = cli_sandbox.invoke("journal", "430200", "--path", "/.well-known/*", "--limit", "5")
    assert table.exit_code == 0
    assert "cli-journal-2" in table.stdout and "cli-journal-1" not in table.stdout
    assert cli_sandbox.invoke("journal", "zhuzhou", "--limit", "0").exit_code == 2


def test_reset_restores_one_city_or_all(cli_sandbox: CliSandbox) -> None:
    cli_sandbox.invoke("fault", "set", "zhuzhou", "--outage")
    cli_sandbox.get("430200", "/health")
    result = cli_sandbox.invoke("reset", "zhuzhou")
    assert result.exit_code == 0, result.output
    assert "re-seeded" in result.output and f"seed {SEED}," in result.output
    assert not cli_sandbox.sandbox("430200").book and len(cli_sandbox.sandbox("430200").journal) == 0
    assert cli_sandbox.get("430200", "/health").status_code == 200
    everything = cli_sandbox.invoke("reset")
    assert everything.exit_code == 0
    assert everything.output.count("re-seeded") == 3


def test_without_a_running_sandbox_the_commands_say_so(tmp_path: Path) -> None:
    for args in (["fault", "show"], ["fault", "clear"], ["journal", "zhuzhou"], ["reset"]):
        result = runner.invoke(app, [*args, "--data-dir", str(tmp_path)])
        assert result.exit_code == 1, args
        assert "no sandbox is running" in " ".join(result.output.split())


def test_an_unreachable_city_is_reported_and_the_others_still_served(cli_sandbox: CliSandbox) -> None:
    for city in ("changsha", "zhuzhou"):
        cli_sandbox.invoke("fault", "set", city, "--latency", "1ms")
    del cli_sandbox.transport.apps["city-430100.test"]  # 长沙 stopped
    result = cli_sandbox.invoke("fault", "clear")
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "cannot reach 长沙 Changsha (430100)" in output and "czt run" in output
    assert "株洲 Zhuzhou (430200): 1 fault cleared" in output
    assert not cli_sandbox.sandbox("430200").book


def test_a_stale_admin_token_is_explained(cli_sandbox: CliSandbox) -> None:
    info = SandboxInfo.model_validate_json((cli_sandbox.data_dir / "sandbox.json").read_text())
    write_sandbox(cli_sandbox.data_dir, info.model_copy(update={"admin_token": "from-an-earlier-run-0000"}))
    result = cli_sandbox.invoke("fault", "show", "zhuzhou")
    assert result.exit_code == 1
    assert "401" in result.output and "sandbox.json" in result.output


@pytest.mark.parametrize(
    ("text", "ms"), [("2s", 2000), ("500ms", 500), ("1.5s", 1500), ("1m", 60000), (" 0ms ", 0), ("60m", 3_600_000)]
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


def test_a_duration_needs_a_unit() -> None:
    with pytest.raises(typer.BadParameter, match="2s, 500ms"):
        parse_duration("2")


def test_czt_run_hands_the_cities_the_sandbox_and_the_population_they_were_seeded_from(
    tmp_path: Path, profiles: list[CityProfile], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = LocalDeployment.consecutive(
        data_dir=tmp_path,
        profiles=profiles,
        host="127.0.0.1",
        gateway_port=9000,
        first_city_port=9001,
        admin_token=TOKEN,
        seed=7,
        residents_per_city=6,
    )
    env = plan.city_env(profiles[1], "zhuzhou")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = CitySettings()
    assert (settings.sandbox, settings.admin_token, settings.seed, settings.residents_per_city) == (True, TOKEN, 7, 6)
    off = LocalDeployment.consecutive(
        data_dir=tmp_path, profiles=profiles, host="127.0.0.1", gateway_port=9000, first_city_port=9001
    ).city_env(profiles[1], "zhuzhou")
    assert off["CZT_CITY_SANDBOX"] == "false" and "CZT_CITY_ADMIN_TOKEN" not in off
    assert RunSettings().sandbox is True
