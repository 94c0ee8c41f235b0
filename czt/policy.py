"""``czt policy``: check a policy file, or show its rules, without starting anything."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.settings import policy_path
from governance.policy import Policy, PolicyError, load_policy

policy_app = typer.Typer(help="Data-sharing policies (policies/*.yaml): check and show.", no_args_is_help=True)
console = Console()

PolicyArg = Annotated[str, typer.Argument(help="A shipped policy's name (default, strict, open) or a YAML path")]


def _load(name: str) -> Policy:
    try:
        return load_policy(policy_path(name))
    except PolicyError as exc:
        console.print(f"[red]✗ {name}: {len(exc.problems)} problem(s)[/]")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None


@policy_app.command()
def check(policies: Annotated[list[str], typer.Argument(help="Policy names or YAML paths")]) -> None:
    """Validate policy files: every problem with its file, line and rule id; exit 1 if any is broken."""
    broken = 0
    for name in policies:
        try:
            policy = _load(name)
        except typer.Exit:
            broken += 1
            continue
        console.print(f"[green]✓[/] {policy.source}: {policy.version}, {len(policy.rules)} rules — {policy.title}")
    if broken:
        raise typer.Exit(1)


@policy_app.command()
def show(policy: PolicyArg = "default") -> None:
    """The policy's rules in the order they are applied: who, what, why, which fields, masks, consent."""
    loaded = _load(policy)
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
