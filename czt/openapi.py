"""``czt openapi``: the published contracts, ``openapi/gateway.json`` and ``openapi/city-exchange.json``.

Both documents are built from the app factories, never from a running server: the factories are called with
keys handed over in memory, so nothing is written to disk and no database is opened. The city exchange API is
one contract every city serves, so one neutral document stands for all of them (no city's name in it), holding
only the routes an integrator relies on — not a city's admin or metrics routes. The output is deterministic
(sorted keys, two-space indent, UTF-8 as is), so the committed files change only when the API does, and
``czt openapi check`` (and the test suite) fail when they no longer match the code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from commons.jwks import StaticKeys
from commons.keys import SigningKey
from mock_cities.settings import CitySettings

GATEWAY_DOCUMENT = "gateway.json"
CITY_DOCUMENT = "city-exchange.json"
DEFAULT_FOLDER = Path("openapi")

CITY_TITLE = "CZT city exchange API"
CITY_SUMMARY = (
    "The canonical exchange API every city backend serves to the gateway: "
    "the same routes, models and problem types in every city."
)
CITY_DESCRIPTION = (
    "Every route but `/health`, `/.well-known/jwks.json` and the public credential status list demands a "
    "gateway-signed service token for that city (`Authorization: Bearer …`, audience = the city's code). "
    "Answers under `/exchange/` and `/local/` carry the city's signature in `X-CZT-Signature`. "
    "`/local/v1/**` is informational: it returns the city's own records in its local dialect, which differs "
    "from city to city (`x-czt-informational`); integrators build on `/exchange/v1/**`. "
    "See docs/exchange-protocol.md."
)
CITY_CONTRACT_PREFIXES = ("/exchange/", "/local/", "/credentials/")
CITY_CONTRACT_PATHS = ("/health", "/.well-known/jwks.json")
"""What belongs to the city contract. Anything else a city serves (admin and fault-injection routes, metrics,
the docs pages) is the sandbox's own business and stays out of the document."""
INFORMATIONAL_PREFIX = "/local/"

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def gateway_document() -> dict[str, Any]:
    """The gateway's OpenAPI document, as its ``/openapi.json`` serves it."""
    # Imported here: every other ``czt`` command would otherwise pay for importing both whole apps.
    from gateway.app import create_app
    from gateway.settings import DEFAULT_CITIES, GatewaySettings

    # Given explicitly, so the environment (CZT_GATEWAY_POLICY …) cannot change what is exported.
    settings = GatewaySettings(policy="default", shadow_policy=None, cities=[c.model_copy() for c in DEFAULT_CITIES])
    app = create_app(settings, signing_key=SigningKey.generate(), hash_key=b"openapi-export-not-a-secret")
    return app.openapi()


def city_document(profile: str = "changsha") -> dict[str, Any]:
    """The city exchange contract as ``profile``'s backend serves it, stripped of the city's name."""
    from mock_cities.app import create_city_app

    key = SigningKey.generate()
    # Not in sandbox mode, whatever CZT_CITY_SANDBOX says: its admin routes are no part of the contract anyway.
    settings = CitySettings(profile=profile, sandbox=False)
    app = create_city_app(settings, key_source=StaticKeys(key.jwks()), signing_key=key)
    return neutral_city_contract(app.openapi())


def neutral_city_contract(served: dict[str, Any]) -> dict[str, Any]:
    """Only the contract's routes of a city's served document, with the components they use, under a title
    that names no city."""
    paths = {
        path: _mark_informational(path, item)
        for path, item in served.get("paths", {}).items()
        if path in CITY_CONTRACT_PATHS or path.startswith(CITY_CONTRACT_PREFIXES)
    }
    document = {**served, "paths": paths}
    document["info"] = {
        **served.get("info", {}),
        "title": CITY_TITLE,
        "summary": CITY_SUMMARY,
        "description": CITY_DESCRIPTION,
    }
    document["components"] = _used_components(paths, served.get("components", {}))
    if not document["components"]:
        del document["components"]
    return document


def _mark_informational(path: str, item: dict[str, Any]) -> dict[str, Any]:
    if not path.startswith(INFORMATIONAL_PREFIX):
        return item
    return {
        method: {**operation, "x-czt-informational": True} if method in _METHODS else operation
        for method, operation in item.items()
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _security_schemes(paths: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for item in paths.values():
        for method, operation in item.items():
            if method in _METHODS:
                for requirement in operation.get("security", []):
                    names.update(requirement)
    return names


def _used_components(paths: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The components reachable from ``paths`` (``$ref`` by ``$ref``, and the security schemes named)."""
    used: dict[str, set[str]] = {}
    pending = list(_refs(paths))
    while pending:
        ref = pending.pop()
        if not ref.startswith("#/components/"):
            continue
        section, _, name = ref.removeprefix("#/components/").partition("/")
        if name in used.get(section, set()):
            continue
        used.setdefault(section, set()).add(name)
        pending.extend(_refs(components.get(section, {}).get(name, {})))
    schemes = _security_schemes(paths)
    if schemes:
        used.setdefault("securitySchemes", set()).update(schemes)
    return {
        section: {name: value for name, value in items.items() if name in used.get(section, set())}
        for section, items in components.items()
        if used.get(section)
    }


def documents() -> dict[str, dict[str, Any]]:
    """Every published document by file name."""
    return {GATEWAY_DOCUMENT: gateway_document(), CITY_DOCUMENT: city_document()}


def render(document: dict[str, Any]) -> str:
    """The committed form: sorted keys, indent 2, non-ASCII kept, one trailing newline."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def export(folder: Path) -> list[Path]:
    """Write every document into ``folder`` (created if missing); the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents().items():
        path = folder / name
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written


@dataclass(frozen=True)
class Drift:
    """One committed document that no longer matches the code, and how."""

    file: Path
    changes: list[str]


def check(folder: Path) -> list[Drift]:
    """Compare the committed documents in ``folder`` with the code's; one :class:`Drift` per differing file."""
    drifts = []
    for name, current in documents().items():
        path = folder / name
        if not path.is_file():
            drifts.append(Drift(path, ["missing (never exported)"]))
            continue
        text = path.read_text(encoding="utf-8")
        if text == render(current):
            continue
        try:
            committed = json.loads(text)
        except json.JSONDecodeError as exc:
            drifts.append(Drift(path, [f"not valid JSON (line {exc.lineno}: {exc.msg})"]))
            continue
        changes = describe_changes(committed, current) if isinstance(committed, dict) else ["not a JSON object"]
        drifts.append(Drift(path, changes or ["formatting only (not in the exported form)"]))
    return drifts


def _operations(document: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document.get("paths", {}).items()
        if isinstance(item, dict)
        for method, operation in item.items()
        if method in _METHODS
    }


def _compare(kind: str, committed: dict[str, Any], current: dict[str, Any]) -> list[str]:
    lines = [f"+ {kind} {name}" for name in sorted(current.keys() - committed.keys())]
    lines += [f"- {kind} {name}" for name in sorted(committed.keys() - current.keys())]
    lines += [
        f"~ {kind} {name}"
        for name in sorted(committed.keys() & current.keys())
        if render(committed[name]) != render(current[name])
    ]
    return lines


def describe_changes(committed: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What the code changed against the committed document: ``+`` added, ``-`` removed, ``~`` changed —
    operations, component schemas, and any other top-level member."""
    lines = _compare("operation", _operations(committed), _operations(current))
    lines += _compare(
        "schema",
        committed.get("components", {}).get("schemas", {}),
        current.get("components", {}).get("schemas", {}),
    )
    others = {key: value for key, value in current.items() if key != "paths"}
    committed_others = {key: value for key, value in committed.items() if key != "paths"}
    if "components" in others or "components" in committed_others:
        # Schemas are listed one by one above; the rest of the components as one member each.
        others["components"] = {k: v for k, v in current.get("components", {}).items() if k != "schemas"}
        committed_others["components"] = {k: v for k, v in committed.get("components", {}).items() if k != "schemas"}
    lines += _compare("member", committed_others, others)
    return lines


openapi_app = typer.Typer(
    help="The OpenAPI contracts in openapi/: export them from the code, or check the committed ones.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)  # paths and diff lines stay whole, whatever the terminal width

Folder = Annotated[
    Path, typer.Option("--out", help="Folder of the documents (gateway.json, city-exchange.json)", file_okay=False)
]


@openapi_app.command("export")
def export_command(out: Folder = DEFAULT_FOLDER) -> None:
    """Write openapi/gateway.json and openapi/city-exchange.json from the code (`make openapi`)."""
    for path in export(out):
        console.print(f"wrote {escape(str(path))}")


@openapi_app.command("check")
def check_command(out: Folder = DEFAULT_FOLDER) -> None:
    """Exit 1 naming every committed document that no longer matches the code, with what changed."""
    if not out.is_dir():
        console.print(f"[red]no folder {escape(str(out))}[/] (run `make openapi` to export the documents)")
        raise typer.Exit(2)
    drifts = check(out)
    if not drifts:
        console.print(f"[green]OpenAPI documents in {escape(str(out))} match the code[/]")
        return
    for drift in drifts:
        console.print(f"[red]{escape(str(drift.file))} is out of date:[/]")
        for line in drift.changes:
            console.print(f"  {line}", markup=False, highlight=False)
    console.print("Run `make openapi` (czt openapi export) and commit the documents.")
    raise typer.Exit(1)
