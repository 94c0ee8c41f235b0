"""The exchange benchmark's arithmetic: each figure from the measurements of one run (``bench/exchange.py``).

The benchmark itself runs a real stack (``make bench``), not in the suite; these keep its table honest."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench import policy_lab
from bench.exchange import (
    BARE,
    GATEWAY,
    Call,
    Figure,
    Run,
    _cpu_s,
    by_speed,
    figures,
    interleaved,
    seeding_report,
)
from bench.seeding import WORKERS as SEEDING_WORKERS


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


def _rows() -> dict[str, Figure]:
    return _rows_of(_exchange())


def _rows_of(exchange: dict[str, object]) -> dict[str, Figure]:
    args = argparse.Namespace(concurrency=16, base_residents=10_000, scale_residents=1_000_000)
    return {row.name.strip(): row for row in figures(exchange, None, args)}


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


def test_the_gateways_phases_come_from_its_server_timing_request_by_request() -> None:
    run = Run(latencies_ms=[70.0, 71.0, 90.0])
    run.phases = [
        {
            "auth": 0.5,
            "decide": 3.0,
            "audit": 2.0,
            "city-430100": 57.0,
            "served-430100": 54.0,
            "city-430200": 60.0,
            "total": 66.0,
        },
        {
            "auth": 0.7,
            "decide": 2.0,
            "audit": 1.5,
            "city-430100": 62.0,
            "served-430100": 55.0,
            "city-430200": 58.0,
            "total": 69.0,
        },
        {
            "auth": 0.6,
            "decide": 9.0,
            "audit": 8.0,
            "city-430100": 70.0,
            "served-430100": 56.0,
            "city-430200": 61.0,
            "total": 86.0,
        },
    ]
    summary = run.summary()
    assert summary["server_timing_p50_ms"] == {
        "auth": 0.6,
        "decide": 3.0,
        "audit": 2.0,
        "city-430100": 62.0,
        "served-430100": 55.0,
        "city-430200": 60.0,
        "total": 69.0,
    }
    # total less the slowest city of the same request: 6, 7 and 16 ms; not 69 − 62 from the p50s.
    assert summary["outside_cities_p50_ms"] == 7.0

    exchange = _exchange()
    exchange["fan_out"]["gateway"].update(summary)  # type: ignore[index]
    row = _rows_of(exchange)["the gateway's own time around the slowest city, 50 ms (Server-Timing)"]
    assert (row.value, row.met) == (7.0, None)
    assert row.detail == (
        "p50 ms: auth 0.60, decide 3.00, audit 2.00, total 69.00; "
        "cities 62.0/60.0, by their own Server-Timing 55.0 (check inside the cities)"
    )


async def test_the_load_keeps_each_answers_server_timing() -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(
            text="{}", headers={"Server-Timing": 'decide;dur=2.5, city-430100;dur=9;desc="ok", total;dur=12'}
        )

    server = TestServer(web.Application())
    server.app.router.add_get("/records", answer)
    async with server:
        call = Call(str(server.make_url("/records")), {})
        runs = await interleaved({GATEWAY: [call]}, samples=3, warmup=1)
    assert runs[GATEWAY].phases == [{"decide": 2.5, "city-430100": 9.0, "total": 12.0}] * 3
    assert runs[GATEWAY].summary()["outside_cities_p50_ms"] == 3.0


def test_without_server_timing_there_is_no_phases_row() -> None:
    assert not [name for name in _rows() if "Server-Timing" in name]


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


def test_the_bare_fan_out_stands_beside_both_latency_targets_when_it_was_measured() -> None:
    exchange = _exchange()
    exchange["fan_out"]["bare_fanout"] = _series(63.0)  # type: ignore[index]
    exchange["overhead"]["bare_fanout"] = _series(13.5)  # type: ignore[index]
    exchange["cpu_ms_per_call"][BARE] = {GATEWAY: 0.0, BARE: 1.8, "changsha": 7.4, "load generator": 1.0}  # type: ignore[index]
    exchange["cpu_ms_per_call"][GATEWAY][BARE] = 0.0  # type: ignore[index]
    rows = _rows_of(exchange)
    fan = rows["a bare FastAPI fan-out (no auth, policy, audit or checks) ÷ one direct call, 50 ms"]
    assert (fan.value, fan.met) == (pytest.approx(63 / 60), None)  # a reading: the target judges the gateway
    assert fan.detail.startswith("63.0 ms ÷ 60.0 ms: ")
    over = rows["a bare FastAPI fan-out (no auth, policy, audit or checks) − slowest direct, concurrency 1"]
    assert (over.value, over.met) == (pytest.approx(4.5), None)
    cpu = rows["CPU per lookup, the gateway's (from /proc, concurrency 1)"]
    assert cpu.detail.endswith("; a bare fan-out's 1.8 ms")
    assert "7.5+7.0+7.2 ms" in cpu.detail  # the bare process is not one of the cities


def test_without_a_bare_fan_out_there_are_no_bare_rows() -> None:
    assert not [name for name in _rows() if "bare" in name]
    assert "bare" not in _rows()["CPU per lookup, the gateway's (from /proc, concurrency 1)"].detail


def test_the_seeding_rows_peak_memory_is_the_seeding_processes_own() -> None:
    report = {
        "changsha": {"residents": 1443, "per_s": 5636, "peak_rss_mb": 98.0},
        "zhuzhou": {"residents": 1440, "per_s": 6032, "peak_rss_mb": 130.9},
        "gateway": {"residents": 3003, "per_s": 14218, "peak_rss_mb": 131.0},
        SEEDING_WORKERS: {"peak_rss_mb": 91.2},
    }
    kept = seeding_report(report)
    assert list(kept["cities"]) == ["changsha", "zhuzhou"]  # the workers' row is not a city
    assert kept["gateway"]["per_s"] == 14218
    assert kept["peak_rss_mb"] == 131.0
    report[SEEDING_WORKERS]["peak_rss_mb"] = 140.5  # a worker that outgrew the main process counts
    assert seeding_report(report)["peak_rss_mb"] == 140.5


def _timed(*latencies: float) -> Run:
    return Run(sent=len(latencies), latencies_ms=list(latencies))


def test_the_rounds_split_by_the_machines_speed_in_each() -> None:
    # Rounds 1 and 3 ran fast (probe 2 ms), rounds 0 and 2 slow (4 ms): the gateway took 70 ms in the fast ones.
    runs = {GATEWAY: _timed(90, 70, 94, 72), "changsha": _timed(58, 55, 60, 56), "zhuzhou": _timed(57, 56, 59, 54)}
    split = by_speed(runs, [4.0, 2.0, 4.2, 2.1], ["changsha", "zhuzhou"])
    assert split["faster"]["probe_p50_ms"] == pytest.approx(2.05)
    assert split["faster"]["p50_ms"][GATEWAY] == pytest.approx(71.0)
    assert split["faster"]["slowest_direct_p50_ms"] == pytest.approx(55.5)
    assert split["slower"]["p50_ms"][GATEWAY] == pytest.approx(92.0)
    assert split["slower"]["slowest_direct_p50_ms"] == pytest.approx(59.0)


def test_each_figure_is_read_again_over_the_faster_and_the_slower_rounds() -> None:
    exchange = _exchange()
    for label, (fast, slow) in (("fan_out", (70.0, 90.0)), ("overhead", (20.0, 36.0))):
        exchange[label]["by_speed"] = {  # type: ignore[index]
            "probe_p10_ms": 1.9,
            "probe_p90_ms": 3.8,
            "probe_calibrated_ms": 1.8,
            "faster": {"probe_p50_ms": 2.0, "p50_ms": {GATEWAY: fast}, "slowest_direct_p50_ms": fast - 14},
            "slower": {"probe_p50_ms": 3.6, "p50_ms": {GATEWAY: slow}, "slowest_direct_p50_ms": slow - 30},
        }
    rows = _rows_of(exchange)
    fan_out = rows["fan-out over the rounds the machine ran faster (a CPython probe in every round)"]
    assert (fan_out.value, fan_out.met) == (pytest.approx(70 / 56), None)
    assert fan_out.detail.startswith("over the slower half 1.50 ×; the probe's p50 2.00 against 3.60 ms")
    overhead = rows["overhead over the rounds the machine ran faster (a CPython probe in every round)"]
    assert overhead.value == pytest.approx(14.0)
    assert "over the slower half 30.00 ms" in overhead.detail
    assert overhead.detail.endswith(
        "(p10–p90 of all rounds 1.90–3.80 ms); the same work 1.80 ms in a calibration without pauses before it"
    )


def test_without_a_speed_probe_there_is_no_split_row() -> None:
    assert not [name for name in _rows() if "machine ran faster" in name]


async def test_the_load_probes_the_machines_speed_once_per_timed_round() -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(text="{}")

    server = TestServer(web.Application())
    server.app.router.add_get("/records", answer)
    speed: list[float] = []
    async with server:
        runs = await interleaved(
            {GATEWAY: [Call(str(server.make_url("/records")), {})]}, samples=4, warmup=2, speed=speed
        )
    assert len(speed) == len(runs[GATEWAY].latencies_ms) == 4
    assert all(ms > 0 for ms in speed)
