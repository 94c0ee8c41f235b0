"""FastAPI dependencies of the gateway, as named types.

Every dependency that neither blocks nor waits is an ``async def``: FastAPI runs a plain ``def`` dependency in
its thread pool, a hop through a queue and the GIL that cost more than the dependency itself (a lookup needed
seven of them; docs/performance.md). ``get_session`` stays a plain generator: closing a session may wait on the
database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from commons.keys import SigningKey
from commons.server_timing import timed
from gateway.access import AccessDenied
from gateway.auth.demo import ADMIN_SCOPE
from gateway.auth.models import Principal, PrincipalKind
from gateway.auth.service import InvalidToken, read_access_token
from gateway.exchange.registry import CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.policy.service import Governance
from gateway.settings import GatewaySettings

_oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


async def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


async def get_signing_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.signing_key
    return key


async def get_registry(request: Request) -> CityRegistry:
    registry: CityRegistry = request.app.state.registry
    return registry


async def get_hash_key(request: Request) -> bytes:
    """The gateway's pseudonym secret: data subjects are named by ``governance.masks.pseudonym`` under it."""
    key: bytes = request.app.state.hash_key
    return key


async def get_minter(request: Request) -> ServiceTokenMinter:
    minter: ServiceTokenMinter = request.app.state.minter
    return minter


async def get_governance(request: Request) -> Governance:
    governance: Governance = request.app.state.governance
    return governance


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
SigningKeyDep = Annotated[SigningKey, Depends(get_signing_key)]
RegistryDep = Annotated[CityRegistry, Depends(get_registry)]
MinterDep = Annotated[ServiceTokenMinter, Depends(get_minter)]
HashKeyDep = Annotated[bytes, Depends(get_hash_key)]
GovernanceDep = Annotated[Governance, Depends(get_governance)]


async def get_current_principal(
    token: Annotated[str | None, Depends(_oauth2)], settings: SettingsDep, key: SigningKeyDep
) -> Principal:
    if token is None:
        raise InvalidToken("a bearer access token is required")
    with timed("auth"):
        return read_access_token(token, key=key, issuer=settings.issuer, audience=settings.audience)


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


async def get_current_resident(principal: CurrentPrincipal) -> Principal:
    if principal.kind is not PrincipalKind.RESIDENT:
        raise AccessDenied("only residents can use this; officials and clients name a resident explicitly")
    return principal


ResidentDep = Annotated[Principal, Depends(get_current_resident)]


async def get_current_admin(principal: CurrentPrincipal) -> Principal:
    if ADMIN_SCOPE not in principal.scopes:
        raise AccessDenied(f"this needs the {ADMIN_SCOPE} scope (an auditor's API client, e.g. demo-auditor)")
    return principal


AdminDep = Annotated[Principal, Depends(get_current_admin)]
