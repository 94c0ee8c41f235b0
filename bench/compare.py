"""The exchange benchmark's runs side by side: one row per results file, every judged figure against its target.

``python -m bench.compare [FILE ...] [--vm BUILD] [--markdown]`` (``make bench-compare``)

Each ``make bench`` writes ``bench/results/exchange-<date>.json``; this reads them back (by default every one in
``bench/results/``, oldest first) and prints, per run: when it started, on which VM (the kernel build, which tells
this workplace's VMs apart), the machine's speed at its start (``calibration_ms``, lower is faster) and its load,
then the judged figures — fan-out, overhead, throughput, audit, scale, seeding, memory — each marked when it misses
its target, and two readings beside them: the bare FastAPI fan-out and the gateway's CPU per lookup. A figure a run
did not measure (``--no-scale`` skips scale and seeding; older runs lack the readings) shows as ``—``. Absolute
times compare only between runs on the same VM (docs/performance.md, *Two VMs, one code*): ``--vm`` keeps those.
``--markdown`` prints the same as a Markdown table, for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from bench.policy_lab import RESULTS


@dataclass(frozen=True)
class Column:
    """One figure of a results file, found by how its name starts (the names have been stable since the first run)."""

    title: str
    prefix: str
    format: Callable[[float], str]
    judged: bool = True
    target: str | None = None
    """The target as the table states it, where the file's own (``= <entries>``) differs from run to run."""


def _ratio(value: float) -> str:
    return f"{value:.2f}"


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def _whole(value: float) -> str:
    return f"{value:,.0f}"


def _mb(value: float) -> str:
    return f"{value:.0f} MB"


def _ms_1(value: float) -> str:
    return f"{value:.1f} ms"


COLUMNS = (
    Column("fan-out ×", "fan-out:", _ratio),
    Column("bare fan-out ×", "  a bare FastAPI fan-out (no auth, policy, audit or checks) ÷", _ratio, judged=False),
    Column("overhead", "overhead:", _ms),
    Column("gateway CPU/lookup", "  CPU per lookup, the gateway's", _ms_1, judged=False),
    Column("throughput ×", "throughput:", _ratio),
    Column("audited", "every lookup audited", _whole, target="all, chain verifies"),
    Column("scale ×", "scale:", _ratio),
    Column("seeding /s/city", "seeding", _whole),
    Column("memory", "peak resident memory", _mb),
)

MISSING = "—"


class NotAResultsFile(ValueError):
    """A file that is not the exchange benchmark's results (not JSON, or without its figures)."""


@dataclass(frozen=True)
class Cell:
    """One figure of one run: its value as printed, and whether it met its target (None: a reading, or not measured)."""

    text: str
    met: bool | None = None


@dataclass(frozen=True)
class RunRow:
    """One results file, as the table shows it."""

    name: str
    started: str
    vm: str
    calibration_ms: float | None
    load: float | None
    cells: tuple[Cell, ...]
    targets: tuple[str, ...]


def vm_of(platform: str) -> str:
    """The kernel build in ``platform`` (``…-6.18.44-fc-v595-x86_64-…`` → ``fc-v595``), else the whole string."""
    build = re.search(r"fc-v\d+", platform)
    return build.group(0) if build else platform


def read_run(path: Path) -> RunRow:
    """One results file as a row; :class:`NotAResultsFile` naming the file and what is wrong with it."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotAResultsFile(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(results, dict) or not isinstance(results.get("figures"), list):
        raise NotAResultsFile(f"{path}: no 'figures' list: not the exchange benchmark's results")
    figures = [figure for figure in results["figures"] if isinstance(figure, dict) and "name" in figure]
    machine: dict[str, Any] = results["machine"] if isinstance(results.get("machine"), dict) else {}
    load = machine.get("load_average_before")
    cells, targets = [], []
    for column in COLUMNS:
        figure = next((f for f in figures if str(f["name"]).startswith(column.prefix)), None)
        value = None if figure is None else figure.get("value")
        if not isinstance(value, int | float):
            cells.append(Cell(MISSING))
            targets.append("")
            continue
        assert figure is not None
        met = figure.get("met") if column.judged else None
        cells.append(Cell(column.format(value), met if isinstance(met, bool) else None))
        targets.append((column.target or str(figure.get("target", ""))) if column.judged else "(reading)")
    return RunRow(
        name=path.stem.removeprefix("exchange-"),
        started=str(results.get("started", ""))[:16].replace("T", " "),
        vm=vm_of(str(machine.get("platform", ""))),
        calibration_ms=_float(machine.get("calibration_ms")),
        load=_float(load[0]) if isinstance(load, list) and load else None,
        cells=tuple(cells),
        targets=tuple(targets),
    )


def _float(value: Any) -> float | None:
    """A number of the file as it is, None when it is missing or not a number."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def read_runs(paths: Sequence[Path]) -> list[RunRow]:
    """Every file's row, oldest run first."""
    return sorted((read_run(path) for path in paths), key=lambda row: row.started)


def targets_of(rows: Sequence[RunRow]) -> list[str]:
    """Each column's target, from the newest of ``rows`` that measured it (a judged figure's target never changed)."""
    targets = ["" if column.judged else "(reading)" for column in COLUMNS]
    for row in rows:
        for i, target in enumerate(row.targets):
            if target:
                targets[i] = target
    return targets


def _number(value: float | None, digits: int) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def _mark(cell: Cell) -> str:
    """A cell's text, marked ✗ when it missed its target."""
    return f"{cell.text} ✗" if cell.met is False else cell.text


def table(rows: Sequence[RunRow], targets: Sequence[str]) -> Table:
    """The runs as a rich table: a row per run (named by when it started), the targets in the last row, misses in
    red."""
    result = Table(
        title="CZT exchange benchmark, run by run",
        caption=(
            "✗: misses its target; —: not measured in that run; calibration: ms of fixed CPython work (lower is faster)"
        ),
        box=box.SIMPLE_HEAD,
    )
    for title in ("started (UTC)", "VM", "calibration", "load"):
        result.add_column(title, no_wrap=True)
    for column in COLUMNS:
        result.add_column(column.title, justify="right", style=None if column.judged else "dim")
    for row in rows:
        result.add_row(
            row.started,
            row.vm,
            _number(row.calibration_ms, 1),
            _number(row.load, 2),
            *(f"[red]{_mark(cell)}[/red]" if cell.met is False else cell.text for cell in row.cells),
        )
    result.add_section()
    result.add_row("target", "", "", "", *targets, style="bold")
    return result


def markdown(rows: Sequence[RunRow], targets: Sequence[str]) -> str:
    """The same table in Markdown, each run named by its file too."""
    header = ["run", "started (UTC)", "VM", "calibration ms", "load", *(column.title for column in COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        cells = [_mark(cell) for cell in row.cells]
        values = [row.name, row.started, f"`{row.vm}`", _number(row.calibration_ms, 1), _number(row.load, 2)]
        lines.append("| " + " | ".join([*values, *cells]) + " |")
    lines.append("| " + " | ".join(["target", "", "", "", "", *targets]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help=f"results files (default: every {RESULTS}/exchange-*.json)")
    parser.add_argument("--vm", help="only runs on this kernel build (e.g. fc-v595): absolute times compare only there")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table instead")
    args = parser.parse_args(argv)
    paths = args.files or sorted(RESULTS.glob("exchange-*.json"))
    if not paths:
        print(f"no results to compare: run `make bench` first (it writes {RESULTS}/exchange-<date>.json)")
        return 1
    try:
        every_run = read_runs(paths)
    except NotAResultsFile as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    targets = targets_of(every_run)
    rows = every_run if args.vm is None else [row for row in every_run if row.vm == args.vm]
    if not rows:
        print(f"no run on VM {args.vm} among {len(paths)} results files")
        return 1
    if args.markdown:
        print(markdown(rows, targets))
    else:
        Console(width=max(200, Console().width)).print(table(rows, targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
