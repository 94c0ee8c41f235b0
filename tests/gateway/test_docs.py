"""The API documentation pages work offline: no CDN, assets served by the app itself."""

from __future__ import annotations

import re

import pytest

from tests.conftest import World


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_nothing_from_outside(world: World, page: str) -> None:
    html = (await world.client.get(page)).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert not [source for source in sources if source.startswith(("http://", "https://", "//"))]
    for source in sources:
        asset = await world.client.get(source)
        assert asset.status_code == 200, source


async def test_openapi_names_every_gateway_route(world: World) -> None:
    paths = set((await world.client.get("/openapi.json")).json()["paths"])
    assert {
        "/v1/auth/token",
        "/v1/auth/me",
        "/.well-known/jwks.json",
        "/v1/me/records",
        "/v1/me/records/{city_code}/local",
        "/v1/residents/{id_number}/records",
        "/v1/health",
    } <= paths
