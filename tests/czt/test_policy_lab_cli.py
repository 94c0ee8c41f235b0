"""The policy lab as an analyst runs it: check, show, workload generate, simulate, diff."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from czt.cli import app

runner = CliRunner()


def test_policy_check_accepts_the_shipped_policies_and_names_a_broken_one(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["policy", "check", "default", "strict", "open"])
    assert ok.exit_code == 0, ok.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("policy: b\ntitle: B\nrules:\n  - id: r\n    categories: [identity]\n    purposes: [x]\n")
    bad = runner.invoke(app, ["policy", "check", str(broken)])
    assert bad.exit_code == 1
    assert f"{broken}:6 (rule r)" in bad.output.replace("\n", "")


def test_workload_generate_writes_the_trace_and_its_mix(tmp_path: Path) -> None:
    out = tmp_path / "w.jsonl"
    result = runner.invoke(app, ["workload", "generate", "--out", str(out), "--requests", "300", "--seed", "4"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 300 and json.loads(lines[0])["id"] == 1
    assert "resident-records" in result.output


def test_simulate_prints_each_policy_side_by_side_and_writes_json_and_html(tmp_path: Path) -> None:
    trace = tmp_path / "w.jsonl"
    runner.invoke(app, ["workload", "generate", "--out", str(trace), "--requests", "2000"])
    report = tmp_path / "report.html"
    table = runner.invoke(
        app, ["policy", "simulate", "-p", "default", "-p", "strict", "--workload", str(trace), "--report", str(report)]
    )
    assert table.exit_code == 0, table.output
    assert "default" in table.output and "strict" in table.output and "在线办结率" in table.output
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")

    as_json = runner.invoke(
        app, ["policy", "simulate", "-p", "default", "-p", "open", "--workload", str(trace), "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["requests"] == 2000
    default, permissive = data["policies"]
    assert permissive["completion"] == 1.0 > default["completion"]
    assert {"services", "denials_by_rule", "flows", "exposure", "oversharing_fields"} <= set(default)


def test_simulate_without_a_workload_uses_the_default_mix() -> None:
    result = runner.invoke(app, ["policy", "simulate", "-p", "default", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["requests"] == 10_000


def test_simulate_names_an_unreadable_workload(tmp_path: Path) -> None:
    trace = tmp_path / "w.jsonl"
    trace.write_text("{not json\n")
    result = runner.invoke(app, ["policy", "simulate", "-p", "default", "--workload", str(trace)])
    assert result.exit_code == 1
    assert "w.jsonl:1" in result.output.replace("\n", "")


def test_diff_lists_the_combinations_where_default_and_strict_differ() -> None:
    table = runner.invoke(app, ["policy", "diff", "default", "strict", "--most", "3"])
    assert table.exit_code == 0, table.output
    assert "combinations differ" in table.output
    data = json.loads(runner.invoke(app, ["policy", "diff", "default", "strict", "--json"]).output)
    assert data["differing"] == sum(group["count"] for group in data["groups"]) > 0
    assert all(len(group["combinations"]) == group["count"] for group in data["groups"])
