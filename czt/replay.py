"""``czt policy replay``: the decisions in the gateway's audit log, decided again under a candidate policy.

Registered on the ``czt policy`` sub-app; it reads the gateway's database directly, so nothing has to run.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import Session

from czt.audit import audit_engine  # the same "no database / no audit log: exit 2" as czt audit
from czt.policy_files import load_or_exit
from gateway.policy.replay import ReplayReport, replay_log
from governance.engine import compile_policy

console = Console()
_FIELDS_SHOWN = 6


def replay(
    candidate: Annotated[
        str, typer.Option(help="The candidate policy: a shipped policy's name (default, strict, open) or a YAML path")
    ],
    database_url: Annotated[
        str | None,
        typer.Option(help="The gateway's database; default CZT_GATEWAY_DATABASE_URL, or var/gateway.db"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (the whole report)")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Replay only the most recent N entries")] = None,
    show: Annotated[int, typer.Option(min=0, help="How many changed entries to list, oldest first (--json too)")] = 20,
) -> None:
    """Re-evaluate the decisions on record under a candidate policy and report what would have changed."""
    policy = load_or_exit(candidate)
    with audit_engine(database_url) as engine, Session(engine) as session:
        report = replay_log(session=session, candidate=compile_policy(policy), limit=limit, keep=show)
    if report.entries_read == 0:
        console.print("[red]the audit log is empty:[/] no decisions to replay")
        raise typer.Exit(2)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        return
    _print(report, show=show)


def _print(report: ReplayReport, *, show: int) -> None:
    summary = Table(title=f"replay under {report.candidate}", show_header=False)
    summary.add_column("", style="bold")
    summary.add_column("", justify="right")
    span = "" if report.first_seq is None else f" (seq {report.first_seq}–{report.last_seq})"
    summary.add_row("entries read" + span, str(report.entries_read))
    summary.add_row("re-evaluated", str(report.reevaluated))
    for reason, count in report.skipped.items():
        summary.add_row(f"skipped: {escape(reason)}", str(count))
    summary.add_row("unchanged", str(report.unchanged))
    summary.add_row("[yellow]changed[/]", f"[yellow]{report.changed}[/]")
    summary.add_row("  refused only for want of consent", str(report.consent_only))
    summary.add_row("residents affected", str(report.residents_affected))
    summary.add_row("decided on record by", escape(", ".join(f"{p} ×{n}" for p, n in report.recorded_policies.items())))
    console.print(summary)
    if not report.changed:
        console.print(f"[green]{report.candidate} would have decided every re-evaluated entry the same way[/]")
        return

    transitions = Table(title="outcome transitions")
    transitions.add_column("recorded → candidate")
    transitions.add_column("entries", justify="right")
    for transition, count in report.transitions.items():
        before, after = transition.split("→")
        transitions.add_row(f"{before} → {after}" + (" (fields)" if before == after else ""), str(count))
    services = Table(title="by service")
    for column in ("service", "changed", "re-evaluated"):
        services.add_column(column, justify="left" if column == "service" else "right")
    for service, tally in report.by_service.items():
        if tally.changed:
            services.add_row(service, str(tally.changed), str(tally.reevaluated))
    rules = Table(title="candidate's deciding rules")
    rules.add_column("rule")
    rules.add_column("entries", justify="right")
    for rule, count in report.by_rule.items():
        rules.add_row(escape(rule), str(count))
    console.print(transitions, services, rules)

    fields = Table(title="top field changes (entries)")
    for column in ("newly released", "n", "no longer released", "n"):
        fields.add_column(column, justify="right" if column == "n" else "left")
    gained, lost = list(report.fields_added.items())[:10], list(report.fields_removed.items())[:10]
    for index in range(max(len(gained), len(lost))):
        plus = gained[index] if index < len(gained) else ("", 0)
        minus = lost[index] if index < len(lost) else ("", 0)
        fields.add_row(plus[0], str(plus[1] or ""), minus[0], str(minus[1] or ""))
    console.print(fields)

    if show:
        entries = Table(title=f"changed entries: the first {len(report.changed_entries)} of {report.changed}")
        entries.add_column("seq", justify="right")
        for column in ("exchange", "recorded → candidate", "fields"):
            entries.add_column(column, overflow="fold")
        for entry in report.changed_entries:
            changes = [f"[green]+{escape(f)}[/]" for f in entry.fields_added]
            changes += [f"[red]-{escape(f)}[/]" for f in entry.fields_removed]
            if len(changes) > _FIELDS_SHOWN:  # the whole list is in --json
                changes = [*changes[: _FIELDS_SHOWN - 1], f"… {len(changes) - _FIELDS_SHOWN + 1} more"]
            outcome = f"{entry.recorded_outcome} → [bold]{entry.candidate_outcome}[/]"
            if entry.candidate_reason:
                outcome += f"\n[dim]{escape(entry.candidate_reason)}[/]"
            entries.add_row(
                str(entry.seq),
                f"{entry.at:%Y-%m-%d %H:%M:%S}\n{entry.service} · {escape(entry.purpose)}\n{escape(entry.requester)}",
                outcome,
                "\n".join(changes) or "—",
            )
        console.print(entries)
