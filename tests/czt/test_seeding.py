"""What a data folder records about its seeding."""

from __future__ import annotations

import json
from pathlib import Path

from czt.seeding import POPULATION_FILE, record_population, recorded_population
from czt.settings import SeedSettings


def test_the_population_is_recorded_with_the_table_layout(tmp_path: Path) -> None:
    record_population(tmp_path, SeedSettings(seed=5, residents_per_city=7))
    assert recorded_population(tmp_path) == (5, 7)


def test_a_folder_seeded_with_monthly_rows_is_not_reused(tmp_path: Path) -> None:
    # What seeding recorded before histories were kept as periods: no layout.
    (tmp_path / POPULATION_FILE).write_text(json.dumps({"seed": 5, "residents_per_city": 7}), encoding="utf-8")
    assert recorded_population(tmp_path) is None


def test_a_folder_seeded_by_the_person_by_person_generator_is_not_reused(tmp_path: Path) -> None:
    # Layout 2: the same tables, other residents (a sandbox reset would seed a city with the block generator's).
    recorded = {"seed": 5, "residents_per_city": 7, "layout": 2}
    (tmp_path / POPULATION_FILE).write_text(json.dumps(recorded), encoding="utf-8")
    assert recorded_population(tmp_path) is None


def test_czt_run_refuses_a_folder_seeded_with_the_older_layout(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from czt.cli import app

    for name in ("changsha", "zhuzhou", "xiangtan", "gateway"):
        (tmp_path / f"{name}.db").touch()  # a folder seeded before: files there, no layout recorded
    (tmp_path / POPULATION_FILE).write_text(json.dumps({"seed": 5, "residents_per_city": 7}), encoding="utf-8")

    result = CliRunner().invoke(app, ["run", "--data-dir", str(tmp_path)])

    assert result.exit_code == 2
    assert "older table layout" in result.output and "--replace" in result.output
