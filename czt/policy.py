"""``czt policy``: check a policy file, or show its rules, without starting anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from czt.policy_files import load_or_exit
from czt.replay import replay
from czt.workload import DEFAULT_REQUESTS, DEFAULT_SEED
from governance.engine import compile_policy
from governance.lab.diff import diff as policy_diff
from governance.lab.report import render_html
from governance.lab.simulate import Flow, Simulation, count_jsonl, count_signatures
from governance.lab.simulate import simulate as run_simulation
from governance.lab.workload import DEFAULT_MIX, generate, load_mix

policy_app = typer.Typer(
    help="Data-sharing policies (policies/*.yaml): check, show, and the policy lab — simulate, diff, replay.",
    no_args_is_help=True,
)
console = Console()

PolicyArg = Annotated[str, typer.Argument(help="A shipped policy's name (default, strict, open) or a YAML path")]


@policy_app.command()
def check(policies: Annotated[list[str], typer.Argument(help="Policy names or YAML paths")]) -> None:
    """Validate policy files: every problem with its file, line and rule id; exit 1 if any is broken."""
    broken = 0
    for name in policies:
        try:
            policy = load_or_exit(name)
        except typer.Exit:
            broken += 1
            continue
        console.print(f"[green]✓[/] {policy.source}: {policy.version}, {len(policy.rules)} rules — {policy.title}")
    if broken:
        raise typer.Exit(1)


@policy_app.command()
def show(policy: PolicyArg = "default") -> None:
    """The policy's rules in the order they are applied: who, what, why, which fields, masks, consent."""
    loaded = load_or_exit(policy)
    console.print(f"[bold]{loaded.title}[/] ({loaded.version}) — {loaded.description}")
    table = Table(show_lines=True)
    for column in ("rule", "requester", "categories", "purposes", "released", "consent / delay"):
        table.add_column(column)
    for rule in loaded.rules:
        requester = ", ".join(f"{k}={v}" for k, v in rule.requester.model_dump(exclude_none=True).items()) or "anyone"
        if rule.effect == "deny":
            released = "[red]deny[/]"
        else:
            released = "\n".join(
                f"{c}: {', '.join(rule.fields[c]) or '—'}" + ("".join(f"; {f}~{m}" for f, m in rule.masks[c].items()))
                for c in rule.categories
            )
        extra = ("consent required" if rule.consent_required else "") + (
            f"\nshown after {rule.disclose_after_days} d" if rule.disclose_after_days else ""
        )
        table.add_row(
            f"{rule.id}\n[dim]{rule.description}[/]",
            requester,
            "\n".join(rule.categories),
            "\n".join(p.value for p in rule.purposes),
            released,
            extra.strip(),
        )
    console.print(table)


@policy_app.command()
def simulate(
    policies: Annotated[
        list[str], typer.Option("--policy", "-p", help="A policy to compare (name or YAML path); repeat it")
    ],
    workload: Annotated[
        Path | None,
        typer.Option(help="A trace from `czt workload generate`; default: the default mix, 10,000 requests, seed 2026"),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Also write a self-contained HTML report here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON instead of tables")] = False,
) -> None:
    """Replay a workload through each policy: services finished online, refusals, consent prompts, privacy
    exposure, over-sharing and the flow matrix, side by side."""
    compiled = [compile_policy(load_or_exit(name)) for name in policies]
    if workload is None:
        signatures, mix = count_signatures(
            generate(load_mix(DEFAULT_MIX), requests=DEFAULT_REQUESTS, seed=DEFAULT_SEED)
        )
        source = f"default mix ({DEFAULT_MIX.name}), {DEFAULT_REQUESTS:,} requests, seed {DEFAULT_SEED}"
    else:
        try:
            signatures, mix = count_jsonl(workload)
        except (OSError, ValueError) as exc:
            console.print(f"[red]workload {workload} cannot be read:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None
        source = str(workload)
    result = run_simulation(compiled, signatures, mix, workload=source)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_html(result), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    _print_simulation(result)
    if report is not None:
        console.print(f"report: {report}")


def _print_simulation(result: Simulation) -> None:
    console.print(f"[bold]workload[/]: {result.workload} — {result.requests:,} requests")
    names = [p.policy for p in result.policies]
    summary = Table(title="每项政策的结果 What each policy does", show_lines=False)
    summary.add_column("")
    for name in names:
        summary.add_column(name, justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("在线办结率 finished online (incl. after consent)", [f"{p.completion:.1%}" for p in result.policies]),
        ("  online at once", [f"{p.online:,}" for p in result.policies]),
        ("  online after a consent prompt", [f"{p.with_consent:,}" for p in result.policies]),
        ("  in person (跑腿)", [f"{p.in_person:,}" for p in result.policies]),
        ("privacy exposure per request", [f"{p.exposure_per_request:.1f}" for p in result.policies]),
        ("sensitive fields released (clear)", [f"{p.sensitive_fields_released:,}" for p in result.policies]),
        ("over-shared fields", [f"{p.oversharing_fields:,}" for p in result.policies]),
    ]
    for label, values in rows:
        summary.add_row(label, *values)
    console.print(summary)

    services = Table(title="在线办结率 by service (online + after consent)")
    services.add_column("service")
    for name in names:
        services.add_column(name, justify="right")
    by_service = [{s.service: s for s in p.services} for p in result.policies]
    for service in sorted({s for table in by_service for s in table}):
        services.add_row(
            service,
            *[f"{t[service].completion:.1%}" if service in t else "—" for t in by_service],
        )
    console.print(services)

    denials = Table(title="Refusals by reason and by rule (categories that stopped a request)")
    denials.add_column("reason / rule")
    for name in names:
        denials.add_column(name, justify="right")
    reasons = sorted({r for p in result.policies for r in p.denials_by_reason})
    for reason in reasons:
        denials.add_row(reason, *[f"{p.denials_by_reason.get(reason, 0):,}" for p in result.policies])
    for rule in sorted({r for p in result.policies for r in p.denials_by_rule}):
        denials.add_row(f"  rule {rule}", *[f"{p.denials_by_rule.get(rule, 0):,}" for p in result.policies])
    console.print(denials)

    flows = Table(title="Flow matrix: category instances released, from city → to requester")
    flows.add_column("from → to")
    for name in names:
        flows.add_column(name, justify="right")
    totals = [_sum_flows(p.flows) for p in result.policies]
    for key in sorted({k for t in totals for k in t}):
        flows.add_row(f"{key[0]} → {key[1]}", *[f"{t.get(key, 0):,}" for t in totals])
    console.print(flows)


def _sum_flows(flows: list[Flow]) -> dict[tuple[str, str], int]:
    sums: dict[tuple[str, str], int] = {}
    for flow in flows:
        sums[(flow.from_city, flow.to)] = sums.get((flow.from_city, flow.to), 0) + flow.count
    return sums


@policy_app.command("diff")
def diff_command(
    a: PolicyArg,
    b: PolicyArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the differences as JSON")] = False,
    most: Annotated[int, typer.Option(help="Combinations listed per group (0: all)")] = 0,
) -> None:
    """Every requester × city × purpose × category × consent combination on which A and B decide differently
    (released or not, fields, masks), grouped by what changes, each combination listed."""
    result = policy_diff(compile_policy(load_or_exit(a)), compile_policy(load_or_exit(b)))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    console.print(
        f"[bold]{result.a}[/] → [bold]{result.b}[/]: {result.differing:,} of {result.space:,} combinations differ, "
        f"in {len(result.groups)} groups"
    )
    for number, group in enumerate(result.groups, start=1):
        table = Table(
            title=f"{number}. {group.category}: {group.change} ({group.count})",
            caption=f"A: {group.a}\nB: {group.b}",
            title_justify="left",
            caption_justify="left",
        )
        table.add_column("requester")
        table.add_column("purpose")
        table.add_column("consent")
        shown = group.combinations if most <= 0 else group.combinations[:most]
        for combination in shown:
            table.add_row(combination.requester, combination.purpose, "yes" if combination.consent else "no")
        if len(shown) < group.count:
            table.add_row(f"… {group.count - len(shown)} more", "", "")
        console.print(table)


policy_app.command()(replay)
