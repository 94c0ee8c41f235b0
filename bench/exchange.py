"""The exchange benchmark: what the gateway adds to its cities, measured beside them in one run (``make bench``).

``python -m bench.exchange [--residents N] [--samples N] [--seconds S] [--concurrency C] [--transports LIST]
[--base-residents N] [--scale-residents N] [--no-scale] [--profile] [--data-root DIR] [--json FILE]``

Every stack is started with ``czt run`` exactly as deployed: three city processes with their own SQLite files and
the gateway with the default policy, consent checks and the hash-chained audit log; sandbox mode on, so that
latency can be injected into the cities with their fault API. The load comes from this process (aiohttp, keep-alive),
on the same machine. Only ratios measured in one run are judged; absolute times are printed for reading.

1. **Exchange** (one stack per ``--transports`` entry; the first is the gateway's default and the one judged):
   - *overhead*: at concurrency 1, the p50 of a direct ``GET /exchange/v1/persons/{id}/records`` on each city
     (with a service token signed by the sandbox gateway's key) and of ``GET /v1/me/records`` through the
     gateway for the same resident, who is known in all three cities; overhead = gateway − slowest city. The
     series are taken in turn, one request of each per round (:func:`interleaved`), with a fifth series beside
     them: the three direct calls sent at once, the floor that the machine's cores set for any gateway. After each
     round a fixed piece of CPython work in this process probes the machine's speed (:func:`speed_probe_ms`), and
     both figures are printed again over the faster and the slower half of the rounds (:func:`by_speed`);
   - *fan-out*: the same with 50 ms of latency injected into every city's exchange routes; ratio = gateway ÷
     slowest direct city (parallel ≈ 1, sequential ≈ 3);
   - beside both, for the judged transport, a sixth series: a bare FastAPI fan-out over the same three direct
     calls (:mod:`bench.bare_fanout`: uvicorn, FastAPI, httpx over aiohttp, none of a gateway's work), what the
     stack costs before the gateway does anything; its CPU per lookup is measured with the gateway's;
   - *throughput*: ``--concurrency`` workers for ``--seconds`` each: direct record reads of one city (rotating over
     residents it holds), then gateway lookups (rotating over residents logged in ``--concurrency`` at once, as a
     rush of logins would: password hashing is what a login costs, in memory as in CPU, and the peak memory
     figure covers it); ratio = lookups/s ÷ reads/s.
     The audit chain must have grown by exactly the lookups sent, and verify; the gateway's ``/metrics`` tells in
     how many transactions its group commit wrote them.
   With ``--profile``, py-spy samples the gateway through one more throughput run; the top of the profile is
   written beside the results.
2. **Scale**: two data folders (``--base-residents`` and ``--scale-residents`` per city, kept under
   ``--data-root`` and reused while their recorded population matches), each seeded in a child process whose
   rate per city and peak memory are measured; then, on each, the lookup p50 at concurrency 1 over residents
   spread through the population, and the peak resident memory (VmHWM) of every process.

A benchmark, not a test: a missed target is reported, not failed; the exit code is 1 only when something is
wrong (an unverifiable chain, lookups missing from the audit log, failed requests).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlmodel import Session, col

from bench.bare_fanout import PATH as BARE_PATH
from bench.bare_fanout import bare_fanout
from bench.policy_lab import calibration_ms, cpython_work, machine, results_path
from bench.seeding import WORKERS as SEEDING_WORKERS
from bench.seeding import vm_hwm_mb
from commons import server_timing
from commons.db import make_engine
from commons.server_timing import SERVER_TIMING_HEADER
from czt.launch import CztRun, czt_run, free_port_run
from czt.seeding import record_population, recorded_population
from czt.settings import SeedSettings
from czt.token import sandbox_gateway
from gateway.audit.models import AuditEntry
from gateway.audit.service import verify_chain
from gateway.auth.models import ResidentAccount
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.exchange.transport import HttpTransport
from mock_cities.personas import DEMO_RESIDENT_PASSWORD
from schemas.purposes import Purpose

GATEWAY, TOGETHER, BARE = "gateway", "together", "bare fan-out"
"""Names of the gateway's latency series, of the three direct calls sent at once and of the bare fan-out's."""
SEED = 2026
EVERYWHERE = "430104198611239369"
"""陈静, the persona known in all three cities: the resident of the latency figures."""

FAN_OUT_MAX = 1.1
"""Target: gateway p50 ÷ one direct call's p50, with 50 ms injected into every city."""
INJECTED_MS = 50
OVERHEAD_MAX_MS = 2.0
"""Target: gateway p50 − slowest direct city p50, at concurrency 1 without injected latency."""
THROUGHPUT_MIN = 0.20
"""Target: gateway lookups/s ÷ direct single-city reads/s at concurrency 16."""
SCALE_MAX = 1.5
"""Target: lookup p50 with --scale-residents ÷ lookup p50 with --base-residents."""
SEEDING_MIN_PER_S = 20_000
"""Target: residents seeded per second per city, on SQLite."""
RSS_MAX_MB = 300
"""Target: peak resident memory of every process."""

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


# --- load ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    url: str
    headers: dict[str, str]


@dataclass
class Run:
    """What a batch of requests did."""

    sent: int = 0
    failed: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    warmup: int = 0
    """Untimed calls sent before the timed ones."""
    phases: list[dict[str, float]] = field(default_factory=list)
    """Each answer's ``Server-Timing`` (name → ms), when it sent one: the gateway's phases of that request."""

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def per_s(self) -> float:
        return (self.sent - self.failed) / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        cut = statistics.quantiles(self.latencies_ms, n=100) if len(self.latencies_ms) > 1 else [float("nan")] * 99
        return {
            "sent": self.sent,
            "warmup": self.warmup,
            "failed": self.failed,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": round(self.seconds, 3),
            "per_s": round(self.per_s, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(cut[89], 3),
            "p99_ms": round(cut[98], 3),
            **({"server_timing_p50_ms": self.phase_p50s()} if self.phases else {}),
            **({"outside_cities_p50_ms": round(self.outside_cities_p50(), 3)} if self.phases else {}),
        }

    def outside_cities_p50(self) -> float:
        """The p50 of ``total`` less the longest city call, request by request: the gateway's time before its
        first call goes out and after its last answer is checked, which no city's speed can hide."""
        return statistics.median(
            p[server_timing.TOTAL] - max((ms for name, ms in p.items() if name.startswith("city-")), default=0.0)
            for p in self.phases
            if server_timing.TOTAL in p
        )

    def phase_p50s(self) -> dict[str, float]:
        """The p50 of each ``Server-Timing`` phase, over the answers that named it."""
        names = dict.fromkeys(name for phases in self.phases for name in phases)
        return {name: round(statistics.median(p[name] for p in self.phases if name in p), 3) for name in names}


async def _send(session: aiohttp.ClientSession, call: Call, run: Run) -> None:
    started = time.perf_counter()
    try:
        async with session.get(call.url, headers=call.headers) as response:
            await response.read()
            status = response.status
            timing = response.headers.get(SERVER_TIMING_HEADER)
    except aiohttp.ClientError:
        status, timing = 0, None
    run.latencies_ms.append((time.perf_counter() - started) * 1000)
    if timing:
        run.phases.append({name: ms for name, (ms, _) in server_timing.parse(timing).items()})
    run.sent += 1
    run.statuses[status] = run.statuses.get(status, 0) + 1
    if status != 200:
        run.failed += 1


async def sequential(calls: Sequence[Call], *, samples: int, warmup: int) -> Run:
    """``samples`` calls one after the other (rotating over ``calls``), after ``warmup`` untimed ones."""
    async with aiohttp.ClientSession() as session:
        for i in range(warmup):
            await _send(session, calls[i % len(calls)], Run())
        run = Run()
        started = time.perf_counter()
        for i in range(samples):
            await _send(session, calls[i % len(calls)], run)
        run.seconds = time.perf_counter() - started
    return run


async def _send_together(session: aiohttp.ClientSession, calls: Sequence[Call], run: Run) -> None:
    """``calls`` sent at once; one latency, until the last answer (a status 0 when any failed)."""
    started = time.perf_counter()
    parts = [Run() for _ in calls]
    await asyncio.gather(*(_send(session, call, part) for call, part in zip(calls, parts, strict=True)))
    run.latencies_ms.append((time.perf_counter() - started) * 1000)
    run.sent += 1
    run.phases.extend(phases for part in parts for phases in part.phases)
    status = 200 if all(part.failed == 0 for part in parts) else 0
    run.statuses[status] = run.statuses.get(status, 0) + 1
    if status != 200:
        run.failed += 1


async def interleaved(
    probes: dict[str, Sequence[Call]], *, samples: int, warmup: int, speed: list[float] | None = None
) -> dict[str, Run]:
    """Latency series taken in turn, one request (or one group sent at once) of each per round, so that every series
    sees the same background load: on a shared machine, series taken one after the other drift apart.

    A probe with several calls sends them at once and times the slowest answer. ``warmup`` untimed rounds first.
    With ``speed``, after each timed round, once every answer is in, the CPU milliseconds of a fixed piece of CPython
    work in this process are appended to it (:func:`speed_probe_ms`): how fast the machine ran that round.
    """
    runs = {name: Run() for name in probes}
    async with aiohttp.ClientSession() as session:
        for round_ in range(warmup + samples):
            for name, calls in probes.items():
                await _send_together(session, calls, runs[name] if round_ >= warmup else Run())
            if speed is not None and round_ >= warmup:
                speed.append(speed_probe_ms())
    return runs


SPEED_PROBE_WORK = 5
"""Times :func:`~bench.policy_lab.cpython_work` runs in one speed probe: about 2 ms of CPU on these VMs."""


def speed_probe_ms() -> float:
    """CPU milliseconds (this thread's) of a fixed piece of CPython work: the machine's speed at this moment."""
    started = time.thread_time()
    cpython_work(SPEED_PROBE_WORK)
    return (time.thread_time() - started) * 1000


def by_speed(
    runs: dict[str, Run], speed: Sequence[float], direct: Sequence[str], *, calibrated_ms: float | None = None
) -> dict[str, Any]:
    """The interleaved series split by the machine's speed in each round (``speed``, one probe per round): the p50
    of each series over the faster half of the rounds and over the slower half, the slowest direct city's too.
    ``calibrated_ms`` is what one probe's work took in a calibration (:func:`calibrated_probe_ms`), kept beside.

    On a VM whose speed moves while the series run, this tells what the same code gives at either speed; the judged
    figures stay those of every round."""
    order = sorted(range(len(speed)), key=speed.__getitem__)
    halves = {"faster": order[: len(order) // 2], "slower": order[len(order) // 2 :]}
    split: dict[str, Any] = {}
    for half, rounds in halves.items():
        if not rounds:
            continue
        p50s = {
            name: statistics.median(run.latencies_ms[i] for i in rounds)
            for name, run in runs.items()
            if len(run.latencies_ms) == len(speed)
        }
        split[half] = {
            "probe_p50_ms": round(statistics.median(speed[i] for i in rounds), 3),
            "p50_ms": {name: round(ms, 3) for name, ms in p50s.items()},
            "slowest_direct_p50_ms": round(max(p50s[name] for name in direct), 3),
        }
    cut = statistics.quantiles(speed, n=10) if len(speed) > 1 else [float("nan")] * 9
    calibrated = {} if calibrated_ms is None else {"probe_calibrated_ms": round(calibrated_ms, 3)}
    return {"probe_p10_ms": round(cut[0], 3), "probe_p90_ms": round(cut[8], 3), **calibrated, **split}


def calibrated_probe_ms() -> float:
    """What one speed probe's work takes in :func:`~bench.policy_lab.calibration_ms` (the same work run without a
    pause, best of five): the speed the machine can reach at the moment, to set the probes of the rounds beside."""
    return calibration_ms() * SPEED_PROBE_WORK / 100


async def saturate(calls: Sequence[Call], *, seconds: float, concurrency: int) -> Run:
    """``concurrency`` workers sending ``calls`` in turn, each as soon as its last answer arrived, for ``seconds``."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        run = Run()
        warmup = Run()
        # Open the connections before the clock starts: one untimed call per worker, at once.
        await asyncio.gather(*(_send(session, calls[i % len(calls)], warmup) for i in range(concurrency)))
        run.warmup = warmup.sent
        turn = iter(range(sys.maxsize))
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                await _send(session, calls[next(turn) % len(calls)], run)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.seconds = time.perf_counter() - started
    return run


# --- a stack under test -------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """A running ``czt run`` and what the benchmark needs of it."""

    run: CztRun
    cities: list[dict[str, str]]
    admin_token: str
    minter: ServiceTokenMinter

    @property
    def gateway(self) -> str:
        return self.run.url

    def direct(self, city: dict[str, str], id_number: str) -> Call:
        token = self.minter.mint(
            city_code=city["code"],
            subject=id_number,
            client_id="czt-bench",
            purpose=Purpose.SELF_SERVICE.value,
            decision_id="bench",
        )
        return Call(f"{city['url']}/exchange/v1/persons/{id_number}/records", {"Authorization": f"Bearer {token}"})

    def login(self, id_number: str) -> Call:
        form = {"grant_type": "password", "username": id_number, "password": DEMO_RESIDENT_PASSWORD}
        import httpx  # the benchmark's set-up calls are few: the plain client is enough

        answer = httpx.post(f"{self.gateway}/v1/auth/token", data=form, timeout=30)
        answer.raise_for_status()
        return Call(f"{self.gateway}/v1/me/records", {"Authorization": f"Bearer {answer.json()['access_token']}"})

    def inject_latency(self, ms: int | None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.admin_token}"}
        for city in self.cities:
            httpx.delete(f"{city['url']}/_admin/faults", headers=headers, timeout=10).raise_for_status()
            if ms:
                fault = {"kind": "latency", "ms": ms, "path": "/exchange/*"}
                httpx.post(f"{city['url']}/_admin/faults", json=fault, headers=headers, timeout=10).raise_for_status()

    def audit_entries(self) -> int:
        engine = make_engine(f"sqlite:///{self.run.data_dir / 'gateway.db'}")
        try:
            with Session(engine) as session:
                return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())
        finally:
            engine.dispose()

    def audit_transactions(self) -> int:
        """Transactions the gateway's audit log has written so far (groups of appends: ``czt_audit_group_size``)."""
        import httpx

        metrics = httpx.get(f"{self.gateway}/metrics", timeout=10).text
        counts = [line.split()[-1] for line in metrics.splitlines() if line.startswith("czt_audit_group_size_count")]
        return int(float(counts[0])) if counts else 0

    def verify_audit(self) -> bool:
        engine = make_engine(f"sqlite:///{self.run.data_dir / 'gateway.db'}")
        try:
            return verify_chain(engine).valid
        finally:
            engine.dispose()

    def process_ids(self) -> dict[str, int]:
        """The uvicorn processes czt run started, by the module they serve and their port."""
        found = {}
        for pid in _children(self.run.process.pid):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            words = [a.decode() for a in argv if a]
            if "--port" in words:
                port = words[words.index("--port") + 1]
                name = "gateway" if "gateway.app:create_app" in words else _city_at(self.cities, port)
                found[name] = pid
        return found

    def cpu_ms_per_call(
        self, probes: dict[str, Sequence[Call]], *, samples: int, extra: dict[str, int] | None = None
    ) -> dict[str, dict[str, float]]:
        """CPU milliseconds each process spends per call, for each probe: ``samples`` calls of the probe one after
        another, each process's CPU time (``/proc``) before and after, divided by ``samples``; this process's own
        as ``load generator``, and ``extra`` processes (by name) beside the stack's. CPU time moves far less than a
        latency with what else the machine is doing: it says what a call costs, where the latency series say how
        long it takes."""
        pids = {**self.process_ids(), **(extra or {})}
        costs = {}
        for name, calls in probes.items():
            before, mine = {p: _cpu_s(pid) for p, pid in pids.items()}, time.process_time()
            asyncio.run(sequential(calls, samples=samples, warmup=0))
            after, mine = {p: _cpu_s(pid) for p, pid in pids.items()}, time.process_time() - mine
            costs[name] = {p: round((after[p] - before[p]) / samples * 1000, 3) for p in pids}
            costs[name]["load generator"] = round(mine / samples * 1000, 3)
        return costs

    def peak_rss_mb(self) -> dict[str, float]:
        return {name: vm_hwm_mb(pid) for name, pid in self.process_ids().items()}


def _city_at(cities: list[dict[str, str]], port: str) -> str:
    return next((c["slug"] for c in cities if c["url"].endswith(f":{port}")), f"port {port}")


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far, all its threads (``/proc/PID/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def stack(data_dir: Path, *, transport: HttpTransport) -> Iterator[Stack]:
    """``czt run`` on free ports from ``data_dir`` (already seeded), its gateway on ``transport``."""
    base = free_port_run(4)
    env = {"CZT_GATEWAY_HTTP_TRANSPORT": transport.value}
    with czt_run(data_dir, base, env=env) as run:
        info = json.loads((data_dir / "sandbox.json").read_text(encoding="utf-8"))
        gateway = sandbox_gateway(data_dir)
        minter = ServiceTokenMinter(gateway.key, issuer=gateway.issuer, ttl_s=3600)
        yield Stack(run, info["cities"], info["admin_token"], minter)
        run.stop()


def seed(data_dir: Path, residents: int) -> dict[str, Any]:
    """Seed ``data_dir`` in a child process (:mod:`bench.seeding`) unless it already holds this population; the
    rate of each city, and the peak resident memory of the seeding process and its workers."""
    report = data_dir / "seeding.json"
    if recorded_population(data_dir) == (SEED, residents):
        # Seeded by an earlier run: its measurement stands.
        if not report.exists():
            return {"reused": True}
        return {"reused": True, **seeding_report(json.loads(report.read_text(encoding="utf-8")))}
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    command = [sys.executable, "-m", "bench.seeding", "--data-dir", str(data_dir), "--residents", str(residents)]
    command += ["--seed", str(SEED), "--json", str(report)]
    console.print(f"Seeding {residents:,} residents per city into {data_dir} …")
    subprocess.run(command, check=True)  # noqa: S603 - our own command
    record_population(data_dir, SeedSettings(seed=SEED, residents_per_city=residents))
    return seeding_report(json.loads(report.read_text(encoding="utf-8")))


def seeding_report(measured: dict[str, Any]) -> dict[str, Any]:
    """:mod:`bench.seeding`'s ``--json`` report as the results keep it: each city's row, the gateway's, and the peak
    memory of the seeding processes — its own rows' and its workers'. (Not ``RUSAGE_CHILDREN`` of this process:
    that is the largest of every child so far, the stacks' gateways included.)"""
    return {
        "cities": {name: row for name, row in measured.items() if name not in ("gateway", SEEDING_WORKERS)},
        "gateway": measured.get("gateway"),
        "peak_rss_mb": max((row.get("peak_rss_mb", 0.0) for row in measured.values()), default=0.0),
    }


# --- the figures --------------------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One line of the table: a measured value against its target."""

    name: str
    value: float
    target: str
    met: bool | None
    unit: str = ""
    detail: str = ""


def _ids(data_dir: Path, count: int) -> list[str]:
    """``count`` residents spread evenly through the gateway's accounts (the whole population)."""
    engine = make_engine(f"sqlite:///{data_dir / 'gateway.db'}")
    try:
        with Session(engine) as session:
            total = int(session.execute(select(func.count()).select_from(ResidentAccount)).scalar_one())
            step = max(1, total // count)
            column = col(ResidentAccount.id_number)
            ids = session.execute(select(column).order_by(column)).scalars()
            return [id_number for index, id_number in enumerate(ids) if index % step == 0][:count]
    finally:
        engine.dispose()


def held_by(stack_: Stack, city: dict[str, str], candidates: Sequence[str]) -> list[Call]:
    """Direct calls on ``city`` for the candidates it holds records on."""
    import httpx

    calls = []
    for id_number in candidates:
        call = stack_.direct(city, id_number)
        if httpx.get(call.url, headers=call.headers, timeout=30).status_code == 200:
            calls.append(call)
    return calls


def measure_exchange(stack_: Stack, args: argparse.Namespace, *, reference: bool = False) -> dict[str, Any]:
    """Overhead, fan-out and throughput on one running stack; with ``reference``, a bare fan-out over the same
    three direct calls (:mod:`bench.bare_fanout`) is timed beside the gateway, as a sixth series."""
    me = stack_.login(EVERYWHERE)
    direct = {city["slug"]: [stack_.direct(city, EVERYWHERE)] for city in stack_.cities}
    together = [call for calls in direct.values() for call in calls]
    with ExitStack() as running:
        extra: dict[str, int] = {}
        probes: dict[str, Sequence[Call]] = {**direct, TOGETHER: together, GATEWAY: [me]}
        if reference:
            port = free_port_run(1)
            extra[BARE] = running.enter_context(bare_fanout([asdict(call) for call in together], port=port))
            probes[BARE] = [Call(f"http://127.0.0.1:{port}{BARE_PATH}", {})]
        results: dict[str, Any] = {}
        for label, ms in (("overhead", 0), ("fan_out", INJECTED_MS)):
            stack_.inject_latency(ms)
            speed: list[float] = []
            calibrated = calibrated_probe_ms()
            runs = asyncio.run(interleaved(probes, samples=args.samples, warmup=args.warmup, speed=speed))
            results[label] = {
                "injected_ms": ms,
                "direct": {slug: runs[slug].summary() for slug in direct},
                "direct_together": runs[TOGETHER].summary(),
                "gateway": runs[GATEWAY].summary(),
                "slowest_direct_p50_ms": max(runs[slug].p50_ms for slug in direct),
            }
            if BARE in runs:
                results[label]["bare_fanout"] = runs[BARE].summary()
            results[label]["by_speed"] = by_speed(runs, speed, list(direct), calibrated_ms=calibrated)
        stack_.inject_latency(None)
        # Where the time goes, as CPU per call: a lookup through the gateway (and through the bare fan-out), and a
        # read on each city directly.
        fanned = {GATEWAY: [me], **({BARE: probes[BARE]} if BARE in probes else {})}
        results["cpu_ms_per_call"] = stack_.cpu_ms_per_call({**fanned, **direct}, samples=args.samples, extra=extra)

    rng = random.Random(SEED)  # noqa: S311 - a sample, not a secret
    candidates = _ids(stack_.run.data_dir, 400)
    rng.shuffle(candidates)
    city = stack_.cities[0]
    reads = held_by(stack_, city, candidates[:200])
    with ThreadPoolExecutor(args.concurrency) as rush:  # logged in as many at once as the lookups will run
        lookups = list(
            rush.map(stack_.login, [call.url.rsplit("/", 2)[-2] for call in reads[: args.residents_logged_in]])
        )
    direct_run = asyncio.run(saturate(reads, seconds=args.seconds, concurrency=args.concurrency))
    before, transactions = stack_.audit_entries(), stack_.audit_transactions()
    gateway_run = asyncio.run(saturate(lookups, seconds=args.seconds, concurrency=args.concurrency))
    appended, transactions = stack_.audit_entries() - before, stack_.audit_transactions() - transactions
    results["throughput"] = {
        "concurrency": args.concurrency,
        "direct_city": city["slug"],
        "direct_residents": len(reads),
        "gateway_residents": len(lookups),
        "direct": direct_run.summary(),
        "gateway": gateway_run.summary(),
        "ratio": gateway_run.per_s / direct_run.per_s if direct_run.per_s else 0.0,
        "audit_appended": appended,
        "audit_expected": gateway_run.sent + gateway_run.warmup,
        "audit_verifies": stack_.verify_audit(),
        "audit_transactions": transactions,
    }
    if args.profile:
        results["profile"] = profile_gateway(stack_, lookups, args)
    results["peak_rss_mb"] = stack_.peak_rss_mb()
    return results


def profile_gateway(stack_: Stack, lookups: Sequence[Call], args: argparse.Namespace) -> dict[str, Any]:
    """py-spy on the gateway through one more throughput run; the functions it spent its time in."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        return {"skipped": "py-spy is not installed (pip install -e '.[bench]')"}
    pid = stack_.process_ids()["gateway"]
    raw = Path(tempfile.mkdtemp()) / "gateway.txt"
    command = [spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)), "--rate", "250"]
    command += ["--format", "raw", "--output", str(raw), "--nonblocking"]
    spying = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    time.sleep(1.0)
    run = asyncio.run(saturate(lookups, seconds=args.seconds, concurrency=args.concurrency))
    spying.wait(timeout=args.seconds + 60)
    if not raw.exists():
        return {"skipped": f"py-spy wrote no profile (exit {spying.returncode}; it needs ptrace rights)"}
    return {"lookups_per_s": round(run.per_s, 1), **summarise_profile(raw.read_text(encoding="utf-8"))}


def summarise_profile(raw: str, top: int = 40) -> dict[str, Any]:
    """Inclusive and self shares of the busiest functions in py-spy's raw (collapsed stacks) output; idle
    samples (the event loop waiting in ``select``, idle pool threads) are left out of the total."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    idle = ("select (selectors.py", "wait (threading.py", "_worker (concurrent", "get (queue.py")
    for line in raw.splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        frames = stack_text.split(";")
        if any(marker in frames[-1] for marker in idle):
            continue
        count = int(count_text)
        total += count
        for name in dict.fromkeys(_frame(frame) for frame in frames):
            inclusive[name] = inclusive.get(name, 0) + count
        last = _frame(frames[-1])
        own[last] = own.get(last, 0) + count

    def share(counts: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [(name, round(100 * n / total, 1)) for name, n in ranked]

    return {"busy_samples": total, "inclusive_pct": share(inclusive), "self_pct": share(own)}


def _frame(frame: str) -> str:
    function, _, where = frame.partition(" (")
    module = where.split(":")[0].split("site-packages/")[-1].split("/work/main/")[-1]
    return f"{function} ({module})"


def measure_scale(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for residents in (args.base_residents, args.scale_residents):
        data_dir = args.data_root / f"scale-{residents}"
        seeding = seed(data_dir, residents)
        with stack(data_dir, transport=args.transports[0]) as running:
            sample = _ids(data_dir, 60)
            lookups = [running.login(id_number) for id_number in sample]
            direct = held_by(running, running.cities[0], sample)
            run = asyncio.run(sequential(lookups, samples=args.samples, warmup=len(lookups)))
            direct_run = asyncio.run(sequential(direct, samples=args.samples, warmup=len(direct)))
            results[str(residents)] = {
                "seeding": seeding,
                "lookup": run.summary(),
                "direct_city": direct_run.summary(),
                "peak_rss_mb": running.peak_rss_mb(),
            }
    return results


def figures(exchange: dict[str, Any], scale: dict[str, Any] | None, args: argparse.Namespace) -> list[Figure]:
    over, fan, thr = exchange["overhead"], exchange["fan_out"], exchange["throughput"]
    overhead = over["gateway"]["p50_ms"] - over["slowest_direct_p50_ms"]
    fan_ratio = fan["gateway"]["p50_ms"] / fan["slowest_direct_p50_ms"]
    overhead_own = over["gateway"]["p50_ms"] - over["direct_together"]["p50_ms"]
    rows = [
        Figure(
            "fan-out: gateway p50 ÷ one direct call's p50, 50 ms in every city",
            fan_ratio,
            f"≤ {FAN_OUT_MAX}",
            fan_ratio <= FAN_OUT_MAX,
            "×",
            f"{fan['gateway']['p50_ms']:.1f} ms ÷ {fan['slowest_direct_p50_ms']:.1f} ms",
        ),
        Figure(
            "  floor: the three cities asked at once directly ÷ one direct call, 50 ms",
            fan["direct_together"]["p50_ms"] / fan["slowest_direct_p50_ms"],
            "(reading)",
            None,
            "×",
            f"{fan['direct_together']['p50_ms']:.1f} ms: the three cities answering together on this machine's cores",
        ),
        *_bare_reading(fan, "÷"),
        *_speed_reading(fan, "÷"),
        Figure(
            "overhead: gateway p50 − slowest direct city p50, concurrency 1",
            overhead,
            f"≤ {OVERHEAD_MAX_MS} ms",
            overhead <= OVERHEAD_MAX_MS,
            "ms",
            f"{over['gateway']['p50_ms']:.2f} − {over['slowest_direct_p50_ms']:.2f} ms",
        ),
        Figure(
            "  floor: the three cities asked at once directly − slowest direct, concurrency 1",
            over["direct_together"]["p50_ms"] - over["slowest_direct_p50_ms"],
            "(reading)",
            None,
            "ms",
            f"{over['direct_together']['p50_ms']:.2f} ms; the gateway's own share: {overhead_own:.2f} ms",
        ),
        *_bare_reading(over, "−"),
        *_speed_reading(over, "−"),
        *_phases_reading(fan),
        _cpu_reading(exchange, fan),
        Figure(
            f"throughput: lookups/s ÷ direct reads/s, concurrency {args.concurrency}",
            thr["ratio"],
            f"≥ {THROUGHPUT_MIN}",
            thr["ratio"] >= THROUGHPUT_MIN,
            "×",
            f"{thr['gateway']['per_s']:.0f} ÷ {thr['direct']['per_s']:.0f} per s",
        ),
        Figure(
            "every lookup audited, chain verifies",
            thr["audit_appended"],
            f"= {thr['audit_expected']}",
            thr["audit_appended"] == thr["audit_expected"] and thr["audit_verifies"],
            "entries",
            ("chain verifies" if thr["audit_verifies"] else "CHAIN BROKEN") + _groups(thr),
        ),
    ]
    rss = dict(exchange["peak_rss_mb"])
    if scale is not None:
        base, big = scale[str(args.base_residents)], scale[str(args.scale_residents)]
        ratio = big["lookup"]["p50_ms"] / base["lookup"]["p50_ms"]
        rows.append(
            Figure(
                f"scale: lookup p50 at {args.scale_residents:,} ÷ at {args.base_residents:,} per city",
                ratio,
                f"≤ {SCALE_MAX}",
                ratio <= SCALE_MAX,
                "×",
                f"{big['lookup']['p50_ms']:.2f} ÷ {base['lookup']['p50_ms']:.2f} ms",
            )
        )
        seeding = big["seeding"]
        if "cities" in seeding:
            slowest = min(c["per_s"] for c in seeding["cities"].values())
            rows.append(
                Figure(
                    f"seeding {args.scale_residents:,} residents per city (slowest city)",
                    slowest,
                    f"≥ {SEEDING_MIN_PER_S:,}/s",
                    slowest >= SEEDING_MIN_PER_S,
                    "/s",
                    ", ".join(f"{slug} {c['per_s']:,.0f}" for slug, c in seeding["cities"].items()),
                )
            )
            rss["seeding"] = seeding["peak_rss_mb"]
        for name, mb in big["peak_rss_mb"].items():
            rss[f"{name} at {args.scale_residents:,}"] = mb
    worst = max(rss, key=lambda name: rss[name])
    rows.append(
        Figure(
            "peak resident memory, largest process",
            rss[worst],
            f"< {RSS_MAX_MB} MB",
            rss[worst] < RSS_MAX_MB,
            "MB",
            worst,
        )
    )
    return rows


def _groups(thr: dict[str, Any]) -> str:
    """How the throughput run's entries were committed: in how many transactions (the audit log's group commit)."""
    transactions = thr.get("audit_transactions")
    if not transactions:
        return ""
    return f"; {thr['audit_appended']} entries in {transactions} transactions (group commit)"


def _bare_reading(series: dict[str, Any], op: str) -> list[Figure]:
    """The bare fan-out (:mod:`bench.bare_fanout`) beside the target it would be judged by, when it was measured:
    what uvicorn, FastAPI and three httpx calls over aiohttp cost with none of a gateway's work."""
    bare = series.get("bare_fanout")
    if bare is None:
        return []
    slowest = series["slowest_direct_p50_ms"]
    if op == "÷":
        name, value, unit = "one direct call, 50 ms", bare["p50_ms"] / slowest, "×"
        detail = f"{bare['p50_ms']:.1f} ms ÷ {slowest:.1f} ms"
    else:
        name, value, unit = "slowest direct, concurrency 1", bare["p50_ms"] - slowest, "ms"
        detail = f"{bare['p50_ms']:.2f} − {slowest:.2f} ms"
    return [
        Figure(
            f"  a bare FastAPI fan-out (no auth, policy, audit or checks) {op} {name}",
            value,
            "(reading)",
            None,
            unit,
            f"{detail}: the three calls through uvicorn, FastAPI and httpx over aiohttp, nothing else",
        )
    ]


def _speed_reading(series: dict[str, Any], op: str) -> list[Figure]:
    """The same figure over the rounds the machine ran faster and over those it ran slower (:func:`by_speed`), when
    the series were probed: on a VM whose speed moves, what part of a figure is the machine's, not the code's."""
    split = series.get("by_speed")
    if not split or "faster" not in split or "slower" not in split:
        return []

    def figure(half: dict[str, Any]) -> float:
        gateway, slowest = half["p50_ms"][GATEWAY], half["slowest_direct_p50_ms"]
        return gateway / slowest if op == "÷" else gateway - slowest

    faster, slower = split["faster"], split["slower"]
    unit = "×" if op == "÷" else "ms"
    best = split.get("probe_calibrated_ms")
    calibrated = "" if best is None else f"; the same work {best:.2f} ms in a calibration without pauses before it"
    return [
        Figure(
            f"  {'fan-out' if op == '÷' else 'overhead'} over the rounds the machine ran faster (a CPython probe "
            "in every round)",
            figure(faster),
            "(reading)",
            None,
            unit,
            f"over the slower half {figure(slower):.2f} {unit}; the probe's p50 {faster['probe_p50_ms']:.2f} against "
            f"{slower['probe_p50_ms']:.2f} ms (p10–p90 of all rounds {split['probe_p10_ms']:.2f}–"
            f"{split['probe_p90_ms']:.2f} ms){calibrated}",
        )
    ]


def _phases_reading(fan: dict[str, Any]) -> list[Figure]:
    """Where a lookup's time goes, from the gateway's own ``Server-Timing`` (p50 of each phase, 50 ms run)."""
    gateway = fan["gateway"]
    phases = gateway.get("server_timing_p50_ms")
    if not phases:
        return []
    cities = "/".join(f"{ms:.1f}" for name, ms in phases.items() if name.startswith("city-"))
    served = "/".join(f"{ms:.1f}" for name, ms in phases.items() if name.startswith("served-"))
    order = ("auth", "decide", "audit", "check", "release", server_timing.TOTAL)
    named = ", ".join(f"{name} {phases[name]:.2f}" for name in order if name in phases)
    if served:
        cities += f", by their own Server-Timing {served}"
    return [
        Figure(
            "  the gateway's own time around the slowest city, 50 ms (Server-Timing)",
            gateway["outside_cities_p50_ms"],
            "(reading)",
            None,
            "ms",
            f"p50 ms: {named}; cities {cities} (check inside the cities)",
        )
    ]


def _cpu_reading(exchange: dict[str, Any], fan: dict[str, Any]) -> Figure:
    """The gateway's CPU per lookup beside what the fan-out target leaves it: 1.1 × one direct call, less the
    three cities answering at once (the floor). At concurrency 1 nearly all of the gateway's CPU is on the path of
    the lookup: its work before the cities are asked and after they answer, with nothing to overlap it."""
    cpu = exchange["cpu_ms_per_call"]
    lookup = cpu[GATEWAY]
    cities = {name: ms for name, ms in lookup.items() if name not in (GATEWAY, BARE, "load generator")}
    reads = "/".join(f"{cpu[name][name]:.1f}" for name in cities if name in cpu)
    budget = FAN_OUT_MAX * fan["slowest_direct_p50_ms"] - fan["direct_together"]["p50_ms"]
    bare = f"; a bare fan-out's {cpu[BARE][BARE]:.1f} ms" if BARE in cpu else ""
    return Figure(
        "  CPU per lookup, the gateway's (from /proc, concurrency 1)",
        lookup[GATEWAY],
        "(reading)",
        None,
        "ms",
        f"the fan-out target leaves it {budget:.1f} ms above the floor; the cities' "
        f"{'+'.join(f'{ms:.1f}' for ms in cities.values())} ms (a direct read: {reads} ms){bare}",
    )


def report(rows: list[Figure], transports: dict[str, Any]) -> None:
    table = Table(title="CZT exchange benchmark", box=box.SIMPLE_HEAVY)
    for column in ("figure", "measured", "target", "", "detail"):
        table.add_column(column)
    for row in rows:
        verdict = "" if row.met is None else ("[green]met[/]" if row.met else "[red]not met[/]")
        value = f"{row.value:,.0f}" if abs(row.value) >= 100 else f"{row.value:.2f}"
        table.add_row(row.name, f"{value} {row.unit}", row.target, verdict, row.detail)
    console.print(table)
    if len(transports) > 1:
        side = Table(title="Gateway transport, same stack and load", box=box.SIMPLE)
        for column in ("transport", "lookups/s", "direct reads/s", "ratio", "overhead ms", "fan-out ×"):
            side.add_column(column)
        for name, result in transports.items():
            thr, over, fan = result["throughput"], result["overhead"], result["fan_out"]
            side.add_row(
                name,
                f"{thr['gateway']['per_s']:.0f}",
                f"{thr['direct']['per_s']:.0f}",
                f"{thr['ratio']:.2f}",
                f"{over['gateway']['p50_ms'] - over['slowest_direct_p50_ms']:.2f}",
                f"{fan['gateway']['p50_ms'] / fan['slowest_direct_p50_ms']:.3f}",
            )
        console.print(side)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exchange", description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=2000, help="residents per city of the exchange stack")
    parser.add_argument("--samples", type=int, default=300, help="timed calls per latency figure (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls before each latency figure")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="workers of the throughput runs (default 16)")
    parser.add_argument("--residents-logged-in", type=int, default=64, help="residents the throughput run rotates")
    parser.add_argument(
        "--transports",
        type=lambda text: [HttpTransport(t) for t in text.split(",")],
        default=[HttpTransport.AIOHTTP, HttpTransport.HTTPX],
        help="gateway transports to run the exchange figures with, the judged one first (default aiohttp,httpx)",
    )
    parser.add_argument("--base-residents", type=int, default=10_000, help="the scale figure's small population")
    parser.add_argument("--scale-residents", type=int, default=1_000_000, help="the scale figure's large population")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale figures (and their long seeding)")
    parser.add_argument("--profile", action="store_true", help="sample the gateway with py-spy under load")
    parser.add_argument("--data-root", type=Path, default=Path("var/bench"), help="where the seeded folders stay")
    parser.add_argument("--json", type=Path, help="write the results here too (default bench/results/)")
    args = parser.parse_args(argv)

    started = dt.datetime.now().astimezone()
    info = {k: v for k, v in machine().items() if k != "cedarpy"}
    console.print(f"Machine: {info['cpu']}, {info['cpus']} CPUs, load {info['load_average_before']}")
    exchange_dir = args.data_root / f"exchange-{args.residents}"
    exchange_seeding = seed(exchange_dir, args.residents)
    transports: dict[str, Any] = {}
    for transport in args.transports:
        console.print(f"Exchange figures, gateway transport {transport} …")
        with stack(exchange_dir, transport=transport) as running:
            # The bare fan-out is a reading for the judged transport; it does not depend on the gateway's.
            judged_now = transport is args.transports[0]
            transports[transport.value] = measure_exchange(running, args, reference=judged_now)
    judged = transports[args.transports[0].value]
    scale = None if args.no_scale else measure_scale(args)
    rows = figures(judged, scale, args)
    report(rows, transports)

    result = {
        "benchmark": "exchange",
        "started": started.isoformat(timespec="seconds"),
        "machine": info,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "figures": [asdict(row) for row in rows],
        "exchange_seeding": exchange_seeding,
        "transports": transports,
        "scale": scale,
    }
    out = args.json or results_path("exchange", started)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"Results: {out}")
    thr = judged["throughput"]
    broken = thr["audit_appended"] != thr["audit_expected"] or not thr["audit_verifies"]
    failed = any(
        r["throughput"]["gateway"]["failed"] or r["throughput"]["direct"]["failed"] for r in transports.values()
    )
    if broken or failed:
        console.print("[bold red]Something is wrong[/]: failed requests or lookups missing from the audit chain.")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
