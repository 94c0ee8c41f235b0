"""``czt policy replay``: an analyst weighs a candidate policy against the decisions on record, from the shell."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from commons.db import make_engine
from czt.replay import replay
from gateway.audit import service
from gateway.audit.models import ExchangeRecord
from gateway.db import metadata

runner = CliRunner()
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


cli = typer.Typer()
cli.command()(replay)
"""The command on an app of its own: ``czt policy`` registers the very same function, the tests need nothing else
of ``czt``."""


def invoke(*args: str) -> Result:
    return runner.invoke(cli, list(args))


def lookup(number: int, *, purpose: str = "fund-transfer") -> ExchangeRecord:
    """株洲 公积金中心 looked a resident up: allowed under the policy then, with no consent on record."""
    return ExchangeRecord(
        at=T0 + timedelta(minutes=number),
        request_id=f"req-{number:03d}",
        decision_id=uuid.uuid4().hex,
        service="records.lookup",
        policy="default@2cb00d1fce00",
        requester_kind="official",
        client_id="czt-portal",
        user="zz-gjj-tan",
        requester_city="430200",
        requester_department="provident_fund",
        requester_role="clerk",
        subject=f"h:{number:016x}",
        cities=("430200",),
        categories=("identity", "provident_fund.account"),
        purpose=purpose,
        case_ref=None,
        outcome="allowed",
        rules=("fund-centre-services",),
        fields_released=("identity.name", "provident_fund.account.balance"),
        consents=(),
        disclose_at=None,
    )


def gateway_database(path: Path, *, entries: int = 3) -> str:
    """A gateway database at ``path`` whose audit log holds ``entries`` lookups."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    metadata.create_all(engine)
    service.ensure_chain(engine)
    for number in range(1, entries + 1):
        service.append_exchange(engine, lookup(number))
    engine.dispose()
    return url


def test_the_tables_say_what_would_have_changed(tmp_path: Path) -> None:
    url = gateway_database(tmp_path / "gateway.db")
    result = invoke("--candidate", "strict", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "replay under strict@" in result.output
    assert "outcome transitions" in result.output
    assert "allowed → denied" in result.output
    assert "fund-centre-transfer-consented" in result.output
    assert "-identity.name" in result.output
    assert "changed entries: the first 3 of 3" in result.output


def test_json_is_the_whole_report(tmp_path: Path) -> None:
    url = gateway_database(tmp_path / "gateway.db", entries=4)
    result = invoke("--candidate", "strict", "--database-url", url, "--json", "--limit", "3", "--show", "2")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["candidate"].startswith("strict@")
    assert (report["entries_read"], report["first_seq"], report["last_seq"]) == (3, 2, 4)
    assert report["transitions"] == {"allowed→denied": 3}
    assert report["residents_affected"] == 3
    assert report["fields_removed"] == {"identity.name": 3, "provident_fund.account.balance": 3}
    assert [entry["seq"] for entry in report["changed_entries"]] == [2, 3]


def test_a_candidate_that_decides_the_same_says_so(tmp_path: Path) -> None:
    candidate = tmp_path / "same.yaml"
    candidate.write_text(
        "policy: same\ntitle: t\nrules:\n"
        "  - id: fund\n    requester: {kind: official}\n    categories: [identity, provident_fund.account]\n"
        "    purposes: [fund-transfer]\n    allow: [name, balance]\n"
    )
    url = gateway_database(tmp_path / "gateway.db")
    result = invoke("--candidate", str(candidate), "--database-url", url)
    assert result.exit_code == 0, result.output
    assert "would have decided every re-evaluated entry the same way" in result.output


def test_a_broken_candidate_names_file_and_line_and_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "policy: broken\ntitle: t\nrules:\n"
        "  - id: fund\n    categories: [identity]\n    purposes: [fund-transfer]\n    mask: {name: blur}\n"
    )
    url = gateway_database(tmp_path / "gateway.db")
    result = invoke("--candidate", str(broken), "--database-url", url)
    assert result.exit_code == 1, result.output
    assert f"{broken}:7" in result.output.replace("\n", "")
    assert "blur" in result.output


def test_a_missing_candidate_file_exits_1(tmp_path: Path) -> None:
    result = invoke("--candidate", str(tmp_path / "nowhere.yaml"), "--database-url", "sqlite:///unused.db")
    assert result.exit_code == 1, result.output
    assert "cannot read" in result.output


def test_without_a_database_it_says_so_and_creates_none(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "gateway.db"
    result = invoke("--candidate", "strict", "--database-url", f"sqlite:///{missing}")
    assert result.exit_code == 2
    assert "no database" in result.output
    assert not missing.parent.exists()


def test_an_empty_log_says_so(tmp_path: Path) -> None:
    url = gateway_database(tmp_path / "gateway.db", entries=0)
    result = invoke("--candidate", "strict", "--database-url", url)
    assert result.exit_code == 2
    assert "empty" in result.output


def test_it_reads_the_gateway_database_czt_run_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway_database(tmp_path / "gateway.db", entries=2)
    monkeypatch.setenv("CZT_GATEWAY_DATA_DIR", str(tmp_path))
    result = invoke("--candidate", "strict", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["entries_read"] == 2
