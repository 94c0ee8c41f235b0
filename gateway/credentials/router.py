"""Credential routes: obtain (residents), verify (anyone signed in), revoke (the issuing city), 用证码."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status

from commons.problems import problem_responses
from gateway.credentials import service
from gateway.credentials.models import (
    CredentialOrder,
    RedeemedCredential,
    RedemptionRequest,
    UsageCodeRequest,
    UsageCodeResponse,
    VerificationRequest,
)
from gateway.deps import CurrentPrincipal, GovernanceDep, MinterDep, RegistryDep, SessionDep
from schemas.credentials import CredentialRevocation, CredentialVerification, IssuedCredential, RevocationRequest

router = APIRouter(tags=["credentials"], responses=problem_responses(401, 403, 422))


def get_status_lists(request: Request) -> service.StatusListCache:
    status_lists: service.StatusListCache = request.app.state.status_lists
    return status_lists


StatusListsDep = Annotated[service.StatusListCache, Depends(get_status_lists)]
Jti = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The credential's id (its jti claim)")]


@router.post("/v1/me/credentials", status_code=status.HTTP_201_CREATED, responses=problem_responses(404, 502))
async def obtain_credential(
    body: CredentialOrder,
    request: Request,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    minter: MinterDep,
    governance: GovernanceDep,
) -> IssuedCredential:
    """A credential signed by a city on one of my records there (证书, 职称, 继续教育学时证明, 公积金缴存证明)."""
    return await service.obtain_credential(
        governance=governance,
        registry=registry,
        minter=minter,
        principal=principal,
        order=body,
        request_id=request.state.request_id,
    )


@router.post("/v1/credentials/verify")
async def verify_credential(
    body: VerificationRequest,
    request: Request,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    minter: MinterDep,
    status_lists: StatusListsDep,
    governance: GovernanceDep,
) -> CredentialVerification:
    """Verify a credential: signature, trusted issuer, validity, revocation; valid or not, with the reason."""
    return await service.verify_presented_credential(
        governance=governance,
        token=body.credential,
        registry=registry,
        minter=minter,
        status_lists=status_lists,
        principal=principal,
        request_id=request.state.request_id,
    )


@router.post("/v1/credentials/{jti}/revoke", responses=problem_responses(404, 502))
async def revoke_credential(
    jti: Jti,
    body: RevocationRequest,
    request: Request,
    principal: CurrentPrincipal,
    registry: RegistryDep,
    minter: MinterDep,
    status_lists: StatusListsDep,
    governance: GovernanceDep,
) -> CredentialRevocation:
    """Revoke a credential my city issued (officials of the issuing city only)."""
    return await service.revoke_credential(
        governance=governance,
        registry=registry,
        minter=minter,
        status_lists=status_lists,
        principal=principal,
        jti=jti,
        request=body,
        request_id=request.state.request_id,
    )


@router.post("/v1/me/credentials/usage-codes", status_code=status.HTTP_201_CREATED)
async def create_usage_code(
    body: UsageCodeRequest,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    registry: RegistryDep,
    minter: MinterDep,
    status_lists: StatusListsDep,
) -> UsageCodeResponse:
    """A one-time 用证码 for one of my credentials, bound to one purpose, for a verifier to redeem."""
    return await service.create_usage_code(
        session=session,
        registry=registry,
        minter=minter,
        status_lists=status_lists,
        principal=principal,
        token=body.credential,
        purpose=body.purpose,
        validity_s=body.validity_s,
        request_id=request.state.request_id,
    )


@router.post("/v1/credentials/redeem", responses=problem_responses(404, 409, 410))
async def redeem_usage_code(
    body: RedemptionRequest,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    registry: RegistryDep,
    minter: MinterDep,
    status_lists: StatusListsDep,
    governance: GovernanceDep,
) -> RedeemedCredential:
    """Redeem a 用证码 (once, for its purpose, before it expires): the credential and its verification."""
    return await service.redeem_usage_code(
        governance=governance,
        session=session,
        registry=registry,
        minter=minter,
        status_lists=status_lists,
        principal=principal,
        code=body.code,
        purpose=body.purpose,
        request_id=request.state.request_id,
    )
