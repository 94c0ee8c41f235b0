"""The app factory that assembles one city backend from its settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from commons.db import make_engine
from commons.jwks import KeySource, KeysUnavailable, RemoteJwks
from commons.keys import SigningKey
from commons.logs import configure_logging
from commons.metrics import MetricsMiddleware
from commons.metrics import router as metrics_router
from commons.problems import ProblemSpec, install_problem_handlers
from commons.request_id import RequestIdMiddleware
from commons.response_signing import ResponseSigningMiddleware
from commons.server_timing import ServerTimingMiddleware
from mock_cities.auth import ServiceTokenRejected, WrongPurpose
from mock_cities.credentials.models import metadata as credential_tables
from mock_cities.credentials.router import exchange_router as credentials_exchange_router
from mock_cities.credentials.router import public_router as credentials_public_router
from mock_cities.credentials.service import CredentialNotFound
from mock_cities.dialects import DialectError, get_dialect
from mock_cities.medical_insurance import router as medical_insurance_router
from mock_cities.provident_fund.router import router as transfer_router
from mock_cities.provident_fund.service import TransferConflict, TransferRefused, TransferUnknown
from mock_cities.router import exchange_router, health_router, local_router
from mock_cities.sandbox.router import PROBLEMS as SANDBOX_PROBLEMS
from mock_cities.sandbox.router import install_sandbox
from mock_cities.service import PersonNotFound
from mock_cities.settings import CitySettings
from schemas.problems import ProblemType
from services.medical_insurance import service as medical_insurance
from services.tables import metadata as city_tables
from services.talent.credentials import CredentialSubjectNotFound

log = logging.getLogger("czt.city")

PROBLEMS = {
    ServiceTokenRejected: ProblemSpec(
        401, ProblemType.UNAUTHENTICATED, "Service token rejected", {"WWW-Authenticate": "Bearer"}
    ),
    KeysUnavailable: ProblemSpec(503, ProblemType.UPSTREAM, "Gateway keys unavailable"),
    PersonNotFound: ProblemSpec(404, ProblemType.RESIDENT_NOT_FOUND, "Person not found"),
    TransferRefused: ProblemSpec(409, ProblemType.TRANSFER_REFUSED, "Transfer refused"),
    TransferConflict: ProblemSpec(409, ProblemType.CONFLICT, "Transfer conflict"),
    TransferUnknown: ProblemSpec(404, ProblemType.NOT_FOUND, "Transfer unknown"),
    DialectError: ProblemSpec(500, ProblemType.INTERNAL, "Local record does not map to the exchange standard"),
    WrongPurpose: ProblemSpec(403, ProblemType.FORBIDDEN, "Purpose not covered"),
    medical_insurance.NotInsuredHere: ProblemSpec(409, ProblemType.NOT_INSURED, "Not insured here"),
    medical_insurance.InvalidFiling: ProblemSpec(422, ProblemType.VALIDATION, "Invalid filing"),
    medical_insurance.FilingConflict: ProblemSpec(409, ProblemType.CONFLICT, "Filing conflict"),
    medical_insurance.FilingNotFound: ProblemSpec(404, ProblemType.NOT_FOUND, "Filing not found"),
    medical_insurance.ClaimConflict: ProblemSpec(409, ProblemType.CONFLICT, "Claim conflict"),
    CredentialNotFound: ProblemSpec(404, ProblemType.NOT_FOUND, "Credential not found"),
    CredentialSubjectNotFound: ProblemSpec(404, ProblemType.NOT_FOUND, "Nothing to certify"),
}


def create_city_app(
    settings: CitySettings | None = None,
    *,
    key_source: KeySource | None = None,
    engine: Engine | None = None,
    signing_key: SigningKey | None = None,
) -> FastAPI:
    """One city backend. ``key_source``, ``engine`` and ``signing_key`` replace the configured ones (tests)."""
    settings = settings or CitySettings()
    profile = settings.city
    # Here, not in the lifespan: uvicorn calls the factory before it logs "Started server process".
    configure_logging(profile.slug)
    dialect = get_dialect(profile.dialect)
    key = signing_key or SigningKey.load_or_create(settings.resolved_signing_key_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine or make_engine(settings.resolved_database_url)
        app.state.engine = own_engine
        dialect.metadata.create_all(own_engine)
        city_tables.create_all(own_engine)
        credential_tables.create_all(own_engine)
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as jwks_client:
                app.state.key_source = key_source or RemoteJwks(settings.gateway_jwks_url, jwks_client)
                log.info("city %s %s up, dialect %s", profile.code, profile.name_en, dialect.name)
                yield
        finally:
            if engine is None:
                own_engine.dispose()

    # Swagger UI and ReDoc served from the package, not a CDN: the sandbox runs offline.
    app = FastAPIOffline(
        title=f"{profile.name} {profile.name_en} city backend ({profile.code})",
        summary="Mock city backend: the canonical exchange API over a local-dialect database.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.profile = profile
    app.state.dialect = dialect
    app.state.gateway_issuer = settings.gateway_issuer
    app.state.signing_key = key
    app.state.credential_settings = settings.credentials
    # Added first, so it runs inside RequestIdMiddleware and signs with the request's id.
    app.add_middleware(ResponseSigningMiddleware, key=key, issuer=profile.code, prefixes=("/exchange/", "/local/"))
    if settings.sandbox:
        # Faults outside the signing (a garbled answer breaks its signature, as behind a broken proxy), the
        # journal outside the faults (it records the status really sent), both inside the request ids.
        assert settings.admin_token is not None  # CitySettings refuses sandbox mode without one
        install_sandbox(
            app,
            admin_token=settings.admin_token,
            faults=settings.faults,
            journal_size=settings.journal_size,
            seed=settings.seed,
            residents_per_city=settings.residents_per_city,
        )
    # Inside RequestIdMiddleware (added after it), so that its access-log line carries the request id.
    app.add_middleware(MetricsMiddleware, service=profile.slug)
    app.add_middleware(RequestIdMiddleware)
    if settings.server_timing:
        # Outermost, so that its ``total`` covers the injected faults, the signing and every other layer.
        app.add_middleware(ServerTimingMiddleware)
    install_problem_handlers(app, {**PROBLEMS, **SANDBOX_PROBLEMS})
    app.include_router(health_router)
    app.include_router(exchange_router)
    app.include_router(local_router)
    app.include_router(medical_insurance_router)
    app.include_router(transfer_router)
    app.include_router(credentials_exchange_router)
    app.include_router(credentials_public_router)
    app.include_router(metrics_router)
    return app
