"""FastAPI dependencies of a city backend, as named types."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from commons.server_timing import timed
from mock_cities.auth import KeySource, ServiceTokenRejected, verify_service_token
from mock_cities.dialects import Dialect
from mock_cities.profiles import CityProfile
from schemas.service_token import ServiceTokenClaims

T = TypeVar("T")
log = logging.getLogger("czt.city.access")
_bearer = HTTPBearer(auto_error=False, description="Gateway-signed service token (ES256)")

# The dependencies below do no I/O, so they are ``async def``: FastAPI would run a plain ``def`` in the thread
# pool, and each trip there and back costs more than the dependency itself.


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; it connects on first use, in the endpoint's worker thread."""
    engine: Engine = request.app.state.engine
    session = Session(engine)
    try:
        yield session
    finally:
        # Closing hands the connection back to the pool, which rolls its transaction back: database work, done in
        # the thread pool. A session that holds no transaction (never used, or closed by ``in_thread``) has none.
        if session.in_transaction():
            # Shielded: when the request is cancelled (the caller's deadline passed) the session must still go
            # back to the pool, or its connection stays checked out until the garbage collector finds it.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)
        else:
            session.close()


async def in_thread(session: Session, work: Callable[[], T]) -> T:
    """Run ``work`` (database reads on ``session``) in the thread pool, and close the session in the same trip.

    For ``async def`` routes: one trip to the thread pool per request, where a plain ``def`` route makes several
    (the route, then FastAPI's check of its answer, then closing the session).
    """

    def work_then_close() -> T:
        try:
            return work()
        finally:
            session.close()

    return await run_in_threadpool(work_then_close)


async def get_profile(request: Request) -> CityProfile:
    profile: CityProfile = request.app.state.profile
    return profile


async def get_dialect(request: Request) -> Dialect:
    dialect: Dialect = request.app.state.dialect
    return dialect


async def require_service_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ServiceTokenClaims:
    if credentials is None:
        raise ServiceTokenRejected("a gateway service token is required")
    profile: CityProfile = request.app.state.profile
    keys: KeySource = request.app.state.key_source
    with timed("auth"):
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
