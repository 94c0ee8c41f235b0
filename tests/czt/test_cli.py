"""The czt command as a newcomer uses it: accounts, seed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from czt.cli import app
from czt.seeding import recorded_population
from mock_cities.personas import DEMO_RESIDENT_PASSWORD, PERSONAS

runner = CliRunner()


def test_accounts_json_lists_every_demo_login() -> None:
    result = runner.invoke(app, ["accounts", "--json"])
    assert result.exit_code == 0, result.output
    accounts = json.loads(result.output)
    assert [r["username"] for r in accounts["residents"]] == [p.id_number for p in PERSONAS]
    assert {r["password"] for r in accounts["residents"]} == {DEMO_RESIDENT_PASSWORD}
    assert all(r["story"] and r["story_zh"] for r in accounts["residents"])
    assert {o["city_code"] for o in accounts["officials"]} == {"430100", "430200", "430300"}
    assert accounts["clients"][0]["client_id"] == "demo-integrator"


def test_accounts_table_shows_the_personas() -> None:
    result = runner.invoke(app, ["accounts"])
    assert result.exit_code == 0
    for persona in PERSONAS:
        assert persona.id_number in result.output


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as connection:
        (count,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
    return int(count)


def test_seed_writes_every_city_and_the_gateway_and_keeps_existing_data(tmp_path: Path) -> None:
    result = runner.invoke(app, ["seed", "--data-dir", str(tmp_path), "--residents", "4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.glob("*.db")} == {"changsha.db", "zhuzhou.db", "xiangtan.db", "gateway.db"}
    residents = _count(tmp_path / "gateway.db", "resident_account")
    assert residents == 3 * 4 + len(PERSONAS)
    changsha = _count(tmp_path / "changsha.db", "person")
    assert recorded_population(tmp_path) == (3, 4)  # what a sandbox reset will seed again

    again = runner.invoke(app, ["seed", "--data-dir", str(tmp_path), "--residents", "9"])
    assert again.exit_code == 0
    assert "already seeded" in again.output
    assert _count(tmp_path / "changsha.db", "person") == changsha
    assert recorded_population(tmp_path) == (3, 4)  # kept data, kept record

    replaced = runner.invoke(app, ["seed", "--data-dir", str(tmp_path), "--residents", "9", "--replace"])
    assert replaced.exit_code == 0
    assert _count(tmp_path / "gateway.db", "resident_account") == 3 * 9 + len(PERSONAS)
    assert _count(tmp_path / "changsha.db", "person") > changsha
    assert recorded_population(tmp_path) == (2026, 9)
