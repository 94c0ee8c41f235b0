"""``czt workload``: generate a deterministic trace of service requests for the policy lab."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from governance.lab.workload import DEFAULT_MIX, Mix, WorkloadRequest, generate, load_mix, write_jsonl

workload_app = typer.Typer(help="Workloads for the policy lab: traces of service requests (JSONL).")
console = Console()

DEFAULT_REQUESTS = 10_000
DEFAULT_SEED = 2026


def mix_or_exit(path: Path) -> Mix:
    try:
        return load_mix(path)
    except (OSError, ValidationError, ValueError) as exc:
        console.print(f"[red]mix {path} cannot be used:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from None


@workload_app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the trace (JSONL)")] = Path(
        "var/workload.jsonl"
    ),
    requests: Annotated[int, typer.Option("--requests", "-n", min=1, help="How many requests")] = DEFAULT_REQUESTS,
    seed: Annotated[int, typer.Option(help="The same seed gives the same trace")] = DEFAULT_SEED,
    mix: Annotated[Path, typer.Option(help="The mix (YAML); see workloads/default-mix.yaml")] = DEFAULT_MIX,
) -> None:
    """Write a realistic, deterministic trace: who asks, for which service and purpose, which categories from
    which cities, and whether the resident has consented."""
    composition = mix_or_exit(mix)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()

    def counted() -> Iterator[WorkloadRequest]:
        for request in generate(composition, requests=requests, seed=seed):
            counts[request.mix] += 1
            yield request

    written = write_jsonl(counted(), out)
    table = Table(title=f"{out}: {written:,} requests (mix {mix.name}, seed {seed})")
    table.add_column("mix entry")
    table.add_column("requests", justify="right")
    table.add_column("share", justify="right")
    for name, count in counts.most_common():
        table.add_row(name, f"{count:,}", f"{count / written:.1%}")
    console.print(table)
