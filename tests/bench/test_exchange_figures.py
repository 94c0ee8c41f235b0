"""The exchange benchmark's arithmetic: each figure from the measurements of one run (``bench/exchange.py``).

The benchmark itself runs a real stack (``make bench``), not in the suite; these keep its table honest."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import pytest

from bench import policy_lab
from bench.exchange import GATEWAY, _cpu_s, figures


def _series(p50: float) -> dict[str, float]:
    return {"p50_ms": p50, "per_s": 0.0, "failed": 0}


def _exchange() -> dict[str, object]:
    return {
        "overhead": {
            "gateway": _series(30.0),
            "direct_together": _series(15.0),
            "slowest_direct_p50_ms": 9.0,
        },
        "fan_out": {
            "gateway": _series(84.0),
            "direct_together": _series(64.0),
            "slowest_direct_p50_ms": 60.0,
        },
        "throughput": {
            "gateway": {"per_s": 50.0},
            "direct": {"per_s": 125.0},
            "ratio": 0.4,
            "audit_appended": 500,
            "audit_expected": 500,
            "audit_verifies": True,
            "audit_transactions": 180,
        },
        "cpu_ms_per_call": {
            GATEWAY: {GATEWAY: 19.0, "changsha": 7.5, "zhuzhou": 7.0, "xiangtan": 7.2, "load generator": 1.0},
            "changsha": {GATEWAY: 0.0, "changsha": 8.0, "zhuzhou": 0.0, "xiangtan": 0.0, "load generator": 1.0},
            "zhuzhou": {GATEWAY: 0.0, "changsha": 0.0, "zhuzhou": 6.5, "xiangtan": 0.0, "load generator": 1.0},
            "xiangtan": {GATEWAY: 0.0, "changsha": 0.0, "zhuzhou": 0.0, "xiangtan": 7.0, "load generator": 1.0},
        },
        "peak_rss_mb": {GATEWAY: 160.0, "changsha": 150.0},
    }


def _rows() -> dict[str, object]:
    args = argparse.Namespace(concurrency=16, base_residents=10_000, scale_residents=1_000_000)
    return {row.name.strip(): row for row in figures(_exchange(), None, args)}


def test_the_ratios_and_differences_come_from_the_same_run() -> None:
    rows = _rows()
    fan_out = rows["fan-out: gateway p50 ÷ one direct call's p50, 50 ms in every city"]
    assert fan_out.value == pytest.approx(84 / 60)
    assert fan_out.met is False
    overhead = rows["overhead: gateway p50 − slowest direct city p50, concurrency 1"]
    assert overhead.value == pytest.approx(21.0)
    throughput = rows["throughput: lookups/s ÷ direct reads/s, concurrency 16"]
    assert throughput.value == pytest.approx(0.4)
    assert throughput.met is True


def test_the_gateways_cpu_per_lookup_stands_beside_what_the_fan_out_target_leaves_it() -> None:
    row = _rows()["CPU per lookup, the gateway's (from /proc, concurrency 1)"]
    assert row.value == 19.0
    assert row.met is None  # a reading, not a target
    assert "the fan-out target leaves it 2.0 ms above the floor" in row.detail  # 1.1 × 60 ms − 64 ms
    assert "7.5+7.0+7.2 ms" in row.detail
    assert "a direct read: 8.0/6.5/7.0 ms" in row.detail


def test_the_audit_row_tells_in_how_many_transactions_the_entries_were_committed() -> None:
    row = _rows()["every lookup audited, chain verifies"]
    assert (row.value, row.met) == (500, True)
    assert row.detail == "chain verifies; 500 entries in 180 transactions (group commit)"


def test_cpu_seconds_of_a_process_grow_with_its_work() -> None:
    before, started = _cpu_s(os.getpid()), time.process_time()
    while time.process_time() - started < 0.1:  # 0.1 s of this process's CPU, however loaded the machine
        sum(range(1000))
    # /proc counts in clock ticks (10 ms here): allow two.
    assert _cpu_s(os.getpid()) - before >= 0.08


def test_a_second_run_of_the_day_keeps_the_first_runs_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_lab, "RESULTS", tmp_path)
    started = dt.datetime(2026, 11, 28, 4, 20)
    first = policy_lab.results_path("exchange", started)
    assert first == tmp_path / "exchange-2026-11-28.json"
    first.write_text("{}")
    assert policy_lab.results_path("exchange", started) == tmp_path / "exchange-2026-11-28-0420.json"
