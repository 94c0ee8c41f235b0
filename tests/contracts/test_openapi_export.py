"""The OpenAPI documents in openapi/ are the code's: a route, a model or a response changed without
``make openapi`` fails here, naming what differs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from typer.testing import CliRunner

from commons.jwks import StaticKeys
from commons.keys import SigningKey
from czt import openapi
from czt.cli import app as cli
from mock_cities.app import create_city_app
from mock_cities.profiles import builtin_profiles
from mock_cities.settings import CitySettings

COMMITTED = Path(__file__).resolve().parents[2] / "openapi"
runner = CliRunner()


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return openapi.documents()


@pytest.mark.parametrize("name", [openapi.GATEWAY_DOCUMENT, openapi.CITY_DOCUMENT])
def test_committed_document_matches_the_code(documents: dict[str, dict[str, Any]], name: str) -> None:
    path = COMMITTED / name
    assert path.is_file(), f"{path} is missing: run `make openapi` and commit it"
    committed_text = path.read_text(encoding="utf-8")
    current = documents[name]
    if committed_text != openapi.render(current):
        changes = openapi.describe_changes(json.loads(committed_text), current) or ["formatting only"]
        pytest.fail(
            f"openapi/{name} no longer matches the code: run `make openapi` and commit it.\n"
            "Changes in the code against the committed file (+ added, - removed, ~ changed):\n  "
            + "\n  ".join(changes),
            pytrace=False,
        )


def test_export_is_deterministic_and_writes_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # default settings would put keys and databases under ./var
    first = openapi.export(tmp_path / "first")
    second = openapi.export(tmp_path / "second")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "second"]
    text = first[0].read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert "一网通办" in text  # UTF-8 as is, not \u escapes
    assert openapi.check(tmp_path / "first") == []


def test_one_neutral_city_contract_for_every_city(documents: dict[str, dict[str, Any]]) -> None:
    contract = documents[openapi.CITY_DOCUMENT]
    assert contract["info"]["title"] == "CZT city exchange API"
    rendered = openapi.render(contract["info"])
    for profile in builtin_profiles():
        assert openapi.city_document(profile.slug) == contract, profile.slug
        assert profile.name not in rendered and profile.name_en not in rendered and profile.code not in rendered


def test_city_contract_holds_the_exchange_routes_and_only_them(documents: dict[str, dict[str, Any]]) -> None:
    paths = documents[openapi.CITY_DOCUMENT]["paths"]
    assert {
        "/health",
        "/.well-known/jwks.json",
        "/exchange/v1/persons/{id_number}/records",
        "/exchange/v1/provident-fund/transfers/{transfer_id}/reserve",
        "/local/v1/persons/{id_number}",
    } <= set(paths)
    assert all(path in openapi.CITY_CONTRACT_PATHS or path.startswith(openapi.CITY_CONTRACT_PREFIXES) for path in paths)
    assert paths["/local/v1/persons/{id_number}"]["get"]["x-czt-informational"] is True
    assert "x-czt-informational" not in paths["/exchange/v1/persons/{id_number}/records"]["get"]


class FaultPlan(BaseModel):
    latency_ms: int


def city_with_sandbox_routes() -> FastAPI:
    key = SigningKey.generate()
    app = create_city_app(CitySettings(profile="zhuzhou"), key_source=StaticKeys(key.jwks()), signing_key=key)

    @app.put("/_admin/faults")
    def set_faults(plan: FaultPlan) -> FaultPlan:
        return plan

    @app.get("/metrics")
    def metrics() -> str:
        return ""

    return app


def test_admin_and_metrics_routes_stay_out_of_the_city_contract() -> None:
    served = city_with_sandbox_routes().openapi()
    assert {"/_admin/faults", "/metrics"} <= set(served["paths"])
    assert "FaultPlan" in served["components"]["schemas"]

    contract = openapi.neutral_city_contract(served)
    assert not {"/_admin/faults", "/metrics"} & set(contract["paths"])
    assert "FaultPlan" not in contract["components"]["schemas"]  # nothing left refers to it
    assert {"Problem", "InvalidParam", "PersonRecords"} <= set(contract["components"]["schemas"])
    assert set(contract["components"]["securitySchemes"]) == {"HTTPBearer"}
    dangling = {
        ref
        for ref in openapi._refs(contract)
        if ref.removeprefix("#/components/schemas/") not in contract["components"]["schemas"]
    }
    assert not dangling


def test_a_city_in_sandbox_mode_serves_the_same_contract(documents: dict[str, dict[str, Any]]) -> None:
    key = SigningKey.generate()
    settings = CitySettings(profile="xiangtan", sandbox=True, admin_token="contract-test-admin-token")
    served = create_city_app(settings, key_source=StaticKeys(key.jwks()), signing_key=key).openapi()
    # Its /_admin routes may or may not be in its own document; the contract is the same either way.
    assert openapi.neutral_city_contract(served) == documents[openapi.CITY_DOCUMENT]


def test_describe_changes_names_operations_and_schemas(documents: dict[str, dict[str, Any]]) -> None:
    current = documents[openapi.CITY_DOCUMENT]
    committed = json.loads(openapi.render(current))
    committed["paths"]["/old/route"] = {"get": {"responses": {}}}
    del committed["paths"]["/health"]
    committed["paths"]["/exchange/v1/rules"]["get"]["summary"] = "Something else"
    del committed["components"]["schemas"]["TransferSlip"]
    committed["info"]["version"] = "0.0.1"

    assert openapi.describe_changes(committed, current) == [
        "+ operation GET /health",
        "- operation GET /old/route",
        "~ operation GET /exchange/v1/rules",
        "+ schema TransferSlip",
        "~ member info",
    ]


def test_czt_openapi_check_names_the_drifted_file(tmp_path: Path) -> None:
    folder = tmp_path / "openapi"
    exported = runner.invoke(cli, ["openapi", "export", "--out", str(folder)])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in folder.iterdir()) == ["city-exchange.json", "gateway.json"]
    assert runner.invoke(cli, ["openapi", "check", "--out", str(folder)]).exit_code == 0

    gateway = json.loads((folder / "gateway.json").read_text(encoding="utf-8"))
    del gateway["paths"]["/v1/health"]
    (folder / "gateway.json").write_text(openapi.render(gateway), encoding="utf-8")
    result = runner.invoke(cli, ["openapi", "check", "--out", str(folder)])
    assert result.exit_code == 1
    assert "gateway.json is out of date" in result.output
    assert "+ operation GET /v1/health" in result.output
    assert "city-exchange.json" not in result.output
    assert "make openapi" in result.output

    (folder / "city-exchange.json").write_text("{not json", encoding="utf-8")
    result = runner.invoke(cli, ["openapi", "check", "--out", str(folder)])
    assert result.exit_code == 1
    assert "city-exchange.json is out of date" in result.output and "not valid JSON" in result.output


def test_czt_openapi_check_refuses_a_missing_folder_and_export_a_file(tmp_path: Path) -> None:
    missing = runner.invoke(cli, ["openapi", "check", "--out", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "no folder" in missing.output

    a_file = tmp_path / "file.json"
    a_file.write_text("{}", encoding="utf-8")
    refused = runner.invoke(cli, ["openapi", "export", "--out", str(a_file)])
    assert refused.exit_code == 2
    assert a_file.read_text(encoding="utf-8") == "{}"
