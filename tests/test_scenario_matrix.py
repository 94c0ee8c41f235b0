"""docs/testing.md's scenario matrix: every scenario is backed by tests that exist.

A row names its tests as ``tests/<file>.py::<test function>``; this file fails when a row names none, or names
a file or a test function that is not there (renamed, deleted), so the matrix cannot promise what no test checks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "docs" / "testing.md"
ROW = re.compile(r"^\|\s*(?P<id>[A-Z]+-\d+)\s*\|(?P<rest>.*)\|\s*$")
NODE = re.compile(r"`(?P<file>tests/[\w/]+\.py)::(?P<test>\w+)`")


def scenario_rows() -> dict[str, list[tuple[str, str]]]:
    rows: dict[str, list[tuple[str, str]]] = {}
    for line in MATRIX.read_text(encoding="utf-8").splitlines():
        if match := ROW.match(line):
            assert match["id"] not in rows, f"scenario {match['id']} appears twice in docs/testing.md"
            rows[match["id"]] = [(m["file"], m["test"]) for m in NODE.finditer(match["rest"])]
    return rows


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_the_matrix_lists_scenarios() -> None:
    assert len(scenario_rows()) >= 20


def test_every_scenario_names_tests_that_exist() -> None:
    problems = []
    for scenario, nodes in scenario_rows().items():
        if not nodes:
            problems.append(f"{scenario}: names no test")
        for file, test in nodes:
            path = ROOT / file
            if not path.exists():
                problems.append(f"{scenario}: {file} does not exist")
            elif test not in functions_in(path):
                problems.append(f"{scenario}: {file} has no test {test}")
    assert not problems, "docs/testing.md promises tests that are not there:\n" + "\n".join(problems)
