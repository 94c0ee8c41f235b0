"""Token endpoint (OAuth2 password and client-credentials grants) and the published keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from commons.problems import problem_responses
from gateway.auth import service
from gateway.auth.models import Principal, TokenResponse
from gateway.deps import CurrentPrincipal, SessionDep, SettingsDep, SigningKeyDep

router = APIRouter()
_basic = HTTPBasic(auto_error=False)


@router.post("/v1/auth/token", tags=["auth"], responses=problem_responses(400, 401, 422))
def issue_token(
    session: SessionDep,
    settings: SettingsDep,
    key: SigningKeyDep,
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    grant_type: Annotated[str, Form(description="'password' or 'client_credentials'")],
    username: Annotated[str | None, Form(description="Resident: the 18-digit ID number; official: user name")] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str, Form()] = "",
) -> TokenResponse:
    """Log in (一网通办统一登录): password grant for residents and officials, client credentials for systems."""
    if grant_type == "password":
        if not username or password is None:
            raise service.InvalidGrant("the password grant needs username and password")
        principal = service.authenticate_user(
            session=session, username=username, password=password, client_id=client_id
        )
    elif grant_type == "client_credentials":
        cid, secret = (basic.username, basic.password) if basic else (client_id, client_secret)
        if not cid or secret is None:
            raise service.InvalidClient("the client_credentials grant needs client_id and client_secret")
        principal = service.authenticate_client(session=session, client_id=cid, client_secret=secret)
    else:
        raise service.UnsupportedGrantType(f"grant_type {grant_type!r} is not supported")
    return service.issue_access_token(
        principal=principal,
        key=key,
        issuer=settings.issuer,
        audience=settings.audience,
        ttl_s=settings.access_token_ttl_s,
    )


@router.get("/v1/auth/me", tags=["auth"], responses=problem_responses(401))
def who_am_i(principal: CurrentPrincipal) -> Principal:
    """The principal the presented access token stands for."""
    return principal


@router.get("/.well-known/jwks.json", tags=["keys"])
def jwks(key: SigningKeyDep) -> dict[str, Any]:
    """The gateway's public signing keys (JWKS); cities verify service tokens against them."""
    return key.jwks()
