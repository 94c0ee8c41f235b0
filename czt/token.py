"""``czt token service``: a gateway-signed service token, to call one city's exchange API directly.

In production only the gateway calls a city. In the sandbox an integrator may call a city as the gateway
would — to build a city backend, or to see what the gateway sees — with a token this command signs with the
sandbox gateway's own key (``<data_dir>/keys/gateway-es256.pem``), carrying the same claims the gateway's
:class:`~gateway.exchange.tokens.ServiceTokenMinter` puts in every call::

    TOKEN=$(czt token service --audience 430200 --subject 430203199005129171)
    curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8002/exchange/v1/persons/430203199005129171/records

Only the token goes to stdout (hints go to stderr), so ``$(…)`` captures it. Sandbox mode only: a gateway key
signs tokens every city accepts, so the command refuses unless ``czt run`` is running a sandbox from the data
folder (``sandbox.json``) or ``CZT_GATEWAY_SANDBOX=true`` says this deployment is a sandbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.markup import escape

from commons.keys import SigningKey
from czt.sandbox import NoSandbox, SandboxInfo, read_sandbox
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.settings import GatewaySettings
from schemas.idcard import InvalidIdNumber, mask_id_number, validate_id_number
from schemas.purposes import Purpose

token_app = typer.Typer(help="Service tokens for calling one city directly (sandbox only).", no_args_is_help=True)
hints = Console(stderr=True)

CLIENT_ID = "czt-token-service"
"""The ``client_id`` claim of these tokens: a city's access log shows the call came from this command."""
MAX_TTL_S = 3600


class SandboxSwitch(BaseSettings):
    """``CZT_GATEWAY_SANDBOX``: a deployment without ``czt run`` (docker-compose, a CI job) declares itself a
    sandbox. Read here rather than in :class:`GatewaySettings`: the gateway itself has no use for it."""

    model_config = SettingsConfigDict(env_prefix="CZT_GATEWAY_", extra="ignore")

    sandbox: bool = False


class NotASandbox(Exception):
    """Gateway-signed tokens are refused outside sandbox mode, or the sandbox's key cannot be found."""


@dataclass(frozen=True)
class SandboxGateway:
    """The sandbox gateway's signing key and issuer, and the running sandbox when ``sandbox.json`` is there."""

    key: SigningKey
    issuer: str
    info: SandboxInfo | None


def sandbox_gateway(data_dir: Path) -> SandboxGateway:
    """The sandbox gateway's key; :class:`NotASandbox` outside sandbox mode or when the key is missing."""
    try:
        info: SandboxInfo | None = read_sandbox(data_dir)
    except NoSandbox as exc:
        if not _sandbox_declared():
            raise NotASandbox(
                f"refused: {exc}. Gateway-signed tokens are issued in sandbox mode only "
                "(or set CZT_GATEWAY_SANDBOX=true where this deployment is a sandbox)."
            ) from None
        info = None
    except (ValidationError, ValueError) as exc:
        raise NotASandbox(f"refused: {data_dir}/sandbox.json cannot be read ({exc.__class__.__name__})") from None
    try:
        settings = GatewaySettings(data_dir=data_dir)
    except ValidationError as exc:
        raise NotASandbox(f"the gateway's settings (CZT_GATEWAY_*) are invalid: {exc.errors()[0]['msg']}") from None
    key_file = settings.resolved_signing_key_file
    # load_or_create would make a fresh key no city trusts: a missing key is an error, not something to create.
    if not key_file.exists():
        raise NotASandbox(f"no gateway key at {key_file}: start the sandbox (`czt run`) from {data_dir}/ first")
    try:
        key = SigningKey.load_or_create(key_file)
    except (ValueError, OSError) as exc:
        raise NotASandbox(f"cannot read the gateway key at {key_file}: {exc.__class__.__name__}") from None
    return SandboxGateway(key=key, issuer=settings.issuer, info=info)


def _sandbox_declared() -> bool:
    try:
        return SandboxSwitch().sandbox
    except ValidationError:
        raise NotASandbox("CZT_GATEWAY_SANDBOX must be true or false") from None


def resolve_audience(audience: str, info: SandboxInfo | None) -> str:
    """The city code the token is for: a 6-digit code, or with a running sandbox one of its cities (also by name)."""
    if info is not None:
        city = info.city(audience)
        if city is None:
            known = ", ".join(f"{c.code} ({c.slug})" for c in info.cities)
            raise typer.BadParameter(
                f"{audience!r} is no city of the running sandbox: {known}", param_hint="--audience"
            )
        return city.code
    if not (len(audience) == 6 and audience.isascii() and audience.isdigit()):
        raise typer.BadParameter(f"{audience!r} must be a 6-digit city code, e.g. 430200", param_hint="--audience")
    return audience


def resolve_subject(subject: str) -> str:
    try:
        return validate_id_number(subject)
    except InvalidIdNumber as exc:
        raise typer.BadParameter(f"{subject!r} is not a valid ID number: {exc}", param_hint="--subject") from None


DataDir = Annotated[Path, typer.Option(help="The sandbox's data folder (sandbox.json, keys/)")]


@token_app.command("service")
def service_token(
    audience: Annotated[
        str, typer.Option(help="The city the token is for: its code (430200), or a sandbox city's name (zhuzhou)")
    ],
    subject: Annotated[str, typer.Option(help="The resident the call is about: an 18-character ID number")],
    purpose: Annotated[
        Purpose,
        typer.Option(help="Why: fund-transfer for transfer steps, medical-settlement for claims, medical-filing …"),
    ] = Purpose.SELF_SERVICE,
    ttl: Annotated[int, typer.Option(min=1, max=MAX_TTL_S, help="Seconds the token stays valid")] = 300,
    data_dir: DataDir = Path("var"),
) -> None:
    """Print a gateway-signed service token (only the token, on stdout) for calling one city directly."""
    id_number = resolve_subject(subject)
    try:
        gateway = sandbox_gateway(data_dir)
    except NotASandbox as exc:
        hints.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    city_code = resolve_audience(audience, gateway.info)
    minter = ServiceTokenMinter(gateway.key, issuer=gateway.issuer, ttl_s=ttl)
    token = minter.mint(
        city_code=city_code,
        subject=id_number,
        client_id=CLIENT_ID,
        purpose=purpose.value,
        # No policy decided this call: the id says so wherever the city logs it.
        decision_id=f"sandbox-{uuid.uuid4().hex}",
    )
    typer.echo(token)
    until = (datetime.now(UTC) + timedelta(seconds=ttl)).astimezone().strftime("%H:%M:%S")
    city = gateway.info.city(city_code) if gateway.info else None
    where = f"{city.name} {city.code}" if city else city_code
    hints.print(
        f"service token for {escape(where)}: subject {mask_id_number(id_number)}, purpose {purpose.value}, "
        f"valid until {until}",
        highlight=False,
    )
    if city is not None:
        hints.print(
            f'  curl -H "Authorization: Bearer $TOKEN" {city.url}/exchange/v1/persons/{id_number}/records',
            highlight=False,
            soft_wrap=True,
        )
