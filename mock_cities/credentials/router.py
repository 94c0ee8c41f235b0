"""The credential office's routes: issue and revoke on the exchange, the status list also in public."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from commons.keys import SigningKey
from commons.problems import problem_responses
from mock_cities.credentials import service
from mock_cities.credentials.models import CredentialSettings
from mock_cities.deps import DialectDep, ProfileDep, ServiceCallerDep, SessionDep
from schemas.credentials import (
    STATUS_LIST_TYPE,
    CredentialRequest,
    CredentialRevocation,
    IssuedCredential,
    RevocationRequest,
)
from schemas.idcard import IdNumber

STATUS_LIST_MEDIA_TYPE = f"application/{STATUS_LIST_TYPE}"
_STATUS_LIST_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {STATUS_LIST_MEDIA_TYPE: {"schema": {"type": "string"}}}}
}

exchange_router = APIRouter(prefix="/exchange/v1", tags=["credentials"], responses=problem_responses(401, 404, 422))
public_router = APIRouter(tags=["credentials"])


def get_signing_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.signing_key
    return key


def get_credential_settings(request: Request) -> CredentialSettings:
    settings: CredentialSettings = request.app.state.credential_settings
    return settings


SigningKeyDep = Annotated[SigningKey, Depends(get_signing_key)]
CredentialSettingsDep = Annotated[CredentialSettings, Depends(get_credential_settings)]
Jti = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The credential's id (its jti claim)")]


@exchange_router.post("/persons/{id_number}/credentials")
def issue_credential(
    id_number: IdNumber,
    body: CredentialRequest,
    _caller: ServiceCallerDep,
    session: SessionDep,
    profile: ProfileDep,
    dialect: DialectDep,
    key: SigningKeyDep,
    settings: CredentialSettingsDep,
) -> IssuedCredential:
    """Issue a signed credential (证书, 职称, 继续教育学时证明, 公积金缴存证明) on one of the person's records here."""
    return service.issue_credential(
        session=session,
        dialect=dialect,
        profile=profile,
        key=key,
        settings=settings,
        id_number=id_number,
        request=body,
    )


@exchange_router.post("/credentials/{jti}/revoke")
def revoke_credential(
    jti: Jti, body: RevocationRequest, caller: ServiceCallerDep, session: SessionDep, profile: ProfileDep
) -> CredentialRevocation:
    """Revoke a credential this city issued; its bit is set in the next status list."""
    return service.revoke_credential(
        session=session, profile=profile, jti=jti, revoked_by=caller.sub, reason=body.reason
    )


@exchange_router.get(
    "/credentials/status-list",
    response_class=Response,
    responses=_STATUS_LIST_RESPONSE,
)
def exchange_status_list(
    _caller: ServiceCallerDep,
    session: SessionDep,
    profile: ProfileDep,
    key: SigningKeyDep,
    settings: CredentialSettingsDep,
) -> Response:
    """The signed status list, over the exchange (the answer is signed too)."""
    token = service.signed_status_list(session=session, profile=profile, key=key, settings=settings)
    return Response(token, media_type=STATUS_LIST_MEDIA_TYPE)


@public_router.get("/credentials/status-list", response_class=Response, responses=_STATUS_LIST_RESPONSE)
def public_status_list(
    session: SessionDep, profile: ProfileDep, key: SigningKeyDep, settings: CredentialSettingsDep
) -> Response:
    """The signed status list of this city's credentials (revoked bits set); public, like the JWKS."""
    token = service.signed_status_list(session=session, profile=profile, key=key, settings=settings)
    return Response(token, media_type=STATUS_LIST_MEDIA_TYPE)
