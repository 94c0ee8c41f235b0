"""The gateway app factory. ``uvicorn --factory gateway.app:create_app`` serves it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from commons.db import make_engine
from commons.keys import SigningKey
from commons.logs import configure_logging
from commons.problems import ProblemSpec, install_problem_handlers
from commons.request_id import RequestIdMiddleware
from gateway.access import AccessDenied
from gateway.auth.router import router as auth_router
from gateway.auth.service import InvalidClient, InvalidGrant, InvalidToken, UnsupportedGrantType
from gateway.db import metadata
from gateway.exchange.registry import CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.provident_fund.router import router as provident_fund_router
from gateway.records.router import health_router
from gateway.records.router import router as records_router
from gateway.records.service import CityCallFailed, CityNotInRegistry, ResidentNotFound
from gateway.settings import GatewaySettings
from gateway.talent.router import router as talent_router
from schemas.problems import ProblemType

log = logging.getLogger("czt.gateway")

_BEARER = {"WWW-Authenticate": "Bearer"}
PROBLEMS: dict[type[Exception], ProblemSpec] = {
    InvalidToken: ProblemSpec(401, ProblemType.UNAUTHENTICATED, "Unauthenticated", _BEARER),
    InvalidGrant: ProblemSpec(400, ProblemType.INVALID_GRANT, "Invalid grant"),
    InvalidClient: ProblemSpec(401, ProblemType.INVALID_CLIENT, "Invalid client", {"WWW-Authenticate": "Basic"}),
    UnsupportedGrantType: ProblemSpec(400, ProblemType.UNSUPPORTED_GRANT_TYPE, "Unsupported grant type"),
    AccessDenied: ProblemSpec(403, ProblemType.FORBIDDEN, "Access denied"),
    ResidentNotFound: ProblemSpec(404, ProblemType.RESIDENT_NOT_FOUND, "Resident not found"),
    CityNotInRegistry: ProblemSpec(404, ProblemType.NOT_FOUND, "Unknown city"),
    CityCallFailed: ProblemSpec(502, ProblemType.UPSTREAM, "City did not answer"),
}


def create_app(
    settings: GatewaySettings | None = None,
    *,
    city_transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    signing_key: SigningKey | None = None,
) -> FastAPI:
    """The gateway. ``city_transports`` (by city code) and ``signing_key`` replace real ones in tests."""
    settings = settings or GatewaySettings()
    key = signing_key or SigningKey.load_or_create(settings.resolved_signing_key_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("gateway")
        engine = make_engine(settings.resolved_database_url)
        metadata.create_all(engine)
        registry = CityRegistry(
            settings.cities, max_connections=settings.max_connections_per_city, transports=city_transports
        )
        app.state.engine, app.state.registry = engine, registry
        log.info("gateway up with %d cities: %s", len(settings.cities), [c.code for c in settings.cities])
        try:
            yield
        finally:
            await registry.aclose()
            engine.dispose()

    # Swagger UI and ReDoc served from the package, not a CDN: the sandbox runs offline.
    app = FastAPIOffline(
        title="CZT Interop gateway (长株潭一网通办)",
        summary="One login, one API over the medical-insurance, provident-fund and talent records of every city.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.signing_key = key
    app.state.minter = ServiceTokenMinter(key, issuer=settings.issuer, ttl_s=settings.service_token_ttl_s)
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app, PROBLEMS)
    app.include_router(auth_router)
    app.include_router(records_router)
    app.include_router(provident_fund_router)
    app.include_router(talent_router)
    app.include_router(health_router)
    return app
