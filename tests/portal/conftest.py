"""The portal in a real browser: the deployment `make run` starts (``czt run``, demo mode) and Debian's chromium.

Playwright drives the system's ``chromium`` through ``executable_path``: nothing is downloaded. Without chromium (or
playwright) every test that needs a browser skips with a message saying so; ``.ci/run`` installs chromium first.
Screenshots go to ``test-artifacts/portal/`` (or ``$CZT_TEST_ARTIFACTS/portal/``), one file per step.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from czt.launch import czt_run, seed
from tests.e2e.test_processes import free_port_run

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
    seed(data_dir, RESIDENTS)
    with czt_run(data_dir, free_port_run(4), "--residents", RESIDENTS, "--city-timeout", "5") as run:
        assert httpx.get(f"{run.url}/v1/health", timeout=30).status_code == 200
        yield Portal(url=run.url, data_dir=data_dir, log=run.log)
        run.stop(timeout_s=30)


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
