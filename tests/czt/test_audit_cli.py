"""``czt audit``: an operator checks the gateway's audit chain from the shell."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from commons.db import make_engine
from czt.cli import app
from gateway.audit import service
from gateway.audit.models import ExchangeRecord
from gateway.db import metadata

runner = CliRunner()


def exchange(number: int) -> ExchangeRecord:
    return ExchangeRecord(
        at=datetime(2026, 3, 1, 9, number, tzinfo=UTC),
        request_id=f"req-{number:03d}",
        decision_id=uuid.uuid4().hex,
        service="records.lookup",
        policy="default@2cb00d1fce00",
        requester_kind="client",
        client_id="demo-integrator",
        user="demo-integrator",
        requester_city=None,
        requester_department=None,
        requester_role=None,
        subject="h:0123456789abcdef",
        cities=("430100",),
        categories=("identity",),
        purpose="case-handling",
        case_ref=None,
        outcome="allowed",
        rules=("integrators-read-identity",),
        fields_released=("identity.name",),
        consents=(),
        disclose_at=None,
    )


def gateway_database(path: Path, *, entries: int = 10) -> str:
    """A gateway database at ``path`` whose audit log holds ``entries`` exchanges."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    metadata.create_all(engine)
    service.ensure_chain(engine)
    for number in range(1, entries + 1):
        service.append_exchange(engine, exchange(number))
    engine.dispose()
    return url


def tamper(url: str, sql: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(sql))
    engine.dispose()


def test_verify_reports_an_intact_chain(tmp_path: Path) -> None:
    url = gateway_database(tmp_path / "gateway.db")
    result = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 10 entries, head " in result.output


def test_verify_names_the_tampered_entry_and_fails(tmp_path: Path) -> None:
    url = gateway_database(tmp_path / "gateway.db")
    tamper(url, """UPDATE audit_entry SET fields_released = '["identity.id_number"]' WHERE seq = 7""")
    result = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert result.exit_code == 1, result.output
    assert "BROKEN at entry 7" in result.output
    assert "edited" in result.output


def test_verify_notices_a_cut_off_tail(tmp_path: Path) -> None:
    url = gateway_database(tmp_path / "gateway.db")
    tamper(url, "DELETE FROM audit_entry WHERE seq >= 9")
    result = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert result.exit_code == 1, result.output
    assert "entry 9" in result.output


def test_verify_reads_the_gateway_database_czt_run_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway_database(tmp_path / "gateway.db", entries=3)
    monkeypatch.setenv("CZT_GATEWAY_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "3 entries" in result.output


def test_verify_without_a_database_says_so_and_creates_none(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "gateway.db"
    result = runner.invoke(app, ["audit", "verify", "--database-url", f"sqlite:///{missing}"])
    assert result.exit_code == 2
    assert "no database" in result.output
    assert not missing.parent.exists()


def test_verify_on_a_database_without_an_audit_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'city.db'}"
    tamper(url, "CREATE TABLE something_else (id INTEGER)")
    result = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert result.exit_code == 2
    assert "no audit log" in result.output


def test_show_lists_the_latest_entries_newest_first(tmp_path: Path) -> None:
    url = gateway_database(tmp_path / "gateway.db", entries=5)
    result = runner.invoke(app, ["audit", "show", "--limit", "3", "--database-url", url])
    assert result.exit_code == 0, result.output
    first_cells = [line.split("│")[1].strip() for line in result.output.splitlines() if line.startswith("│")]
    assert [cell for cell in first_cells if cell] == ["5", "4", "3"]
