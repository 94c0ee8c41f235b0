"""FastAPI dependencies of a city backend, as named types."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from mock_cities.auth import KeySource, ServiceTokenRejected, verify_service_token
from mock_cities.dialects import Dialect
from mock_cities.profiles import CityProfile
from schemas.service_token import ServiceTokenClaims

log = logging.getLogger("czt.city.access")
_bearer = HTTPBearer(auto_error=False, description="Gateway-signed service token (ES256)")


def get_session(request: Request) -> Iterator[Session]:
    engine: Engine = request.app.state.engine
    with Session(engine) as session:
        yield session


def get_profile(request: Request) -> CityProfile:
    profile: CityProfile = request.app.state.profile
    return profile


def get_dialect(request: Request) -> Dialect:
    dialect: Dialect = request.app.state.dialect
    return dialect


async def require_service_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ServiceTokenClaims:
    if credentials is None:
        raise ServiceTokenRejected("a gateway service token is required")
    profile: CityProfile = request.app.state.profile
    keys: KeySource = request.app.state.key_source
    claims = await verify_service_token(
        credentials.credentials, keys=keys, city_code=profile.code, issuer=request.app.state.gateway_issuer
    )
    # The city's own access log: who asked, for whom, why, under which gateway decision.
    log.info(
        "exchange call path=%s sub=%s client=%s purpose=%s decision=%s jti=%s",
        request.url.path,
        claims.sub,
        claims.client_id,
        claims.purpose,
        claims.decision_id,
        claims.jti,
    )
    return claims


SessionDep = Annotated[Session, Depends(get_session)]
ProfileDep = Annotated[CityProfile, Depends(get_profile)]
DialectDep = Annotated[Dialect, Depends(get_dialect)]
ServiceCallerDep = Annotated[ServiceTokenClaims, Depends(require_service_token)]
