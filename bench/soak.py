"""Memory under a long run: rushes of logins and mixed traffic against a running stack, every process's memory read
after each cycle.

``python -m bench.soak [--data-dir var] [--minutes 10] [--concurrency 16] [--rush 32] [--json out.json]`` against
the stack ``make run`` (``czt run``) started on ``--data-dir``. Each cycle logs ``--rush`` residents in at once (a
login is a 16 MiB scrypt hash: docs/performance.md, *Memory*), then runs ``--concurrency`` workers for
``--cycle-seconds`` sending what the portal sends — record lookups mostly, ``/v1/auth/me``, the health check and a
local document — as the residents just logged in. After each cycle it prints every answer's status so far and the
resident memory (``VmRSS``) of every uvicorn process of the stack; at the end, each process's peak and how much it
grew over the second half of the run, against issue 8's target of 300 MB a process, and it writes
``bench/results/soak-<date>.json``.

The benchmark's own memory figure (``make bench``) is a peak over a fresh stack's few minutes; this is the long run
that says whether anything keeps growing. A benchmark, not a test: the exit code is 1 only when requests failed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from bench.exchange import _ids
from bench.policy_lab import machine, results_path
from mock_cities.personas import DEMO_RESIDENT_PASSWORD

TARGET_RSS_MB = 300
PATHS = ["/v1/me/records"] * 8 + ["/v1/auth/me", "/v1/health", "/v1/me/records/430100/local"]
"""What a worker sends, drawn at random: mostly lookups, as the portal's traffic is."""
ANSWERED = frozenset({200, 404})
"""Statuses that are answers: a local document of a resident 长沙 does not know is a 404."""


def stack_rss_mb() -> dict[str, float]:
    """``VmRSS`` of every uvicorn process on this machine, by what it serves (``gateway`` or ``city:<port>``)."""
    found: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            status = (proc / "status").read_text()
        except OSError:
            continue  # gone meanwhile
        words = [word.decode(errors="replace") for word in argv]
        if "uvicorn" not in words:
            continue
        name = "gateway" if any("gateway.app" in word for word in words) else f"city:{_port(words)}"
        rss = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), "0")
        found[name] = int(rss) / 1024
    return dict(sorted(found.items()))


def _port(words: list[str]) -> str:
    return words[words.index("--port") + 1] if "--port" in words[:-1] else "?"


async def soak(args: argparse.Namespace, residents: list[str], console: Console) -> dict[str, Any]:
    rng = random.Random(args.seed)  # noqa: S311 - a sample, not a secret
    answers: dict[int, int] = {}
    cycles: list[dict[str, Any]] = []
    started = time.monotonic()
    end = started + args.minutes * 60
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.rush + args.concurrency)) as session:

        async def login(id_number: str) -> str | None:
            form = {"grant_type": "password", "username": id_number, "password": DEMO_RESIDENT_PASSWORD}
            async with session.post(f"{args.gateway}/v1/auth/token", data=form) as answer:
                answers[answer.status] = answers.get(answer.status, 0) + 1
                return str((await answer.json())["access_token"]) if answer.status == 200 else None

        async def worker(tokens: list[str], until: float) -> None:
            while time.monotonic() < until:
                headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
                async with session.get(args.gateway + rng.choice(PATHS), headers=headers) as answer:
                    await answer.read()
                    answers[answer.status] = answers.get(answer.status, 0) + 1

        while time.monotonic() < end:
            rush = rng.sample(residents, min(args.rush, len(residents)))
            tokens = [token for token in await asyncio.gather(*map(login, rush)) if token]
            if not tokens:
                raise SystemExit("no resident could log in: is the stack running on --data-dir?")
            until = time.monotonic() + args.cycle_seconds
            await asyncio.gather(*(worker(tokens, until) for _ in range(args.concurrency)))
            seconds, rss = round(time.monotonic() - started), stack_rss_mb()
            cycles.append({"seconds": seconds, "answers": dict(answers), "rss_mb": rss})
            memory = ", ".join(f"{name} {mb:.0f} MB" for name, mb in rss.items())
            console.print(f"cycle {len(cycles)} at {seconds} s: answers {answers}; {memory}")
    return {"answers": answers, "cycles": cycles}


def summary(cycles: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each process's peak, and its growth from the middle cycle to the last."""
    middle, last = cycles[len(cycles) // 2]["rss_mb"], cycles[-1]["rss_mb"]
    return {
        name: {
            "peak_mb": max(cycle["rss_mb"].get(name, 0.0) for cycle in cycles),
            "second_half_growth_mb": mb - middle.get(name, mb),
        }
        for name, mb in last.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8000", help="the running gateway")
    parser.add_argument("--data-dir", type=Path, default=Path("var"), help="the stack's folder (its residents)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cycle-seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16, help="workers sending requests")
    parser.add_argument("--rush", type=int, default=32, help="residents logging in at once, every cycle")
    parser.add_argument("--residents", type=int, default=200, help="residents to draw the rushes from")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, help="results file (default bench/results/soak-<date>.json)")
    args = parser.parse_args(argv)

    console = Console()
    started = dt.datetime.now(dt.UTC)
    residents = _ids(args.data_dir, args.residents)
    run = asyncio.run(soak(args, residents, console))
    processes = summary(run["cycles"])
    table = Table(title="Memory over the soak")
    for column in ("process", "peak MB", "growth over the second half, MB", "target"):
        table.add_column(column)
    for name, figures in processes.items():
        met = "met" if figures["peak_mb"] < TARGET_RSS_MB else "not met"
        table.add_row(name, f"{figures['peak_mb']:.0f}", f"{figures['second_half_growth_mb']:+.0f}", f"< 300 ({met})")
    console.print(table)
    failed = sum(count for status, count in run["answers"].items() if status not in ANSWERED)
    console.print(f"{sum(run['answers'].values()):,} answers, {failed:,} not 200/404 (logins included)")
    results = {"started": started.isoformat(), "machine": machine(), "args": vars(args), "processes": processes, **run}
    path = args.json or results_path("soak", started)
    path.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False) + "\n")
    console.print(f"Results: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
