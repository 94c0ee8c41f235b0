"""``czt conformance`` as an integrator runs it: against a city listening on a loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from commons.keys import SigningKey
from conformance.checks import CHECKS
from czt.cli import app
from czt.sandbox import SandboxCity, SandboxInfo, write_sandbox
from mock_cities.profiles import CityProfile
from tests.conftest import city_app

runner = CliRunner()
ADMIN_TOKEN = "conformance-cli-admin-token-0123"


@pytest.fixture(autouse=True)
def no_sandbox_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CZT_GATEWAY_SANDBOX", "CZT_GATEWAY_SIGNING_KEY_FILE", "CZT_GATEWAY_ISSUER"):
        monkeypatch.delenv(name, raising=False)


def conformance(*options: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["conformance", *options], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    SigningKey.load_or_create(tmp_path / "keys" / "gateway-es256.pem")
    return tmp_path


@pytest.fixture
def changsha_url(data_dir: Path, profiles: list[CityProfile], kit_city_urls: dict[str, str]) -> Iterator[str]:
    """长沙 in sandbox mode on a loopback port, trusting the sandbox gateway's key in ``data_dir``."""
    key = SigningKey.load_or_create(data_dir / "keys" / "gateway-es256.pem")
    changsha = next(p for p in profiles if p.code == "430100")
    city = city_app(changsha, kit_city_urls["430100"], key, sandbox=True, admin_token=ADMIN_TOKEN)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(city, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the city did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listening.close()


def test_a_mock_city_passes_with_a_table_and_junit_then_fails_once_faulted(
    data_dir: Path, changsha_url: str, profiles: list[CityProfile]
) -> None:
    write_sandbox(
        data_dir,
        SandboxInfo(
            gateway_url="http://127.0.0.1:8000",
            cities=[SandboxCity(code="430100", slug="changsha", name="长沙", name_en="Changsha", url=changsha_url)],
            admin_token=ADMIN_TOKEN,
        ),
    )
    junit = data_dir / "reports" / "conformance.xml"
    code, out, err = conformance("--city-code", "430100", "--data-dir", str(data_dir), "--junit", str(junit))
    assert code == 0, out + err
    assert f"city 430100 at {changsha_url}" in out  # the URL from the running sandbox
    assert "430104********9369 (陈静)" in out and "430104198611239369" not in out
    assert "conformant: 21 passed, 0 skipped" in out
    assert "POST /_admin/reset" in out  # the run wrote, and says how to undo it
    suite = ET.parse(junit).getroot().find("testsuite")  # noqa: S314 - our own output
    assert suite is not None and suite.get("failures") == "0" and suite.get("tests") == str(len(CHECKS))

    fault = {"kind": "error", "status": 500, "path": "/exchange/v1/persons/*/records"}
    added = httpx.post(f"{changsha_url}/_admin/faults", json=fault, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert added.status_code in (200, 201), added.text
    code, out, err = conformance(
        "--city-code", "430100", "--city-url", changsha_url, "--data-dir", str(data_dir), "--json", "--read-only"
    )
    assert code == 1, out + err
    report = json.loads(out)
    failed = {r["id"] for r in report["results"] if r["outcome"] == "fail"}
    assert {"records-canonical", "token-missing", "unknown-person", "signed-answers"} <= failed
    assert {"health", "jwks", "write-purpose-bound"}.isdisjoint(failed)
    token_missing = next(r for r in report["results"] if r["id"] == "token-missing")
    assert token_missing["detail"].startswith("no token: answered 500, expected 401")
    assert report["writes"] == []

    code, out, err = conformance("--city-code", "430100", "--data-dir", str(data_dir), "--check", "records-canonical")
    assert code == 1
    assert "not conformant: 1 failed (records-canonical)" in out


def test_refused_outside_a_sandbox(data_dir: Path) -> None:
    code, out, err = conformance(
        "--city-code", "430100", "--city-url", "http://127.0.0.1:9", "--data-dir", str(data_dir)
    )
    assert (code, out) == (2, "")
    assert "refused" in err and "sandbox" in err


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--city-code", "4301", "--city-url", "http://127.0.0.1:9"], "--city-code"),
        (["--city-code", "431000", "--city-url", "http://127.0.0.1:9"], "--subject"),
        (["--city-code", "430100", "--city-url", "http://127.0.0.1:9", "--subject", "430104198611239360"], "--subject"),
        (["--city-code", "430100", "--city-url", "127.0.0.1:9"], "--city-url"),
        (["--city-code", "430100"], "--city-url"),  # no URL given, and no running sandbox to look it up in
        (["--city-code", "430100", "--city-url", "http://127.0.0.1:9", "--check", "nope"], "--check"),
        (["--city-code", "430100", "--city-url", "http://127.0.0.1:9", "--deadline", "0"], "--deadline"),
        (["--city-url", "http://127.0.0.1:9"], "--city-code"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], named: str
) -> None:
    monkeypatch.setenv("CZT_GATEWAY_SANDBOX", "true")
    code, out, err = conformance(*options, "--data-dir", str(data_dir))
    assert (code, out) == (2, "")
    assert named in err
