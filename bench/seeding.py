"""Seeding speed: persons written per second into each city's SQLite file, and the gateway's accounts.

``python -m bench.seeding [--residents N] [--seed S] [--data-dir DIR] [--json out.json]`` seeds every built-in
city in turn into fresh files (a temporary folder unless ``--data-dir`` names an empty one), timing each
:func:`~czt.seeding.seed_target` call alone, then prints persons per second per city and the process's peak
resident memory. Issue 8's target is 20,000 persons per second per city and under 300 MB.

A city holds more persons than ``residents_per_city``: the residents who moved there and left count too.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from czt.seeding import local_targets, seed_target
from czt.settings import SeedSettings
from mock_cities.population import build_population
from mock_cities.profiles import load_profile

TARGET_PER_S = 20_000
TARGET_RSS_MB = 300


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """This process's peak resident set so far, or (``RUSAGE_CHILDREN``) the largest of its finished workers'.

    Linux reports ``ru_maxrss`` in KiB.
    """
    return resource.getrusage(who).ru_maxrss / 1024


def measure_seeding(data_dir: Path, residents_per_city: int, seed: int) -> dict[str, dict[str, Any]]:
    """Seed every built-in city, then the gateway, into fresh files under ``data_dir``; time each one.

    Returns, per city slug and for ``"gateway"``: ``residents`` (persons written), ``seconds``, ``per_s`` and
    ``peak_rss_mb`` (this process's peak so far, so it only grows from one target to the next; worker processes
    that generate the records of large populations are not counted, ``main`` prints their peak).
    """
    settings = SeedSettings(seed=seed, residents_per_city=residents_per_city)
    profiles = [load_profile(ref) for ref in settings.profiles]
    population = build_population(seed=seed, residents_per_city=residents_per_city, cities=profiles)
    results: dict[str, dict[str, Any]] = {}
    for target in local_targets(data_dir, profiles):
        if Path(target.database_url.removeprefix("sqlite:///")).exists():
            raise FileExistsError(f"{target.database_url} exists: measure into an empty folder")
        started = time.perf_counter()
        written = seed_target(target, population=population, replace=False) or 0
        seconds = time.perf_counter() - started
        results[target.name] = {
            "residents": written,
            "seconds": round(seconds, 3),
            "per_s": round(written / seconds) if seconds > 0 else 0,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seeding", description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=20_000, help="residents per city (default 20000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--data-dir", type=Path, help="an empty folder to seed into (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    if args.data_dir is not None:
        results = measure_seeding(args.data_dir, args.residents, args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="czt-seed-bench-") as folder:
            results = measure_seeding(Path(folder), args.residents, args.seed)

    print(f"{'target':<10} {'persons':>9} {'seconds':>9} {'per s':>9} {'peak RSS MB':>12}")
    for name, row in results.items():
        print(f"{name:<10} {row['residents']:>9} {row['seconds']:>9.2f} {row['per_s']:>9} {row['peak_rss_mb']:>12.1f}")
    cities = [row for name, row in results.items() if name != "gateway"]
    slowest = min(row["per_s"] for row in cities) if cities else 0
    peak, workers = peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN)
    print(f"slowest city {slowest}/s (target {TARGET_PER_S}/s)")
    print(f"peak RSS {peak:.0f} MB, largest worker {workers:.0f} MB (target < {TARGET_RSS_MB} MB each)")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
