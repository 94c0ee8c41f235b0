"""The portal's routes in-process: the page and its assets are all local, the demo accounts exist only in demo mode,
QR codes validate their input, and none of it is part of the API contract."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gateway.auth.demo import DEMO_OFFICIALS
from gateway.portal.router import MAX_QR_DATA, STATIC_DIR
from mock_cities.personas import PERSONAS
from tests.conftest import World

STATIC_FILES = sorted(path for path in STATIC_DIR.rglob("*") if path.is_file())
STATIC_CONTENT = {path: path.read_bytes() for path in STATIC_FILES}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# An SVG's XML namespace is a name, not something fetched.
SVG_NAMESPACE = 'xmlns="http://www.w3.org/2000/svg"'
GATEWAY_CONTRACT = (Path(__file__).resolve().parents[2] / "openapi" / "gateway.json").read_text()


class _References(HTMLParser):
    """Every URL the page makes the browser fetch or follow (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value is not None]


def _module_imports(path: Path) -> list[str]:
    return re.findall(
        r'^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)";', path.read_text(), flags=re.MULTILINE | re.DOTALL
    )


def _dictionary_keys(source: str, name: str) -> set[str]:
    """The keys of ``const <name> = {...};`` in i18n.js (quoted ``"a.b":`` or bare ``skip:``)."""
    block = re.search(rf"^const {name} = \{{\n(.*?)^\}};", source, flags=re.MULTILINE | re.DOTALL)
    assert block is not None, f"no dictionary {name}"
    return {
        quoted or bare for quoted, bare in re.findall(r'^  (?:"([^"]+)"|(\w+)):', block.group(1), flags=re.MULTILINE)
    }


async def test_the_page_is_html_that_loads_only_the_gateways_own_assets(world: World) -> None:
    response = await world.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page = response.text
    assert '<html lang="zh-CN">' in page
    assert "长株潭一网通办" in page
    assert "http://" not in page and "https://" not in page and "//" not in page.replace("<!doctype", "")
    parser = _References()
    parser.feed(page)
    assert parser.urls, "the page references its stylesheet and scripts"
    for url in parser.urls:
        assert url.startswith(("/portal/static/", "#")), url
        if url.startswith("/"):
            assert (await world.client.get(url)).status_code == 200, url


@pytest.mark.parametrize("path", STATIC_FILES, ids=lambda path: str(path.relative_to(STATIC_DIR)))
async def test_every_asset_is_served_with_its_type_and_fetches_nothing_from_elsewhere(world: World, path: Path) -> None:
    response = await world.client.get(f"/portal/static/{path.relative_to(STATIC_DIR).as_posix()}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(CONTENT_TYPES[path.suffix])
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == STATIC_CONTENT[path]
    text = response.text.replace(SVG_NAMESPACE, "")
    assert not re.search(r"https?://|//cdn|@import|url\(", text), f"{path.name} refers to something outside"


def test_every_module_import_resolves() -> None:
    modules = [path for path in STATIC_FILES if path.suffix == ".js"]
    assert any(path.name == "app.js" for path in modules)
    for module in modules:
        for target in _module_imports(module):
            assert target.startswith("."), f"{module.name} imports {target}: only relative, local modules"
            assert (module.parent / target).resolve().is_file(), f"{module.name} imports missing {target}"


def test_chinese_and_english_have_the_same_strings_and_every_literal_key_exists() -> None:
    source = (STATIC_DIR / "js" / "i18n.js").read_text()
    zh, en = _dictionary_keys(source, "zh"), _dictionary_keys(source, "en")
    assert zh == en, f"only in zh: {sorted(zh - en)}; only in en: {sorted(en - zh)}"
    used: set[str] = set()
    for module in (path for path in STATIC_FILES if path.suffix == ".js"):
        text = module.read_text()
        used |= set(re.findall(r'\bt\("([\w.\-]+)"', text))
        for title, lead in re.findall(r'pageHeader\("([\w.\-]+)", "([\w.\-]+)"', text):
            used |= {title, lead}
        used |= set(re.findall(r'\bnav: "([\w.\-]+)"', text))
    assert used, "the modules use the dictionary"
    assert used <= zh, f"keys used but not translated: {sorted(used - zh)}"


async def test_the_demo_accounts_are_offered_only_in_demo_mode(world: World) -> None:
    response = await world.client.get("/portal/demo")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "demo mode" in response.json()["detail"]

    async with AsyncExitStack() as stack:
        demo = await world.another_gateway(stack, demo=True)
        response = await demo.client.get("/portal/demo")
    assert response.status_code == 200
    accounts = response.json()
    assert [(r["key"], r["id_number"], r["name"]) for r in accounts["residents"]] == [
        (p.key, p.id_number, p.name) for p in PERSONAS
    ]
    assert all(r["story_zh"] and r["story_en"] and r["password"] == "czt-demo" for r in accounts["residents"])
    assert [o["username"] for o in accounts["officials"]] == [o.username for o in DEMO_OFFICIALS]
    assert {o["password"] for o in accounts["officials"]} == {"czt-official"}


async def test_demo_mode_without_the_residents_file_says_where_it_looked(world: World, tmp_path: Path) -> None:
    """The gateway knows no mock city's personas: `czt run` writes them, and without that file there is no picker."""
    async with AsyncExitStack() as stack:
        demo = await world.another_gateway(stack, demo=True)
        demo.gateway.state.settings.demo_residents_file = tmp_path / "missing.json"
        response = await demo.client.get("/portal/demo")
    assert response.status_code == 404
    assert "missing.json" in response.json()["detail"] and "czt run" in response.json()["detail"]


async def test_a_demo_account_from_the_picker_really_logs_in(world: World) -> None:
    async with AsyncExitStack() as stack:
        demo = await world.another_gateway(stack, demo=True)
        accounts = (await demo.client.get("/portal/demo")).json()
        for username, password in [
            (accounts["residents"][0]["id_number"], accounts["residents"][0]["password"]),
            (accounts["officials"][0]["username"], accounts["officials"][0]["password"]),
        ]:
            form = {"grant_type": "password", "username": username, "password": password}
            assert (await demo.client.post("/v1/auth/token", data=form)).status_code == 200


async def test_a_qr_code_is_an_svg_of_its_data(world: World) -> None:
    response = await world.client.get("/portal/qr.svg", params={"data": "http://127.0.0.1:8000/#/redeem/Z2FSDLU8"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-store"
    svg = response.text
    assert "<svg" in svg and "<path" in svg
    other = await world.client.get("/portal/qr.svg", params={"data": "http://127.0.0.1:8000/#/redeem/ABCDEFGH"})
    assert other.text != svg
    bigger = await world.client.get("/portal/qr.svg", params={"data": "x", "scale": 12})
    smaller = await world.client.get("/portal/qr.svg", params={"data": "x", "scale": 3})
    width = re.compile(r'<svg[^>]* width="(\d+)"')
    assert int(width.search(bigger.text).group(1)) == 4 * int(width.search(smaller.text).group(1))  # type: ignore[union-attr]
    chinese = await world.client.get("/portal/qr.svg", params={"data": "用证码 Z2FSDLU8"})
    assert chinese.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query.data"),
        ({"data": ""}, "query.data"),
        ({"data": "x" * (MAX_QR_DATA + 1)}, "query.data"),
        ({"data": "x", "scale": "0"}, "query.scale"),
        ({"data": "x", "scale": "big"}, "query.scale"),
    ],
)
async def test_a_qr_code_of_bad_input_is_a_422_naming_the_field(
    world: World, params: dict[str, str], field: str
) -> None:
    response = await world.client.get("/portal/qr.svg", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [param["name"] for param in response.json()["invalid-params"]] == [field]


async def test_the_portal_is_not_part_of_the_api_contract(world: World) -> None:
    paths = (await world.client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path == "/" or path.startswith("/portal")]
    assert "/portal" not in GATEWAY_CONTRACT
