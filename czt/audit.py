"""``czt audit``: check the gateway's hash-chained audit log, and show its latest entries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlmodel import Session

from commons.db import make_engine
from gateway.audit import service as audit_service
from gateway.audit.models import AuditEntry, AuditHead
from gateway.settings import GatewaySettings

audit_app = typer.Typer(help="The gateway's hash-chained audit log (审计日志).", no_args_is_help=True)
console = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option(help="The gateway's database; default CZT_GATEWAY_DATABASE_URL, or var/gateway.db"),
]


@contextmanager
def audit_engine(database_url: str | None) -> Iterator[Engine]:
    """An engine on a gateway database that holds an audit log, or exit 2 saying why there is none."""
    url = database_url or GatewaySettings().resolved_database_url
    shown = make_url(url).render_as_string(hide_password=True)
    parsed = make_url(url)
    # make_engine would create a missing SQLite file: a typo must not leave an empty database behind.
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        console.print(f"[red]no database at {escape(shown)}[/] (run `czt run` first, or pass --database-url)")
        raise typer.Exit(2)
    engine = make_engine(url)
    try:
        tables = inspect(engine)
        if not (tables.has_table(AuditEntry.__tablename__) and tables.has_table(AuditHead.__tablename__)):
            console.print(f"[red]no audit log in {escape(shown)}[/] (the gateway creates it when it starts)")
            raise typer.Exit(2)
        yield engine
    finally:
        engine.dispose()


@audit_app.command()
def verify(database_url: DatabaseUrl = None) -> None:
    """Walk the chain; exit 0 when intact, or name the first broken entry and exit 1."""
    with audit_engine(database_url) as engine:
        report = audit_service.verify_chain(engine)
    if report.valid:
        head = (report.head_hash or "")[:12]
        console.print(f"[green]audit chain intact:[/] {report.entries} entries, head {head}")
        return
    where = "" if report.first_broken is None else f" at entry {report.first_broken}"
    console.print(f"[red]audit chain BROKEN{where}:[/] {escape(report.reason or 'unknown reason')}")
    console.print(f"{report.entries} entries verified before the break; head names entry {report.head_seq}")
    raise typer.Exit(1)


@audit_app.command()
def show(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many of the latest entries")] = 20,
    database_url: DatabaseUrl = None,
) -> None:
    """The latest entries, newest first (subjects appear as pseudonyms, never ID numbers)."""
    with audit_engine(database_url) as engine, Session(engine) as session:
        page = audit_service.list_entries(session, limit=limit, before=None)
    table = Table(title=f"audit log: latest {len(page.entries)} entries")
    table.add_column("seq", justify="right", no_wrap=True)
    table.add_column("at (UTC)", no_wrap=True)
    for column in ("service", "requester", "subject", "cities", "purpose", "outcome", "hash"):
        table.add_column(column)
    for entry in page.entries:
        requester = f"{entry.requester_kind} {entry.user}"
        if entry.requester_city:
            requester += f" ({entry.requester_city})"
        table.add_row(
            str(entry.seq),
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.service,
            escape(requester),
            entry.subject or "-",
            " ".join(entry.cities),
            escape(entry.purpose),
            entry.outcome,
            entry.hash[:12],
        )
    console.print(table)
