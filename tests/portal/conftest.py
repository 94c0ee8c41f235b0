"""The portal in a real browser: the deployment `make run` starts (``czt run``, demo mode) and Debian's chromium.

Playwright drives the system's ``chromium`` through ``executable_path``: nothing is downloaded. Without chromium (or
playwright) every test that needs a browser skips with a message saying so; ``.ci/run`` installs chromium first.
Screenshots go to ``test-artifacts/portal/`` (or ``$CZT_TEST_ARTIFACTS/portal/``), one file per step.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.test_processes import CZT, free_port_run

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = Path(os.environ.get("CZT_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "portal"
RESIDENTS = "5"


def chromium_path() -> str | None:
    """Debian's chromium (or ``$CZT_CHROMIUM``); None when the machine has none."""
    return os.environ.get("CZT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Portal:
    """The running deployment: the gateway (and its portal) at ``url``, its data folder, its log file."""

    url: str
    data_dir: Path
    log: Path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium for one module: the sync API keeps an event loop running while it is open, which the async
    tests of later modules must not find."""
    path = chromium_path()
    if path is None:
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium; .ci/run does it): browser tests skip"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in the test extra
        pytest.skip("playwright is not installed (pip install -e '.[test]'): browser tests skip")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's own sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """``czt run`` (demo and sandbox mode, the defaults) on free loopback ports over a freshly seeded folder."""
    data_dir = tmp_path_factory.mktemp("portal")
    subprocess.run(
        [*CZT, "seed", "--data-dir", str(data_dir), "--residents", RESIDENTS], check=True, capture_output=True
    )
    base = free_port_run(4)
    command = [*CZT, "run", "--data-dir", str(data_dir), "--gateway-port", str(base)]
    command += ["--first-city-port", str(base + 1), "--residents", RESIDENTS, "--city-timeout", "5"]
    log = data_dir / "czt-run.log"
    # Output to a file: four processes' logs would fill a pipe that nobody reads, and block them.
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"},
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{base}"
    try:
        deadline = time.monotonic() + 120
        while not (data_dir / "sandbox.json").exists():
            assert process.poll() is None, f"czt run exited during start-up:\n{log.read_text(errors='replace')}"
            assert time.monotonic() < deadline, "czt run did not become healthy"
            time.sleep(0.3)
        assert httpx.get(f"{url}/v1/health", timeout=30).status_code == 200
        yield Portal(url=url, data_dir=data_dir, log=log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Open a fresh browser context (its own storage) at a viewport size: ``browser_page(width=390, height=844)``."""
    contexts: list[Any] = []

    def open_page(width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        context.set_default_timeout(30_000)  # a loaded 2-core CI box
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``shot(page, "records")`` saves ``<artefacts>/<test>-<n>-records.png`` (the whole page) and returns its path."""
    taken = 0

    def save(page: Page, name: str) -> Path:
        nonlocal taken
        taken += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{taken:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
