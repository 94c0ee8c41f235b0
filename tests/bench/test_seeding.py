"""bench/seeding.py's memory figure: the seeding process's own peak, whatever started it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.seeding import peak_rss_mb

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_a_process_started_by_a_larger_one_reports_its_own_peak() -> None:
    # make bench starts the seeding from its load generator, which is larger than the seeding; Linux carries
    # ru_maxrss over the exec, so the seeding used to report the load generator's size as its own.
    ballast = b"\1" * (256 * 1024 * 1024)  # resident: every page written
    parent = peak_rss_mb()
    child = subprocess.run(
        [sys.executable, "-c", "from bench.seeding import peak_rss_mb; print(peak_rss_mb())"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(ballast) > 0
    assert parent >= 256
    assert float(child.stdout) < parent - 128, f"the child reported {child.stdout.strip()} MB, its parent {parent}"
