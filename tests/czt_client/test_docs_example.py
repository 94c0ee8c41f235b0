"""docs/examples/client_example.py runs as documented, and docs/integrators.md shows only code taken from it."""

from __future__ import annotations

import importlib.util
import re
import textwrap
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from commons.keys import SigningKey
from schemas.purposes import Purpose
from tests.conftest import World
from tests.czt_client.conftest import service_token

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLE = DOCS / "examples" / "client_example.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_example_reads_records_through_the_gateway(world: World, example: ModuleType) -> None:
    transport = httpx.ASGITransport(app=world.gateway)
    assert await example.my_records("http://gateway.test", transport) == ["长沙: ok", "株洲: ok", "湘潭: ok"]
    typo = await example.an_officials_typo("http://gateway.test", transport)
    assert typo == "422 path.id_number: check digit is 0, expected 1"


async def test_the_example_reads_one_city_directly(world: World, example: ModuleType, signing_key: SigningKey) -> None:
    token = service_token(signing_key, "430300", example.CHEN_JING, Purpose.SELF_SERVICE)
    transport = httpx.ASGITransport(app=world.cities["430300"])
    line = await example.from_the_city(token, "http://xiangtan.test", transport)
    assert line == "陈静 in 湘潭: fund account sealed"


def test_every_python_block_of_the_integrators_guide_comes_from_the_example() -> None:
    guide = (DOCS / "integrators.md").read_text(encoding="utf-8")
    source = EXAMPLE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)
    assert blocks, "the guide shows the client"
    for block in blocks:
        lines = [line for line in textwrap.dedent(block).splitlines() if line.strip() and line.strip() != "..."]
        missing = [line for line in lines if line.strip() not in source]
        assert not missing, f"docs/integrators.md shows code the example does not run: {missing}"
