"""The policy lab's speed, side by side with Cedar.

``python -m bench.policy_lab [--requests N] [--decisions N] [--repeat N] [--json out.json]`` (or ``make bench-policy``):

1. Decisions per second on one core (one process, no threads): the access requests of a generated workload, one
   per category a request asks for, decided by each shipped policy (best of ``--repeat`` runs, ``perf_counter``);
   then the same requests through cedarpy with each policy translated by :mod:`bench.cedar` — the batch call, and
   the per-request call on the first tenth, the faster counted — and the ratio CZT ÷ Cedar. Every decision must
   agree (allowed or refused: fields and masks have no Cedar counterpart); the first that does not is printed.
2. A simulation of ``--requests`` requests over the three policies: (a) generated in memory and counted with
   ``count_signatures``, (b) read from a JSONL trace with ``count_jsonl`` (the file is written first, untimed).
3. A table of every figure against its target, and ``bench/results/policy-lab-<date>.json``.

A benchmark, not a test: a missed target is reported, not failed. Only wrong answers exit non-zero: a decision on
which Cedar disagrees, or the two simulations differing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table

from bench.cedar import cedar_request, entities, translate
from governance.engine import AccessRequest, CompiledPolicy, Decision, Requester, RequesterKind, compile_policy
from governance.lab.simulate import Simulation, count_jsonl, count_signatures, simulate
from governance.lab.workload import Mix, generate, load_mix, write_jsonl
from governance.policy import Policy, load_policy

if TYPE_CHECKING:
    from cedarpy import AuthzResult

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ("default", "strict", "open")
RESULTS = Path(__file__).resolve().parent / "results"
SEED = 2026
DECISIONS_PER_S = 200_000
"""Target: decisions per second on one core, for each shipped policy."""
SIMULATION_S = 10.0
"""Target: seconds for a simulation of a million requests, each way."""
SINGLE_CALL_SHARE = 10
"""cedarpy's per-request call is timed on the first tenth of the requests: on all of them it takes minutes."""

console = Console(highlight=False)
"""Plain lines only: a spinner (``console.status``) would run a thread beside what is being timed."""


@dataclass(frozen=True)
class DecisionFigures:
    """One policy's decision rates, CZT against Cedar."""

    policy: str
    version: str
    decisions: int
    allowed: int
    czt_per_s: float
    cedar_batch_per_s: float
    cedar_single_per_s: float
    cedar_single_sample: int
    """How many of the requests the per-request call was timed on (it costs minutes on all of them)."""
    cedar_authz_us: float
    """Median of cedarpy's own ``authz_duration_micros``: Cedar evaluating, without the binding around it."""
    cedar_build_request_us: float
    """Median of cedarpy's ``build_request_duration_micros``: turning the request into Cedar's."""
    differing: int

    @property
    def cedar_per_s(self) -> float:
        return max(self.cedar_batch_per_s, self.cedar_single_per_s)

    @property
    def cedar_api(self) -> str:
        return "is_authorized_batch" if self.cedar_batch_per_s >= self.cedar_single_per_s else "is_authorized"

    @property
    def ratio(self) -> float:
        return self.czt_per_s / self.cedar_per_s


@dataclass(frozen=True)
class SimulationFigures:
    """One way of simulating the workload over the three policies."""

    how: str
    requests: int
    seconds: float
    cpu_seconds: float
    """Process time: what the run cost this process, whatever else the machine was doing."""


def decision_requests(mix: Mix, *, decisions: int, seed: int) -> list[AccessRequest]:
    """The first ``decisions`` access requests of the workload: one per category each request asks for."""
    requests: list[AccessRequest] = []
    for w in generate(mix, requests=decisions, seed=seed):
        requester = Requester(RequesterKind(w.kind), w.client_id, w.city, w.department, w.role)
        requests += [AccessRequest(requester, c, w.purpose, w.self_access, w.consented) for c in w.categories]
        if len(requests) >= decisions:
            break
    return requests[:decisions]


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The shortest of ``repeat`` wall-clock times of ``run()``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def measure_decisions(
    policy: Policy, requests: list[AccessRequest], *, repeat: int
) -> tuple[DecisionFigures, str | None]:
    """Both engines' rates on ``requests``, and the first disagreement described, if any."""
    import cedarpy  # the bench extra; checked in main()

    compiled = compile_policy(policy)
    decide = compiled.decide

    decisions: list[Decision] = []

    def czt() -> None:
        decisions[:] = [decide(request) for request in requests]

    czt_s = best_of(repeat, czt)

    policy_set = cedarpy.PolicySet.from_str(translate(policy))
    entity_set = cedarpy.Entities.from_json_str(json.dumps(entities({r.requester for r in requests})))
    cedar_requests = [cedar_request(r) for r in requests]
    batch: list[AuthzResult] = []
    single: list[AuthzResult] = []

    def cedar_batch() -> None:
        batch[:] = cedarpy.is_authorized_batch(cedar_requests, policy_set, entity_set)

    sample = cedar_requests[: max(1, len(cedar_requests) // SINGLE_CALL_SHARE)]

    def cedar_single() -> None:
        single[:] = [cedarpy.is_authorized(q, policy_set, entity_set) for q in sample]

    batch_s = best_of(repeat, cedar_batch)
    single_s = best_of(repeat, cedar_single)

    differing = [
        i
        for i, (ours, theirs) in enumerate(zip(decisions, batch, strict=True))
        if ours.allowed != theirs.allowed
        or theirs.diagnostics.errors
        or (i < len(single) and single[i].allowed != ours.allowed)
    ]
    first = _describe(requests[differing[0]], decisions[differing[0]], batch[differing[0]]) if differing else None
    figures = DecisionFigures(
        policy=policy.name,
        version=compiled.version,
        decisions=len(requests),
        allowed=sum(d.allowed for d in decisions),
        czt_per_s=len(requests) / czt_s,
        cedar_batch_per_s=len(requests) / batch_s,
        cedar_single_per_s=len(sample) / single_s,
        cedar_single_sample=len(sample),
        cedar_authz_us=statistics.median(r.metrics["authz_duration_micros"] for r in batch),
        cedar_build_request_us=statistics.median(r.metrics["build_request_duration_micros"] for r in batch),
        differing=len(differing),
    )
    return figures, first


def _describe(request: AccessRequest, ours: Decision, theirs: AuthzResult) -> str:
    r = request.requester
    ids = theirs.diagnostics.id_annotations_by_reason
    permits = [ids.get(reason, reason) for reason in theirs.diagnostics.reasons]
    return (
        f"requester kind={r.kind} city={r.city} department={r.department} role={r.role} client={r.client_id}; "
        f"category={request.category} purpose={request.purpose} self_access={request.self_access} "
        f"consented={request.consented}\n"
        f"  CZT:   {'allowed' if ours.allowed else 'refused'} by {ours.rule or '(no rule)'}: {ours.reason}\n"
        f"  Cedar: {'allowed' if theirs.allowed else 'refused'}; by {', '.join(permits) or '(no policy)'}"
        f"{'; errors ' + str(theirs.diagnostics.errors) if theirs.diagnostics.errors else ''}"
    )


def measure_policies(
    policies: list[Policy], mix: Mix, *, decisions: int, repeat: int
) -> tuple[list[DecisionFigures], str | None]:
    """Every policy's figures on the same requests, and the first disagreement with Cedar, if any."""
    requests = decision_requests(mix, decisions=decisions, seed=SEED)
    figures: list[DecisionFigures] = []
    first_difference: str | None = None
    for policy in policies:
        console.print(f"Deciding {len(requests):,} requests with {policy.name}, CZT and Cedar …")
        measured, first = measure_decisions(policy, requests, repeat=repeat)
        figures.append(measured)
        if first and first_difference is None:
            first_difference = f"{policy.name}: {first}"
    return figures, first_difference


def measure_simulations(
    policies: list[CompiledPolicy], mix: Mix, *, requests: int
) -> tuple[SimulationFigures, SimulationFigures, bool]:
    """(a) generated and counted in memory, (b) counted from a trace file; and whether both came out the same."""

    def timed(how: str, run: Callable[[], Simulation]) -> tuple[SimulationFigures, Simulation]:
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        figures = SimulationFigures(how, requests, time.perf_counter() - wall, time.process_time() - cpu)
        return figures, result

    def generated() -> Simulation:
        signatures, entries = count_signatures(generate(mix, requests=requests, seed=SEED))
        return simulate(policies, signatures, entries, workload="bench")

    in_memory, a = timed("generated + count_signatures + simulate", generated)
    with tempfile.TemporaryDirectory(prefix="czt-bench-") as directory:
        trace = Path(directory) / "trace.jsonl"
        console.print(f"Writing a {requests:,}-line trace (not timed) …")
        write_jsonl(generate(mix, requests=requests, seed=SEED), trace)

        def from_file() -> Simulation:
            signatures, entries = count_jsonl(trace)
            return simulate(policies, signatures, entries, workload="bench")

        from_trace, b = timed("JSONL trace + count_jsonl + simulate", from_file)
    return in_memory, from_trace, a.to_json() == b.to_json()


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            model,
        )
    return {
        "cpu": model or "unknown",
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cedarpy": metadata.version("cedarpy"),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "calibration_ms": calibration_ms(),
    }


def results_path(name: str, started: dt.datetime) -> Path:
    """``bench/results/<name>-<date>.json``, or with the time added when a run of the same day is already there:
    results are for comparing runs, so a second run never overwrites the first."""
    path = RESULTS / f"{name}-{started.date().isoformat()}.json"
    return path if not path.exists() else RESULTS / f"{name}-{started.strftime('%Y-%m-%d-%H%M')}.json"


_CALIBRATION_DOC = {
    "items": [{"month": f"2020-{m:02d}", "amount": f"{m * 101.25:.2f}", "n": m} for m in range(1, 13)] * 20
}


def cpython_work(times: int) -> None:
    """A fixed piece of CPython work, ``times`` over: JSON both ways, hashing and a dict, as serving a request does."""
    for _ in range(times):
        text = json.dumps(_CALIBRATION_DOC, sort_keys=True)
        hashlib.sha256(text.encode()).hexdigest()
        {item["month"]: item for item in json.loads(text)["items"]}


def calibration_ms() -> float:
    """CPU milliseconds of :func:`cpython_work` a hundred times, best of five: how fast this machine runs the
    interpreter at the moment, one process alone. On VMs of this kind it moves by about 2× from one second to the
    next, within one process, with no steal time counted (docs/performance.md, *The machine's own speed*): one
    figure at the start says little about a run; ``bench.exchange`` also probes the speed in every round."""
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        cpython_work(100)
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def _met(ok: bool) -> str:
    return "[green]met[/]" if ok else "[red]not met[/]"


def report(
    decisions: list[DecisionFigures], simulations: list[SimulationFigures], identical: bool, *, repeat: int
) -> None:
    table = Table(
        title=f"Policy lab: CZT engine vs Cedar (cedarpy {metadata.version('cedarpy')}), one process, best of {repeat}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("target", justify="right")
    table.add_column("")
    for d in decisions:
        table.add_row(
            f"{d.policy} · CZT decisions/s",
            f"{d.czt_per_s:,.0f}",
            f"≥ {DECISIONS_PER_S:,}",
            _met(d.czt_per_s >= DECISIONS_PER_S),
        )
        for api, rate, on in (
            ("is_authorized_batch", d.cedar_batch_per_s, ""),
            ("is_authorized", d.cedar_single_per_s, f", first {d.cedar_single_sample:,}"),
        ):
            counted = " ✓" if api == d.cedar_api else ""
            table.add_row(f"{d.policy} · Cedar {api}{on}{counted}", f"{rate:,.0f}", "", "")
        table.add_row(f"{d.policy} · CZT ÷ Cedar", f"{d.ratio:.0f}×", "", "")
        table.add_row(
            f"{d.policy} · same answer (allowed {d.allowed:,})",
            f"{d.decisions - d.differing:,}/{d.decisions:,}",
            "all",
            _met(d.differing == 0),
            end_section=True,
        )
    for s in simulations:
        table.add_row(
            f"{s.requests:,} requests, {s.how} (CPU {s.cpu_seconds:.1f} s)",
            f"{s.seconds:.1f} s",
            f"< {SIMULATION_S:.0f} s",
            _met(s.seconds < SIMULATION_S),
        )
    if simulations:
        table.add_row("both simulations give the same result", "yes" if identical else "no", "yes", _met(identical))
    console.print(table)
    console.print(
        "✓ the faster Cedar call, the one the ratio counts. Only allowed or refused is compared: which fields a "
        "rule releases, and masked how, has no Cedar counterpart. Of Cedar's time per decision, cedarpy reports "
        "(median) "
        + ", ".join(f"{d.policy} {d.cedar_authz_us:.0f} µs" for d in decisions)
        + " evaluating and "
        + ", ".join(f"{d.cedar_build_request_us:.0f}" for d in decisions)
        + " µs building the request; the rest is the Python binding (converting requests, parsing JSON answers)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.policy_lab", description="The policy lab's speed, side by side with Cedar."
    )
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests simulated (default 1,000,000)")
    parser.add_argument("--decisions", type=int, default=200_000, help="decisions timed per policy (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per decision figure, the best counted (default 3)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if min(args.requests, args.decisions, args.repeat) < 1:
        parser.error("--requests, --decisions and --repeat must be at least 1")
    try:
        import cedarpy  # noqa: F401
    except ImportError:
        console.print("[red]cedarpy is not installed[/]: .venv/bin/pip install -e '.[bench]' (or make bench-policy)")
        return 2

    started = dt.datetime.now().astimezone()
    info = machine()
    console.print(
        f"Machine: {info['cpu']}, {info['cpus']} CPUs, load {info['load_average_before']}; Python {info['python']}"
    )
    mix = load_mix()
    policies = [load_policy(ROOT / "policies" / f"{name}.yaml") for name in POLICIES]
    decisions, first_difference = measure_policies(policies, mix, decisions=args.decisions, repeat=args.repeat)
    if first_difference is not None:
        report(decisions, [], True, repeat=args.repeat)
        console.print(f"[bold red]CZT and Cedar disagree.[/] First differing request under {first_difference}")
        return 1

    gc.collect()  # the decisions' requests and Cedar's answers are garbage now: not the simulation's to collect
    compiled = [compile_policy(p) for p in policies]
    console.print(f"Simulating {args.requests:,} requests …")
    in_memory, from_trace, identical = measure_simulations(compiled, mix, requests=args.requests)
    simulations = [in_memory, from_trace]
    report(decisions, simulations, identical, repeat=args.repeat)
    if not identical:
        console.print("[bold red]The two simulations differ[/]: count_jsonl and count_signatures disagree.")
        return 1

    result = {
        "benchmark": "policy-lab",
        "date": started.isoformat(timespec="seconds"),
        "machine": {**info, "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "method": {
            "seed": SEED,
            "mix": "workloads/default-mix.yaml",
            "decisions": decisions[0].decisions,
            "repeat": args.repeat,
            "timer": "time.perf_counter, best of repeat (decisions); one run (simulations)",
            "compared": "allowed/refused only; fields and masks have no Cedar counterpart",
        },
        "targets": {"decisions_per_s": DECISIONS_PER_S, "simulation_s": SIMULATION_S},
        "decisions": [
            {**asdict(d), "cedar_per_s": d.cedar_per_s, "cedar_api": d.cedar_api, "ratio": d.ratio} for d in decisions
        ],
        "simulations": [asdict(s) for s in simulations],
        "simulations_identical": identical,
        "targets_met": all(d.czt_per_s >= DECISIONS_PER_S for d in decisions)
        and all(s.seconds < SIMULATION_S for s in simulations),
    }
    text = json.dumps(_rounded(result), ensure_ascii=False, indent=2) + "\n"
    RESULTS.mkdir(exist_ok=True)
    paths = [results_path("policy-lab", started), *([args.json] if args.json else [])]
    for path in paths:
        path.write_text(text, encoding="utf-8")
    console.print("Results: " + ", ".join(str(p) for p in paths))
    return 0


def _rounded(value: Any) -> Any:
    """Floats to 4 significant figures or 3 decimals: the results files are for reading and diffing."""
    if isinstance(value, float):
        return round(value) if abs(value) >= 1000 else float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
