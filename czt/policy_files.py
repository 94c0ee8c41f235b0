"""Loading a policy for a command: every problem with its file, line and rule, then exit 1."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from gateway.settings import policy_path
from governance.policy import Policy, PolicyError, load_policy

console = Console()


def load_or_exit(name: str) -> Policy:
    """The policy named (a shipped name or a YAML path); on a broken one, its problems and exit code 1."""
    try:
        return load_policy(policy_path(name))
    except PolicyError as exc:
        console.print(f"[red]✗ {escape(name)}: {len(exc.problems)} problem(s)[/]")
        for problem in exc.problems:
            console.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None
