"""``czt conformance``: run the exchange-contract suite against any city backend and print a pass/fail table.

The city under test must trust the sandbox gateway's keys (``CZT_CITY_GATEWAY_JWKS_URL`` pointing at the
sandbox gateway's ``/.well-known/jwks.json``): the kit signs its service tokens with that gateway's key, as
``czt token service`` does, so it runs in sandbox mode only. Exit 0 when every check passed (skips allowed),
1 when any failed, 2 on bad options.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.junit import junit_xml
from conformance.runner import Outcome, Report, UnknownCheck, run_conformance, select_checks
from conformance.subjects import default_subject, persona_name
from czt.token import NotASandbox, SandboxGateway, resolve_subject, sandbox_gateway
from schemas.idcard import mask_id_number

console = Console()
errors = Console(stderr=True)

_STYLE = {Outcome.PASS: "[green]PASS[/]", Outcome.FAIL: "[bold red]FAIL[/]", Outcome.SKIP: "[yellow]SKIP[/]"}


def conformance(
    city_code: Annotated[str, typer.Option(help="The city's 6-digit code, e.g. 430300")],
    city_url: Annotated[
        str | None, typer.Option(help="The city's base URL; default: that city's URL in the running sandbox")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(help="A resident the city holds (ID number); default: a demo persona for the mock cities"),
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="Also write the results as JUnit XML to this file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table")] = False,
    deadline: Annotated[float, typer.Option(min=0.1, max=60, help="Seconds each call may take")] = 2.0,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Skip the checks that write (idempotent transfer step and claim)")
    ] = False,
    only: Annotated[list[str] | None, typer.Option("--check", help="Run only this check (repeatable)")] = None,
    data_dir: Annotated[Path, typer.Option(help="The sandbox's data folder (sandbox.json, keys/)")] = Path("var"),
) -> None:
    """Check a city backend against the exchange contract: tokens, shapes, errors, idempotent writes, health."""
    if not (len(city_code) == 6 and city_code.isascii() and city_code.isdigit()):
        raise typer.BadParameter(f"{city_code!r} must be a 6-digit city code, e.g. 430300", param_hint="--city-code")
    chosen = subject or default_subject(city_code)
    if chosen is None:
        raise typer.BadParameter(
            f"city {city_code} is not a mock city: name a resident it holds with --subject", param_hint="--subject"
        )
    id_number = resolve_subject(chosen)
    try:
        checks = select_checks(only)
    except UnknownCheck as exc:
        raise typer.BadParameter(str(exc), param_hint="--check") from None
    try:
        gateway = sandbox_gateway(data_dir)
    except NotASandbox as exc:
        errors.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    url = _city_url(city_url, city_code, gateway)
    report = asyncio.run(
        run_conformance(
            city_url=url,
            city_code=city_code,
            subject=id_number,
            key=gateway.key,
            issuer=gateway.issuer,
            deadline_s=deadline,
            read_only=read_only,
            checks=checks,
        )
    )
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(junit_xml(report), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        print_report(report, junit=junit)
    raise typer.Exit(0 if report.passed else 1)


def _city_url(city_url: str | None, city_code: str, gateway: SandboxGateway) -> str:
    if city_url is not None:
        if not city_url.startswith(("http://", "https://")):
            raise typer.BadParameter(f"{city_url!r} must be an http:// or https:// URL", param_hint="--city-url")
        return city_url
    city = gateway.info.city(city_code) if gateway.info else None
    if city is None:
        raise typer.BadParameter(
            f"no city {city_code} in a running sandbox: give the city's URL with --city-url", param_hint="--city-url"
        )
    return city.url


def print_report(report: Report, *, junit: Path | None = None) -> None:
    """The rich table: one row per check, then the summary and what the run wrote."""
    name = persona_name(report.subject)
    who = f"{mask_id_number(report.subject)}" + (f" ({name})" if name else "")
    table = Table(title=f"czt conformance · city {report.city_code} at {report.city_url} · subject {who}")
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("ms", justify="right", no_wrap=True)
    table.add_column("what it proves / what was found")
    for result in report.results:
        detail = escape(result.detail)
        text = (
            f"{escape(result.title)}\n[dim]{detail}[/]"
            if result.outcome is Outcome.PASS
            else (f"{escape(result.title)}\n{detail}")
        )
        table.add_row(result.id, _STYLE[result.outcome], str(result.elapsed_ms), text)
    console.print(table)
    passed, failed, skipped = (report.count(o) for o in (Outcome.PASS, Outcome.FAIL, Outcome.SKIP))
    if report.passed:
        console.print(f"[green]conformant:[/] {passed} passed, {skipped} skipped")
    else:
        console.print(
            f"[bold red]not conformant:[/] {failed} failed ({', '.join(report.failed_checks)}), "
            f"{passed} passed, {skipped} skipped"
        )
    if report.writes:
        console.print("This run wrote to the city (a sandbox city is restored with POST /_admin/reset, `czt reset`):")
        for line in report.writes:
            console.print(f"  · {escape(line)}", highlight=False)
    if junit is not None:
        console.print(f"JUnit XML: {junit}")
