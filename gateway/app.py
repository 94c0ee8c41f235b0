"""The gateway app factory. ``uvicorn --factory gateway.app:create_app`` serves it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from commons.db import make_engine
from commons.keys import SigningKey, load_or_create_secret
from commons.logs import configure_logging
from commons.metrics import MetricsMiddleware
from commons.metrics import router as metrics_router
from commons.problems import ProblemSpec, install_problem_handlers
from commons.request_id import RequestIdMiddleware
from commons.server_timing import ServerTimingMiddleware
from gateway.access import AccessDenied
from gateway.audit import service as audit_service
from gateway.audit.router import router as audit_router
from gateway.auth.router import router as auth_router
from gateway.auth.service import InvalidClient, InvalidGrant, InvalidToken, UnsupportedGrantType
from gateway.consent.router import router as consent_router
from gateway.consent.service import ConsentNotFound, InvalidConsent
from gateway.credentials.router import router as credentials_router
from gateway.credentials.service import (
    CredentialInvalid,
    CredentialNotFound,
    StatusListCache,
    UsageCodeExpired,
    UsageCodeUnknown,
    UsageCodeUsed,
    UsageCodeWrongPurpose,
)
from gateway.db import metadata
from gateway.discovery.router import router as discovery_router
from gateway.exchange.registry import CityNotInRegistry, CityRegistry
from gateway.exchange.tokens import ServiceTokenMinter
from gateway.medical_insurance.router import router as medical_insurance_router
from gateway.medical_insurance.service import FilingNotFound, FilingRejected, MedicalConflict, NotInsured
from gateway.policy.middleware import DecisionIdMiddleware
from gateway.policy.router import router as policy_router
from gateway.policy.service import ConsentRequired, Governance, PolicyDenied
from gateway.portal.router import DemoModeOff, install_portal
from gateway.provident_fund.router import router as provident_fund_router
from gateway.provident_fund.transfers import (
    InvalidTransfer,
    TransferContext,
    TransferNotFound,
    TransferPreconditionFailed,
    run_resumer,
)
from gateway.records.router import health_router
from gateway.records.router import router as records_router
from gateway.records.service import CityCallFailed, ResidentNotFound
from gateway.settings import GatewaySettings
from gateway.talent.router import router as talent_router
from governance.engine import compile_policy
from governance.policy import load_policy
from schemas.problems import ProblemType

log = logging.getLogger("czt.gateway")

_BEARER = {"WWW-Authenticate": "Bearer"}
PROBLEMS: dict[type[Exception], ProblemSpec] = {
    InvalidToken: ProblemSpec(401, ProblemType.UNAUTHENTICATED, "Unauthenticated", _BEARER),
    InvalidGrant: ProblemSpec(400, ProblemType.INVALID_GRANT, "Invalid grant"),
    InvalidClient: ProblemSpec(401, ProblemType.INVALID_CLIENT, "Invalid client", {"WWW-Authenticate": "Basic"}),
    UnsupportedGrantType: ProblemSpec(400, ProblemType.UNSUPPORTED_GRANT_TYPE, "Unsupported grant type"),
    AccessDenied: ProblemSpec(403, ProblemType.FORBIDDEN, "Access denied"),
    ConsentRequired: ProblemSpec(403, ProblemType.CONSENT_REQUIRED, "The resident's consent is needed"),
    PolicyDenied: ProblemSpec(403, ProblemType.POLICY_DENIED, "Refused by the data-sharing policy"),
    ResidentNotFound: ProblemSpec(404, ProblemType.RESIDENT_NOT_FOUND, "Resident not found"),
    CityNotInRegistry: ProblemSpec(404, ProblemType.NOT_FOUND, "Unknown city"),
    InvalidTransfer: ProblemSpec(422, ProblemType.VALIDATION, "Invalid transfer"),
    TransferPreconditionFailed: ProblemSpec(409, ProblemType.TRANSFER_REFUSED, "Transfer refused"),
    TransferNotFound: ProblemSpec(404, ProblemType.NOT_FOUND, "Transfer not found"),
    CityCallFailed: ProblemSpec(502, ProblemType.UPSTREAM, "City did not answer"),
    NotInsured: ProblemSpec(409, ProblemType.NOT_INSURED, "Not insured"),
    MedicalConflict: ProblemSpec(409, ProblemType.CONFLICT, "Conflicts with the medical-insurance records"),
    FilingRejected: ProblemSpec(422, ProblemType.VALIDATION, "Invalid filing"),
    FilingNotFound: ProblemSpec(404, ProblemType.NOT_FOUND, "Filing not found"),
    CredentialNotFound: ProblemSpec(404, ProblemType.NOT_FOUND, "Credential not found"),
    CredentialInvalid: ProblemSpec(422, ProblemType.CREDENTIAL_INVALID, "Credential not valid"),
    UsageCodeUnknown: ProblemSpec(404, ProblemType.USAGE_CODE_UNKNOWN, "Unknown usage code"),
    UsageCodeUsed: ProblemSpec(409, ProblemType.USAGE_CODE_USED, "Usage code already used"),
    UsageCodeExpired: ProblemSpec(410, ProblemType.USAGE_CODE_EXPIRED, "Usage code expired"),
    UsageCodeWrongPurpose: ProblemSpec(403, ProblemType.USAGE_CODE_WRONG_PURPOSE, "Usage code is for another purpose"),
    InvalidConsent: ProblemSpec(422, ProblemType.VALIDATION, "Invalid consent"),
    ConsentNotFound: ProblemSpec(404, ProblemType.NOT_FOUND, "Consent not found"),
    audit_service.AuditUnavailable: ProblemSpec(503, ProblemType.AUDIT_UNAVAILABLE, "Audit log unavailable"),
    DemoModeOff: ProblemSpec(404, ProblemType.NOT_FOUND, "Not found"),
}


def create_app(
    settings: GatewaySettings | None = None,
    *,
    city_transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    signing_key: SigningKey | None = None,
    hash_key: bytes | None = None,
) -> FastAPI:
    """The gateway. ``city_transports`` (by city code), ``signing_key`` and ``hash_key`` replace real ones in tests."""
    # Here, not in the lifespan: uvicorn calls the factory before it logs "Started server process", so every line
    # of the process is in our format.
    configure_logging("gateway")
    settings = settings or GatewaySettings()
    key = signing_key or SigningKey.load_or_create(settings.resolved_signing_key_file)
    # A broken policy file stops the gateway here, before it serves anything (PolicyError names file and line).
    policy = compile_policy(load_policy(settings.policy_path))
    shadow_path = settings.shadow_policy_path
    shadow = None if shadow_path is None else compile_policy(load_policy(shadow_path))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        metadata.create_all(engine)
        audit_service.ensure_chain(engine)
        registry = CityRegistry(
            settings.cities,
            max_connections=settings.max_connections_per_city,
            transports=city_transports,
            http_transport=settings.http_transport,
        )
        app.state.engine, app.state.registry = engine, registry
        app.state.governance = governance = Governance(
            engine=engine, policy=policy, shadow=shadow, hash_key=app.state.hash_key
        )
        app.state.transfers = TransferContext(
            engine=engine, registry=registry, minter=app.state.minter, governance=governance
        )
        stop_resumer = asyncio.Event()
        resumer = asyncio.create_task(
            run_resumer(ctx=app.state.transfers, interval_s=settings.transfer_resume_interval_s, stop=stop_resumer)
        )
        log.info(
            "gateway up with %d cities %s, policy %s%s",
            len(settings.cities),
            [c.code for c in settings.cities],
            policy.version,
            "" if shadow is None else f", shadow {shadow.version}",
        )
        try:
            yield
        finally:
            stop_resumer.set()
            await resumer
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
    app.state.hash_key = hash_key or load_or_create_secret(settings.resolved_pseudonym_key_file)
    app.state.minter = ServiceTokenMinter(key, issuer=settings.issuer, ttl_s=settings.service_token_ttl_s)
    app.state.status_lists = StatusListCache(ttl_s=settings.status_list_ttl_s)
    app.add_middleware(DecisionIdMiddleware)
    # Inside RequestIdMiddleware (added after it), so that its access-log line carries the request id.
    app.add_middleware(MetricsMiddleware, service="gateway")
    app.add_middleware(RequestIdMiddleware)
    if settings.server_timing:
        # Outermost, so that its ``total`` covers every other layer of the request.
        app.add_middleware(ServerTimingMiddleware)
    install_problem_handlers(app, PROBLEMS)
    app.include_router(auth_router)
    app.include_router(records_router)
    app.include_router(provident_fund_router)
    app.include_router(talent_router)
    app.include_router(medical_insurance_router)
    app.include_router(credentials_router)
    app.include_router(consent_router)
    app.include_router(policy_router)
    app.include_router(audit_router)
    app.include_router(discovery_router)
    app.include_router(health_router)
    app.include_router(metrics_router)
    install_portal(app)
    return app
