"""Seeding speed: persons written per second into each city's SQLite file, and the gateway's accounts.

``python -m bench.seeding [--residents N] [--seed S] [--data-dir DIR] [--json out.json]`` seeds every built-in
city in turn into fresh files (a temporary folder unless ``--data-dir`` names an empty one), timing each
:func:`~czt.seeding.seed_target` call alone, then prints persons per second per city and the peak resident
memory of this process and of the largest worker process. Issue 8's target is 20,000 persons per second per city
and under 300 MB per process.

A city holds more persons than ``residents_per_city``: the residents who moved there and left count too. From
100,000 generated residents, a worker process generates the blocks' rows while the seeding process writes them
(:data:`mock_cities.seed.PARALLEL_FROM`); it comes from a fork server started by the first city that uses it, so
the first city's time includes starting it (about half a second).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from czt.seeding import local_targets, seed_target
from czt.settings import SeedSettings
from mock_cities.population import build_population
from mock_cities.profiles import load_profile

TARGET_PER_S = 20_000
TARGET_RSS_MB = 300
WORKERS = "workers"
"""The ``--json`` report's row for the largest worker process's peak memory, beside one row per seeded target."""


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """This process's peak resident set so far, or (``RUSAGE_CHILDREN``) the largest of its waited-for children's.

    Its own is ``VmHWM``, the high-water mark of the memory it runs in, where Linux has it. Not ``ru_maxrss``: Linux
    carries that over from before the ``exec`` that started the process, so a seeding started by a larger process
    (``make bench``'s load generator, 186 MB) reported the parent's size, not its own (138-162 MB). A child's
    ``ru_maxrss`` carries over its parent's too, and its parent is this process: never larger than what it reports.
    Linux reports ``ru_maxrss`` and ``VmHWM`` in KiB.
    """
    if who == resource.RUSAGE_SELF:
        try:
            return vm_hwm_mb("self")
        except OSError:
            pass  # not Linux: ru_maxrss, as it comes
    return resource.getrusage(who).ru_maxrss / 1024


def vm_hwm_mb(pid: int | str) -> float:
    """``VmHWM`` of process ``pid`` (or ``"self"``), its peak resident memory so far, from ``/proc`` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class DescendantsPeak(threading.Thread):
    """The largest peak resident set (``VmHWM``) among this process's descendants, sampled while it runs (Linux).

    Seeding workers are forked by a fork server, so they are grandchildren of this process, which never waits for
    them: ``RUSAGE_CHILDREN`` does not count them. A peak reached in a worker's last ``interval`` may be missed.
    """

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_mb = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        self.sample()
        return self.peak_mb

    def sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(entry.path, "stat").read_text()
                except OSError:
                    continue  # gone meanwhile
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        for pid in parents:
            ancestor = parents.get(pid)
            while ancestor is not None and ancestor != os.getpid():
                ancestor = parents.get(ancestor)
            if ancestor is None:
                continue
            try:
                peak = vm_hwm_mb(pid)
            except OSError:
                continue  # gone meanwhile
            if not math.isnan(peak):  # a zombie has no memory, and no VmHWM
                self.peak_mb = max(self.peak_mb, peak)


def measure_seeding(data_dir: Path, residents_per_city: int, seed: int) -> dict[str, dict[str, Any]]:
    """Seed every built-in city, then the gateway, into fresh files under ``data_dir``; time each one.

    Returns, per city slug and for ``"gateway"``: ``residents`` (persons written), ``seconds``, ``per_s`` and
    ``peak_rss_mb`` (this process's peak so far, so it only grows from one target to the next; worker processes
    that generate the records of large populations are not counted, ``main`` prints the largest one's peak).
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

    workers = DescendantsPeak()
    workers.start()
    if args.data_dir is not None:
        results = measure_seeding(args.data_dir, args.residents, args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="czt-seed-bench-") as folder:
            results = measure_seeding(Path(folder), args.residents, args.seed)
    worker_peak = max(workers.stop(), peak_rss_mb(resource.RUSAGE_CHILDREN))

    print(f"{'target':<10} {'persons':>9} {'seconds':>9} {'per s':>9} {'peak RSS MB':>12}")
    for name, row in results.items():
        print(f"{name:<10} {row['residents']:>9} {row['seconds']:>9.2f} {row['per_s']:>9} {row['peak_rss_mb']:>12.1f}")
    cities = [row for name, row in results.items() if name != "gateway"]
    slowest = min(row["per_s"] for row in cities) if cities else 0
    print(f"slowest city {slowest}/s (target {TARGET_PER_S}/s)")
    print(f"peak RSS {peak_rss_mb():.0f} MB, largest worker {worker_peak:.0f} MB (target < {TARGET_RSS_MB} MB each)")
    if args.json is not None:
        report = {**results, WORKERS: {"peak_rss_mb": round(worker_peak, 1)}}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
