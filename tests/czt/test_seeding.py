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
