"""End to end: `czt run` in sandbox mode, driven by `czt fault`, `czt journal` and `czt reset` over real sockets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from czt.launch import CZT, CztRun, czt_run, seed
from mock_cities.personas import DEMO_RESIDENT_PASSWORD
from tests.e2e.test_processes import CHEN_JING, free_port_run

pytestmark = pytest.mark.e2e

RESIDENTS = "5"


class Sandbox:
    """A running `czt run` and the `czt` commands pointed at its data folder."""

    def __init__(self, data_dir: Path, gateway_url: str) -> None:
        self.data_dir = data_dir
        self.gateway_url = gateway_url

    def czt(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CZT, *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            env={**os.environ, "COLUMNS": "200"},
        )

    def records(self, request_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Chen Jing's records through the gateway, by city code."""
        with httpx.Client(base_url=self.gateway_url, timeout=60) as client:
            grant = client.post(
                "/v1/auth/token",
                data={"grant_type": "password", "username": CHEN_JING.id_number, "password": DEMO_RESIDENT_PASSWORD},
            )
            assert grant.status_code == 200, grant.text
            headers = {"Authorization": f"Bearer {grant.json()['access_token']}"}
            if request_id:
                headers["X-Request-ID"] = request_id
            response = client.get("/v1/me/records", headers=headers)
        assert response.status_code == 200, response.text
        return {city["city"]["code"]: city for city in response.json()["cities"]}

    def health(self) -> dict[str, dict[str, Any]]:
        """The gateway's /v1/health, by city code."""
        with httpx.Client(base_url=self.gateway_url, timeout=60) as client:
            response = client.get("/v1/health")
        return {city["city"]["code"]: city for city in response.json()["cities"]}

    def statuses(self, request_id: str | None = None) -> dict[str, str]:
        return {code: city["status"] for code, city in self.records(request_id).items()}


def eventually(check: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.5)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Sandbox, CztRun]]:
    seed(tmp_path, RESIDENTS)
    # --residents: what the data was seeded with, which a reset seeds again; a deadline generous for a loaded CI box
    # (the faults below last far longer).
    with czt_run(tmp_path, free_port_run(4), "--residents", RESIDENTS, "--city-timeout", "5") as run:
        yield Sandbox(tmp_path, run.url), run


def test_faults_breaker_journal_reset_and_conformance_against_the_running_sandbox(
    running: tuple[Sandbox, CztRun],
) -> None:
    """The issue's "done when": break Zhuzhou from the CLI, watch the gateway degrade (partial answers, the
    breaker opening and closing), read Zhuzhou's journal, reset it, and run the conformance kit against it."""
    sandbox, run = running
    sandbox_file = sandbox.data_dir / "sandbox.json"
    assert stat.S_IMODE(sandbox_file.stat().st_mode) == 0o600
    info = json.loads(sandbox_file.read_text())
    assert [c["slug"] for c in info["cities"]] == ["changsha", "zhuzhou", "xiangtan"]
    before = sandbox.records()
    assert {code: city["status"] for code, city in before.items()} == {"430100": "ok", "430200": "ok", "430300": "ok"}

    slow = sandbox.czt("fault", "set", "zhuzhou", "--latency", "30s", "--path", "/exchange/*")
    assert slow.returncode == 0, slow.stdout + slow.stderr
    assert sandbox.statuses() == {"430100": "ok", "430200": "timeout", "430300": "ok"}

    cut = sandbox.czt("fault", "set", "zhuzhou", "--reset-rate", "1", "--path", "/exchange/*")
    assert cut.returncode == 0, cut.stdout + cut.stderr
    request_id = f"e2e-sandbox-{uuid.uuid4().hex[:12]}"
    assert sandbox.statuses(request_id) == {"430100": "ok", "430200": "unavailable", "430300": "ok"}

    journal = sandbox.czt("journal", "zhuzhou", "--request-id", request_id, "--json")
    assert journal.returncode == 0, journal.stdout + journal.stderr
    entries = json.loads(journal.stdout)["requests"]
    assert entries, "Zhuzhou's journal does not show the gateway's call"
    for entry in entries:  # the gateway may retry a cut read: every attempt is there
        assert entry["path"] == f"/exchange/v1/persons/{CHEN_JING.id_number}/records"
        assert entry["completed"] is False and entry["faults"][0].endswith(":reset")
        assert entry["caller"]["purpose"] == "self-service"
    shown = sandbox.czt("fault", "show", "zhuzhou", "--json")
    (fault,) = json.loads(shown.stdout)["zhuzhou"]
    assert fault["kind"] == "reset" and fault["fired"] >= 1

    # Failing calls in a row open the gateway's breaker for Zhuzhou: it is no longer asked, and health says so.
    eventually(lambda: sandbox.records()["430200"]["breaker"] == "open")
    short_circuited = sandbox.records()["430200"]
    assert (short_circuited["status"], short_circuited["attempts"]) == ("unavailable", 0)
    assert sandbox.health()["430200"]["breaker"] == "open"

    cleared = sandbox.czt("fault", "clear")
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    assert "1 fault cleared" in cleared.stdout
    # After breaker_open_s one trial call goes through, finds Zhuzhou healthy and closes the breaker.
    eventually(lambda: sandbox.statuses()["430200"] == "ok")
    assert sandbox.health()["430200"]["breaker"] == "closed"

    reset = sandbox.czt("reset", "zhuzhou")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "re-seeded" in reset.stdout and f"{RESIDENTS} residents per city" in reset.stdout
    after = sandbox.records()
    assert after["430200"]["status"] == "ok"
    assert after["430200"]["records"] == before["430200"]["records"]
    since_reset = json.loads(sandbox.czt("journal", "zhuzhou", "--json").stdout)["requests"]
    assert since_reset and not [entry for entry in since_reset if entry["faults"]]  # emptied by the reset

    zhuzhou_url = next(c["url"] for c in info["cities"] if c["slug"] == "zhuzhou")
    kit = sandbox.czt("conformance", "--city-url", zhuzhou_url, "--city-code", "430200", "--read-only")
    assert kit.returncode == 0, kit.stdout + kit.stderr
    assert "token-missing" in kit.stdout and "records-canonical" in kit.stdout and "conformant" in kit.stdout

    code = run.stop()
    text = run.output()
    assert code == 0, text
    assert "czt fault set zhuzhou --latency 2s" in text
    assert not sandbox_file.exists(), "sandbox.json outlived czt run"
    gone = sandbox.czt("fault", "show")
    assert gone.returncode == 1 and "no sandbox is running" in " ".join(gone.stdout.split())
