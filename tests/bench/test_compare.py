"""The runs side by side (``bench/compare.py``): every committed results file reads, old and new alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import compare
from bench.policy_lab import RESULTS


def _results(path: Path, *, started: str, platform: str, figures: list[dict[str, Any]], **machine: Any) -> Path:
    path.write_text(
        json.dumps({"started": started, "machine": {"platform": platform, **machine}, "figures": figures}),
        encoding="utf-8",
    )
    return path


FAN_OUT = "fan-out: gateway p50 ÷ one direct call's p50, 50 ms in every city"
BARE = "  a bare FastAPI fan-out (no auth, policy, audit or checks) ÷ one direct call, 50 ms"
AUDIT = "every lookup audited, chain verifies"
THROUGHPUT = "throughput: lookups/s ÷ direct reads/s, concurrency 16"


def _figure(name: str, value: float, target: str, met: bool | None) -> dict[str, Any]:
    return {"name": name, "value": value, "target": target, "met": met, "unit": "", "detail": ""}


@pytest.fixture
def two_runs(tmp_path: Path) -> list[Path]:
    newer = _results(
        tmp_path / "exchange-2026-11-29.json",
        started="2026-11-29T04:42:19+00:00",
        platform="Linux-6.18.44-fc-v595-x86_64-with-glibc2.36",
        calibration_ms=24.0,
        load_average_before=[0.17, 0.53, 0.37],
        figures=[
            _figure(FAN_OUT, 1.2078, "≤ 1.1", False),
            _figure(BARE, 1.0805, "(reading)", None),
            _figure(THROUGHPUT, 0.3803, "≥ 0.2", True),
            _figure(AUDIT, 1249, "= 1249", True),
        ],
    )
    older = _results(  # an early run: no calibration, no bare fan-out, a chain that did not verify
        tmp_path / "exchange-2026-11-27.json",
        started="2026-11-27T22:13:22+00:00",
        platform="Linux-6.18.44-fc-v669-x86_64-with-glibc2.36",
        load_average_before="high",  # not a number: left out, not a crash
        figures=[_figure(FAN_OUT, 1.05, "≤ 1.1", True), _figure(AUDIT, 846, "= 847", False)],
    )
    return [newer, older]


def test_rows_come_oldest_first_with_each_figure_or_a_dash(two_runs: list[Path]) -> None:
    rows = compare.read_runs(two_runs)
    assert [row.started for row in rows] == ["2026-11-27 22:13", "2026-11-29 04:42"]
    older, newer = rows
    assert (older.vm, older.calibration_ms, older.load) == ("fc-v669", None, None)
    assert (newer.vm, newer.calibration_ms, newer.load) == ("fc-v595", 24.0, 0.17)
    titles = [column.title for column in compare.COLUMNS]
    by_title = dict(zip(titles, newer.cells, strict=True))
    assert by_title["fan-out ×"] == compare.Cell("1.21", met=False)
    assert by_title["bare fan-out ×"] == compare.Cell("1.08")  # a reading: never met or missed
    assert by_title["throughput ×"] == compare.Cell("0.38", met=True)
    assert by_title["scale ×"] == compare.Cell(compare.MISSING)  # --no-scale
    old = dict(zip(titles, older.cells, strict=True))
    assert old["bare fan-out ×"] == compare.Cell(compare.MISSING)
    assert old["fan-out ×"] == compare.Cell("1.05", met=True)
    assert old["audited"] == compare.Cell("846", met=False)


def test_targets_come_from_the_runs_and_readings_say_so(two_runs: list[Path]) -> None:
    targets = dict(
        zip((c.title for c in compare.COLUMNS), compare.targets_of(compare.read_runs(two_runs)), strict=True)
    )
    assert targets["fan-out ×"] == "≤ 1.1"
    assert targets["audited"] == "all, chain verifies"  # not one run's entry count
    assert targets["bare fan-out ×"] == "(reading)"
    assert targets["scale ×"] == ""  # no run measured it


def test_markdown_marks_every_miss(two_runs: list[Path]) -> None:
    rows = compare.read_runs(two_runs)
    text = compare.markdown(rows, compare.targets_of(rows))
    lines = text.splitlines()
    assert len(lines) == 2 + 2 + 1  # header, rule, two runs, targets
    assert lines[2].startswith("| 2026-11-27 | 2026-11-27 22:13 | `fc-v669` | — | — | 1.05 | — |")
    assert "| 846 ✗ |" in lines[2]
    assert "| 1.21 ✗ | 1.08 |" in lines[3]
    assert lines[4].startswith("| target |")


def test_the_command_keeps_one_vm_and_names_a_bad_file(
    two_runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compare.main([*map(str, two_runs), "--vm", "fc-v595", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "fc-v595" in out and "fc-v669" not in out
    assert "≤ 1.1" in out  # the targets of every run read, not only of those shown
    assert compare.main([*map(str, two_runs), "--vm", "fc-v000"]) == 1
    assert "no run on VM fc-v000" in capsys.readouterr().out

    broken = tmp_path / "exchange-broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert compare.main([str(broken)]) == 2
    assert str(broken) in capsys.readouterr().err
    other = tmp_path / "policy-lab.json"
    other.write_text(json.dumps({"runs": []}), encoding="utf-8")
    assert compare.main([str(other)]) == 2
    assert "not the exchange benchmark's results" in capsys.readouterr().err


def test_the_rich_table_prints_every_run(two_runs: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert compare.main(list(map(str, two_runs))) == 0
    out = capsys.readouterr().out
    assert "2026-11-27 22:13" in out and "2026-11-29 04:42" in out
    assert "1.21 ✗" in out and "846 ✗" in out


def test_every_committed_results_file_reads() -> None:
    paths = sorted(RESULTS.glob("exchange-*.json"))
    assert paths, "bench/results/ holds the runs docs/performance.md cites"
    rows = compare.read_runs(paths)
    fan_out = [column.title for column in compare.COLUMNS].index("fan-out ×")
    assert all(row.cells[fan_out].text != compare.MISSING for row in rows)  # every run judged the fan-out
    assert all(row.vm.startswith("fc-v") for row in rows)
