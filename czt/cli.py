"""The ``czt`` command line."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from czt.audit import audit_app
from czt.conformance import conformance
from czt.demo import demo
from czt.deployment import LocalDeployment
from czt.fault import fault_app, journal, reset
from czt.openapi import openapi_app
from czt.policy import policy_app
from czt.run import StartupFailed, Supervisor
from czt.sandbox import SandboxCity, SandboxInfo, new_admin_token, remove_sandbox, write_sandbox
from czt.seeding import (
    DEMO_RESIDENTS_FILE,
    SeedTarget,
    is_seeded,
    local_targets,
    population_from,
    record_population,
    recorded_population,
    seed_target,
    write_demo_residents,
)
from czt.settings import RunSettings, SeedSettings
from czt.token import token_app
from czt.workload import workload_app
from gateway.auth.demo import DEMO_CLIENTS, DEMO_OFFICIAL_PASSWORD, DEMO_OFFICIALS
from gateway.settings import GatewaySettings, policy_path
from governance.policy import PolicyError, load_policy
from mock_cities.personas import DEMO_RESIDENT_PASSWORD, PERSONAS
from mock_cities.profiles import load_profile

app = typer.Typer(help="CZT Interop: cross-city public-service data exchange for 长株潭.", no_args_is_help=True)
console = Console()
app.add_typer(audit_app, name="audit")
app.add_typer(fault_app, name="fault")
app.command()(journal)
app.command()(reset)
app.add_typer(openapi_app, name="openapi")
app.add_typer(policy_app, name="policy")
app.add_typer(workload_app, name="workload")
app.add_typer(token_app, name="token")
app.command()(conformance)
app.command()(demo)

_run, _seed = RunSettings(), SeedSettings()
DataDir = Annotated[Path, typer.Option(help="Folder for databases and keys (CZT_RUN_DATA_DIR)")]
Residents = Annotated[int, typer.Option("--residents", min=0, help="Residents per city (CZT_SEED_RESIDENTS_PER_CITY)")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same residents")]


def _seed_all(data_dir: Path, seed_settings: SeedSettings, *, replace: bool) -> None:
    population = population_from(seed_settings)
    targets = local_targets(data_dir, population.cities)
    expected = population.person_count()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        # Each bar's clock starts when that database's turn comes, so the times read per database.
        tasks = {t.name: progress.add_task(f"seeding {t.name}", total=expected, start=False) for t in targets}

        def advance(name: str, count: int) -> None:
            progress.advance(tasks[name], count)

        fresh: dict[str, bool] = {}
        for target in targets:
            progress.start_task(tasks[target.name])
            written = seed_target(target, population=population, replace=replace, progress=advance)
            fresh[target.name] = written is not None
            # A city holds only the residents whose lives touched it: the bar ends at its real count.
            progress.update(tasks[target.name], total=written or 0, completed=written or 0)
            if written is None:
                progress.update(tasks[target.name], description=f"{target.name}: already seeded, kept")
    if any(fresh.values()) or replace:
        record_population(data_dir, seed_settings)


@app.command()
def seed(
    data_dir: DataDir = _run.data_dir,
    residents: Residents = _seed.residents_per_city,
    seed: SeedOpt = _seed.seed,
    replace: Annotated[bool, typer.Option(help="Drop and re-create existing data")] = False,
) -> None:
    """Seed the three cities and the gateway's accounts (SQLite files under the data folder)."""
    settings = _seed.model_copy(update={"residents_per_city": residents, "seed": seed})
    _seed_all(data_dir, settings, replace=replace)
    console.print(f"[green]seeded[/] {data_dir}/ (seed {seed}, {residents} residents per city)")


@app.command()
def run(
    data_dir: DataDir = _run.data_dir,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = _run.host,
    gateway_port: Annotated[int, typer.Option(help="Gateway port (CZT_RUN_GATEWAY_PORT)")] = _run.gateway_port,
    first_city_port: Annotated[int, typer.Option(help="First city's port; the others follow")] = _run.first_city_port,
    city_timeout: Annotated[
        float, typer.Option(help="Gateway's deadline per city call, seconds")
    ] = _run.city_timeout_s,
    residents: Residents = _seed.residents_per_city,
    seed: SeedOpt = _seed.seed,
    policy: Annotated[
        str | None,
        typer.Option(help="Data-sharing policy: default, strict, open or a YAML path (CZT_GATEWAY_POLICY)"),
    ] = None,
    shadow_policy: Annotated[
        str | None,
        typer.Option(help="Candidate policy evaluated beside it on live traffic (CZT_GATEWAY_SHADOW_POLICY)"),
    ] = None,
    sandbox: Annotated[
        bool, typer.Option(help="Fault injection, request journal and reset on every city (CZT_RUN_SANDBOX)")
    ] = _run.sandbox,
    demo: Annotated[
        bool, typer.Option(help="The portal offers a persona picker: one-click demo logins (CZT_RUN_DEMO)")
    ] = _run.demo,
) -> None:
    """Seed on first run, start every city and the gateway, print the URLs and demo logins; Ctrl-C stops all."""
    gateway_settings = GatewaySettings()
    policy = policy or gateway_settings.policy
    shadow_policy = shadow_policy or gateway_settings.shadow_policy
    for name in (policy, shadow_policy):
        if name is not None:
            _check_policy(name)  # the gateway would refuse to start: say why before starting anything
    profiles = [load_profile(ref) for ref in _seed.profiles]
    if not is_seeded(data_dir, profiles):
        _seed_all(data_dir, _seed.model_copy(update={"residents_per_city": residents, "seed": seed}), replace=False)
    elif recorded_population(data_dir) is None:
        # Seeded by an earlier version: histories a row per month (the cities would find their period tables
        # empty), or residents the generator no longer draws (a sandbox reset would seed a city with others). Say
        # so rather than serve them; reseeding is the user's call.
        console.print(
            f"[red]{data_dir} was seeded with an older table layout[/] or generator (the cities now keep histories "
            "as periods, and draw residents a block at a time). Seed it again: "
            f"[bold]czt seed --data-dir {data_dir} --replace[/] (or remove the folder)."
        )
        raise typer.Exit(2)
    if demo:
        write_demo_residents(data_dir / DEMO_RESIDENTS_FILE)
    # A sandbox reset seeds again: from what the data folder was really seeded with, not from this run's options.
    seed, residents = recorded_population(data_dir) or (seed, residents)
    deployment = LocalDeployment.consecutive(
        data_dir=data_dir,
        profiles=profiles,
        host=host,
        gateway_port=gateway_port,
        first_city_port=first_city_port,
        city_timeout_s=city_timeout,
        policy=str(policy_path(policy).resolve()),
        shadow_policy=None if shadow_policy is None else str(policy_path(shadow_policy).resolve()),
        # A fresh admin token per run: a sandbox.json left from an earlier run opens nothing.
        admin_token=new_admin_token() if sandbox else None,
        seed=seed,
        residents_per_city=residents,
        demo=demo,
    )
    supervisor = Supervisor(deployment.processes(_seed.profiles), startup_timeout_s=_run.startup_timeout_s)

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    wrote_sandbox = False
    try:
        supervisor.start()
        if deployment.admin_token is not None:
            write_sandbox(data_dir, _sandbox_info(deployment, deployment.admin_token))
            wrote_sandbox = True
        _print_banner(deployment)
        supervisor.wait(lambda spec, code: console.print(f"[red]{spec.name} exited with code {code}[/]"))
    except StartupFailed as exc:
        console.print(f"[red]start-up failed:[/] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("\nstopping …")
    finally:
        if wrote_sandbox:  # never another run's file: a failed start may have met a running sandbox's ports
            remove_sandbox(data_dir)
        supervisor.stop()
    console.print("all processes stopped")


def _sandbox_info(deployment: LocalDeployment, admin_token: str) -> SandboxInfo:
    cities = [
        SandboxCity(code=p.code, slug=p.slug, name=p.name, name_en=p.name_en, url=deployment.city_url(p))
        for p in deployment.profiles
    ]
    return SandboxInfo(gateway_url=deployment.gateway_url, cities=cities, admin_token=admin_token)


def _check_policy(name: str) -> None:
    try:
        load_policy(policy_path(name))
    except PolicyError as exc:
        console.print(f"[red]policy {name} cannot be used[/] — fix these and start again:")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def _print_banner(deployment: LocalDeployment) -> None:
    table = Table(title="CZT Interop is running", show_header=True)
    table.add_column("service")
    table.add_column("URL")
    table.add_row(
        "portal · gateway (一网通办)",
        f"{deployment.gateway_url}   API docs: {deployment.gateway_url}/docs",
    )
    for profile in deployment.profiles:
        table.add_row(f"{profile.name} {profile.name_en} {profile.code}", deployment.city_url(profile))
    console.print(table)
    if deployment.policy is not None:
        shadow = f", shadow: {Path(deployment.shadow_policy).stem}" if deployment.shadow_policy else ""
        console.print(
            f"data-sharing policy: {Path(deployment.policy).stem}{shadow} (`czt policy show`; docs/governance.md)"
        )
    if deployment.admin_token is not None:
        example = deployment.profiles[1 if len(deployment.profiles) > 1 else 0].slug
        console.print(
            f"sandbox: fault injection, request journal and reset on every city — try `czt fault set {example} "
            f"--latency 2s`, `czt journal {example}`, `czt reset` (docs/sandbox.md)"
        )
    console.print(_accounts_table())
    console.print("The personas' stories: README.md, or `czt accounts --json`.")
    console.print(
        "Try: curl -s -X POST "
        f"{deployment.gateway_url}/v1/auth/token -d grant_type=password "
        f"-d username={PERSONAS[0].id_number} -d password={DEMO_RESIDENT_PASSWORD}\n"
        "Press Ctrl-C to stop all four processes."
    )


def _accounts() -> dict[str, list[dict[str, Any]]]:
    return {
        "residents": [
            {
                "persona": p.key,
                "name": p.name,
                "username": p.id_number,
                "password": DEMO_RESIDENT_PASSWORD,
                "story": p.story_en,
                "story_zh": p.story_zh,
            }
            for p in PERSONAS
        ],
        "officials": [
            {
                "username": o.username,
                "password": DEMO_OFFICIAL_PASSWORD,
                "name": o.name,
                "city_code": o.city_code,
                "department": o.department,
                "role": o.role,
            }
            for o in DEMO_OFFICIALS
        ],
        "clients": [
            {"client_id": c.client_id, "client_secret": c.secret, "name": c.name, "scopes": c.scopes}
            for c in DEMO_CLIENTS
        ],
    }


def _accounts_table() -> Table:
    accounts = _accounts()
    table = Table(title="Demo logins (POST /v1/auth/token)")
    for column in ("kind", "login", "password / secret", "who"):
        table.add_column(column)
    for r in accounts["residents"]:
        table.add_row("resident", r["username"], r["password"], f"{r['name']} ({r['persona']})")
    for o in accounts["officials"]:
        table.add_row("official", o["username"], o["password"], f"{o['name']} · {o['role']}")
    for c in accounts["clients"]:
        table.add_row("client", c["client_id"], c["client_secret"], f"scopes: {c['scopes']}")
    return table


@app.command()
def accounts(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """List the demo logins: personas, officials and API clients."""
    if as_json:
        sys.stdout.write(json.dumps(_accounts(), ensure_ascii=False, indent=2) + "\n")
    else:
        console.print(_accounts_table())


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help="'gateway' or 'city' (the city's profile from CZT_CITY_PROFILE)")],
    host: Annotated[str, typer.Option()] = "0.0.0.0",  # noqa: S104 - a container's service listens on all
    port: Annotated[int, typer.Option()] = 8000,
    seed_if_empty: Annotated[bool, typer.Option(help="Seed this service's own database first if empty")] = False,
) -> None:
    """Run one service from its environment settings (containers, docker-compose)."""
    from gateway.settings import GatewaySettings
    from mock_cities.settings import CitySettings

    if service == "city":
        factory = "mock_cities.app:create_city_app"
        city = CitySettings()
        target = SeedTarget(city.city.slug, city.resolved_database_url, city.city)
    elif service == "gateway":
        factory = "gateway.app:create_app"
        target = SeedTarget("gateway", GatewaySettings().resolved_database_url, None)
    else:
        raise typer.BadParameter("service must be 'gateway' or 'city'")
    if seed_if_empty:
        written = seed_target(target, population=population_from(_seed), replace=False)
        console.print(f"{target.name}: " + ("already seeded" if written is None else f"seeded {written}"))
    uvicorn.run(factory, factory=True, host=host, port=port, access_log=False)  # our JSON access line replaces it
