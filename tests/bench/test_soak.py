"""The soak's reading of memory (``bench/soak.py``): which processes it finds, and what it makes of the cycles."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import soak


def _cycle(seconds: int, **rss_mb: float) -> dict[str, object]:
    return {"seconds": seconds, "answers": {200: seconds}, "rss_mb": rss_mb}


def test_the_summary_gives_each_process_its_peak_and_its_growth_over_the_second_half() -> None:
    cycles = [
        _cycle(20, gateway=150.0, city=130.0),
        _cycle(40, gateway=190.0, city=131.0),
        _cycle(60, gateway=170.0, city=132.0),  # the middle cycle
        _cycle(80, gateway=175.0, city=140.0),
        _cycle(100, gateway=180.0, city=138.0),
    ]

    assert soak.summary(cycles) == {
        "gateway": {"peak_mb": 190.0, "second_half_growth_mb": 10.0},
        "city": {"peak_mb": 140.0, "second_half_growth_mb": 6.0},
    }


@pytest.fixture
def a_uvicorn_lookalike(tmp_path: Path) -> Iterator[int]:
    """A process whose command line reads like a city's: ``… uvicorn … --port 8765`` (Popen returns once it has
    exec'd, so the command line is already the new one)."""
    script = tmp_path / "uvicorn"
    script.write_text("import time\ntime.sleep(60)\n")
    process = subprocess.Popen([sys.executable, str(script), "uvicorn", "--port", "8765"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_every_uvicorn_process_is_found_by_what_it_serves(a_uvicorn_lookalike: int) -> None:
    found = soak.stack_rss_mb()

    assert found["city:8765"] > 0
    assert "gateway" not in found or found["gateway"] > 0
