"""``czt fault``, ``czt journal``, ``czt reset``: drive the running sandbox's cities from the command line.

They find the cities and the admin token of their ``/_admin`` API in ``<data_dir>/sandbox.json``, which
``czt run`` writes while it runs (docs/sandbox.md)::

    czt fault set zhuzhou --latency 2s --jitter 500ms     # every call to 株洲 two to two and a half seconds late
    czt fault set 430300 --error-rate 0.3 --status 503 --seed 7 --path '/exchange/*'
    czt fault set xiangtan --reset-rate 1 --skip 1 --times 2   # the 2nd and 3rd calls cut, then healed
    czt fault show
    czt journal zhuzhou --path '/exchange/*' --limit 5
    czt fault clear            # every city
    czt reset zhuzhou          # back to the seeded data

Exit codes: 0 done, 1 a city could not be reached or refused, 2 bad input (nothing was sent).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from czt.sandbox import NoSandbox, SandboxCity, SandboxInfo, read_sandbox
from czt.settings import RunSettings
from mock_cities.sandbox.faults import MAX_MS, FaultKind, FaultSpec

fault_app = typer.Typer(
    help="Fault injection in the running sandbox's cities (latency, errors, outages, cut connections …).",
    no_args_is_help=True,
)
console = Console()

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000}


def parse_duration(value: str) -> int:
    """``2s``, ``500ms``, ``1.5s``, ``1m`` → milliseconds."""
    match = _DURATION.match(value)
    if match is None:
        raise typer.BadParameter(f"{value!r} is not a duration: write e.g. 2s, 500ms, 1.5s or 1m")
    ms = round(float(match.group(1)) * _UNIT_MS[match.group(2)])
    if ms > MAX_MS:
        raise typer.BadParameter(f"{value!r} is longer than the hour a fault may last")
    return ms


DataDir = Annotated[
    Path, typer.Option(help="The data folder `czt run` is running from (CZT_RUN_DATA_DIR); sandbox.json is there")
]
CityArg = Annotated[str, typer.Argument(help="City: slug (zhuzhou), code (430200) or name (株洲, Zhuzhou)")]
AllOrOneCity = Annotated[str | None, typer.Argument(help="City: slug, code or name; every city when absent")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
_default_data_dir = RunSettings().data_dir


class SandboxCallFailed(Exception):
    """A city could not be reached, or refused the call."""


@dataclass(frozen=True)
class Admin:
    """The ``/_admin`` API of one city of the running sandbox."""

    city: SandboxCity
    token: str
    transport: httpx.BaseTransport | None = None

    @property
    def label(self) -> str:
        return f"{self.city.name} {self.city.name_en} ({self.city.code})"

    def call(self, method: str, path: str, *, timeout_s: float = 30.0, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with httpx.Client(
                base_url=self.city.url, headers=headers, timeout=timeout_s, transport=self.transport
            ) as client:
                response = client.request(method, f"/_admin{path}", **kwargs)
        except httpx.TransportError as exc:
            raise SandboxCallFailed(
                f"cannot reach {self.label} at {self.city.url} ({type(exc).__name__}): is `czt run` still running?"
            ) from None
        if response.status_code >= 400:
            raise SandboxCallFailed(f"{self.label} answered {response.status_code}: {_problem_detail(response)}")
        return response.json()


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or "(no body)"
    detail = str(body.get("detail") or body.get("title") or body) if isinstance(body, dict) else str(body)
    if response.status_code == 401:
        detail += " (sandbox.json is from another run? restart `czt run`)"
    elif response.status_code == 404 and "/_admin" in str(response.request.url):
        detail += " (is the city running with --no-sandbox?)"
    return detail


def _sandbox(data_dir: Path) -> SandboxInfo:
    try:
        return read_sandbox(data_dir)
    except NoSandbox as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    except (ValidationError, ValueError) as exc:
        console.print(f"[red]{data_dir}/sandbox.json cannot be read[/] ({type(exc).__name__}); restart `czt run`")
        raise typer.Exit(1) from None


def _transport(ctx: typer.Context) -> httpx.BaseTransport | None:
    """Tests hand the commands a transport as the context object; otherwise the network."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, httpx.BaseTransport) else None


def _admins(ctx: typer.Context, data_dir: Path, city: str | None) -> list[Admin]:
    info = _sandbox(data_dir)
    transport = _transport(ctx)
    if city is None:
        return [Admin(c, info.admin_token, transport) for c in info.cities]
    found = info.city(city)
    if found is None:
        known = ", ".join(f"{c.slug} ({c.code}, {c.name})" for c in info.cities)
        console.print(f"[red]no city {escape(city)!r} in this sandbox[/]: one of {escape(known)}")
        raise typer.Exit(2)
    return [Admin(found, info.admin_token, transport)]


def _run_each(admins: list[Admin], action: Callable[[Admin], None]) -> None:
    """Every city in turn; a city that fails is reported, and the command exits 1 after the others."""
    failed = False
    for admin in admins:
        try:
            action(admin)
        except SandboxCallFailed as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            failed = True
    if failed:
        raise typer.Exit(1)


def build_faults(
    *,
    latency_ms: int | None = None,
    jitter_ms: int | None = None,
    error_rate: float | None = None,
    status: int | None = None,
    outage: bool = False,
    reset_rate: float | None = None,
    dribble_ms: int | None = None,
    malformed_rate: float | None = None,
    path: str = "*",
    method: str | None = None,
    seed: int | None = None,
    skip: int = 0,
    times: int | None = None,
) -> list[dict[str, Any]]:
    """The faults the ``fault set`` options describe, checked as the city will check them."""
    common: dict[str, Any] = {"path": path, "skip": skip}
    for name, value in (("method", method), ("seed", seed), ("times", times)):
        if value is not None:
            common[name] = value
    faults: list[dict[str, Any]] = []
    if latency_ms is not None or jitter_ms is not None:
        latency: dict[str, Any] = {"kind": FaultKind.LATENCY, "ms": latency_ms or 0}
        if jitter_ms:
            latency["jitter_ms"] = jitter_ms
        faults.append(latency)
    if error_rate is not None or status is not None:
        faults.append(
            {"kind": FaultKind.ERROR, "probability": 1.0 if error_rate is None else error_rate, "status": status or 500}
        )
    if outage:
        faults.append({"kind": FaultKind.OUTAGE})
    if reset_rate is not None:
        faults.append({"kind": FaultKind.RESET, "probability": reset_rate})
    if dribble_ms is not None:
        faults.append({"kind": FaultKind.DRIBBLE, "ms": dribble_ms})
    if malformed_rate is not None:
        faults.append({"kind": FaultKind.MALFORMED, "probability": malformed_rate})
    if not faults:
        raise typer.BadParameter(
            "nothing to set: give at least one of --latency, --jitter, --error-rate, --status, --outage, "
            "--reset-rate, --dribble, --malformed-rate (or `czt fault clear`)"
        )
    checked = []
    for fault in faults:
        spec = {**common, **fault}
        try:
            FaultSpec.model_validate(spec)
        except ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise typer.BadParameter(f"invalid {fault['kind']} fault: {reasons}") from None
        checked.append({k: str(v) if isinstance(v, FaultKind) else v for k, v in spec.items()})
    return checked


@fault_app.command("set")
def set_faults(
    ctx: typer.Context,
    city: CityArg,
    latency: Annotated[
        int | None,
        typer.Option(
            "--latency", parser=parse_duration, metavar="DURATION", help="Fixed delay before the city answers, e.g. 2s"
        ),
    ] = None,
    jitter: Annotated[
        int | None,
        typer.Option(
            "--jitter", parser=parse_duration, metavar="DURATION", help="Plus a random 0..this delay, e.g. 500ms"
        ),
    ] = None,
    error_rate: Annotated[
        float | None,
        typer.Option("--error-rate", min=0.0, max=1.0, metavar="P", help="Share of requests answered with --status"),
    ] = None,
    status: Annotated[
        int | None, typer.Option("--status", min=400, max=599, help="Status of injected errors (default 500)")
    ] = None,
    outage: Annotated[bool, typer.Option("--outage", help="Answer 503 to everything, /health included")] = False,
    reset_rate: Annotated[
        float | None,
        typer.Option("--reset-rate", min=0.0, max=1.0, metavar="P", help="Share of connections cut mid-answer"),
    ] = None,
    dribble: Annotated[
        int | None,
        typer.Option(
            "--dribble", parser=parse_duration, metavar="DURATION", help="Spread each answer's body over this long"
        ),
    ] = None,
    malformed_rate: Annotated[
        float | None, typer.Option("--malformed-rate", min=0.0, max=1.0, metavar="P", help="Share of answers garbled")
    ] = None,
    path: Annotated[str, typer.Option(help="Only paths matching this glob, e.g. '/exchange/*'")] = "*",
    method: Annotated[str | None, typer.Option(help="Only this HTTP method")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed of the dice: the same seed, the same faults")] = None,
    skip: Annotated[int, typer.Option(min=0, help="Let the first N matching requests through")] = 0,
    times: Annotated[int | None, typer.Option(min=1, help="Fire at most N times, then heal")] = None,
    add: Annotated[bool, typer.Option("--add", help="Add to the city's faults instead of replacing them")] = False,
    data_dir: DataDir = _default_data_dir,
) -> None:
    """Set faults on one city (replacing its faults unless --add)."""
    faults = build_faults(
        latency_ms=latency,
        jitter_ms=jitter,
        error_rate=error_rate,
        status=status,
        outage=outage,
        reset_rate=reset_rate,
        dribble_ms=dribble,
        malformed_rate=malformed_rate,
        path=path,
        method=method,
        seed=seed,
        skip=skip,
        times=times,
    )
    (admin,) = _admins(ctx, data_dir, city)

    def apply(admin: Admin) -> None:
        answer = admin.call("POST", "/faults", params={"replace": str(not add).lower()}, json={"faults": faults})
        console.print(_faults_table({admin.label: answer["faults"]}, title=f"faults in force on {admin.label}"))

    _run_each([admin], apply)


@fault_app.command("clear")
def clear_faults(ctx: typer.Context, city: AllOrOneCity = None, data_dir: DataDir = _default_data_dir) -> None:
    """Clear the faults of one city, or of every city."""

    def clear(admin: Admin) -> None:
        cleared = admin.call("DELETE", "/faults")["cleared"]
        console.print(f"{admin.label}: {cleared} fault{'s' if cleared != 1 else ''} cleared")

    _run_each(_admins(ctx, data_dir, city), clear)


@fault_app.command("show")
def show_faults(
    ctx: typer.Context, city: AllOrOneCity = None, as_json: AsJson = False, data_dir: DataDir = _default_data_dir
) -> None:
    """The faults in force, with how many requests each matched and fired on."""
    shown: dict[str, list[dict[str, Any]]] = {}

    def read(admin: Admin) -> None:
        shown[admin.city.slug if as_json else admin.label] = admin.call("GET", "/faults")["faults"]

    try:
        _run_each(_admins(ctx, data_dir, city), read)
    finally:
        if as_json:
            sys.stdout.write(json.dumps(shown, ensure_ascii=False, indent=2) + "\n")
        elif shown:
            console.print(_faults_table(shown, title="faults in force"))


def _faults_table(faults_by_city: dict[str, list[dict[str, Any]]], *, title: str) -> Table | str:
    if not any(faults_by_city.values()):
        return "no faults in force: " + ", ".join(faults_by_city)
    table = Table(title=title)
    for column in ("city", "id", "kind", "scope", "what", "probability", "seed", "skip/times", "matched", "fired"):
        table.add_column(column)
    for city, faults in faults_by_city.items():
        for fault in faults:
            table.add_row(
                escape(city),
                escape(fault["id"]),
                fault["kind"],
                escape(f"{fault.get('method') or '*'} {fault['path']}"),
                _what(fault),
                f"{fault['probability']:g}",
                str(fault["seed"]),
                f"{fault['skip']}/{fault.get('times') or '∞'}",
                str(fault["matched"]),
                str(fault["fired"]),
            )
    return table


def _what(fault: dict[str, Any]) -> str:
    kind = fault["kind"]
    if kind == FaultKind.LATENCY:
        jitter = f" + 0..{fault['jitter_ms']} ms" if fault.get("jitter_ms") else ""
        return f"{fault['ms']} ms{jitter}"
    if kind == FaultKind.ERROR:
        return f"HTTP {fault['status']}"
    if kind == FaultKind.OUTAGE:
        return "HTTP 503, city down"
    if kind == FaultKind.DRIBBLE:
        return f"body over {fault['ms']} ms"
    return {"reset": "connection cut", "malformed": "garbled body"}.get(kind, kind)


def journal(
    ctx: typer.Context,
    city: CityArg,
    path: Annotated[str | None, typer.Option(help="Only paths matching this glob, e.g. '/exchange/*'")] = None,
    request_id: Annotated[str | None, typer.Option(help="Only this request id (the gateway's X-Request-ID)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many, newest first")] = 20,
    as_json: AsJson = False,
    data_dir: DataDir = _default_data_dir,
) -> None:
    """What one city of the running sandbox received, newest first (its request journal)."""
    (admin,) = _admins(ctx, data_dir, city)
    params: dict[str, Any] = {"limit": limit}
    if path is not None:
        params["path"] = path
    if request_id is not None:
        params["request_id"] = request_id

    def show(admin: Admin) -> None:
        page = admin.call("GET", "/requests", params=params)
        if as_json:
            sys.stdout.write(json.dumps(page, ensure_ascii=False, indent=2) + "\n")
            return
        table = Table(title=f"requests {admin.label} received ({len(page['requests'])} of {page['held']} held)")
        for column in ("time", "method", "path", "request id", "purpose", "status", "ms", "faults", "bytes"):
            table.add_column(column)
        for entry in page["requests"]:
            status = "—" if entry["status"] is None else str(entry["status"])
            if not entry["completed"]:
                status += " (cut)"
            query = f"?{entry['query']}" if entry["query"] else ""
            table.add_row(
                entry["at"][11:23],
                entry["method"],
                escape(entry["path"] + query),
                escape(entry["request_id"]),
                escape((entry.get("caller") or {}).get("purpose") or ""),
                status,
                f"{entry['elapsed_ms']:.0f}",
                escape(", ".join(entry["faults"])),
                str(entry["response_bytes"]),
            )
        console.print(table)

    _run_each([admin], show)


def reset(ctx: typer.Context, city: AllOrOneCity = None, data_dir: DataDir = _default_data_dir) -> None:
    """Restore the seeded state of one city, or of every city: data, journal, start-up faults."""

    def restore(admin: Admin) -> None:
        report = admin.call("POST", "/reset", timeout_s=600.0)
        seeded = report["seeded"]
        console.print(
            f"{admin.label}: re-seeded {seeded['persons']} persons (seed {seeded['seed']}, "
            f"{seeded['residents_per_city']} residents per city) in {seeded['elapsed_ms']:.0f} ms; "
            f"{report['journal_cleared']} journal entries dropped; {report['faults_restored']} start-up faults in force"
        )

    _run_each(_admins(ctx, data_dir, city), restore)
