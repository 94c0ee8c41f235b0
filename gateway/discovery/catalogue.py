"""The gateway's services as an integrator calls them: routes, who may call them, the purposes they serve.

The data each service needs comes from :data:`governance.catalogue.SERVICES` (the policy lab counts with the
same table); this module adds what discovery shows beside it — the HTTP routes and who may call them at all,
before any policy rule is asked. ``tests/gateway/test_discovery.py`` checks every route named here exists,
so the listing cannot drift from the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.models import PrincipalKind
from governance.catalogue import Service

RESIDENT, OFFICIAL, CLIENT = PrincipalKind.RESIDENT, PrincipalKind.OFFICIAL, PrincipalKind.CLIENT


@dataclass(frozen=True)
class Route:
    method: str
    path: str


@dataclass(frozen=True)
class Offering:
    """One service as offered through the gateway."""

    service: Service
    routes: tuple[Route, ...]
    callers: frozenset[PrincipalKind]
    """Who may call it at all (the routes refuse everyone else, whatever the policy says)."""
    condition: str | None = None
    """A further structural condition on callers, in words (e.g. which officials)."""
    gated: bool = True
    """False for services the policy does not decide (the holder presents a credential; the issuer revokes)."""
    per_category: bool = False
    """True when one call touches one of the service's categories (a credential covers one kind of record)."""


def _routes(*pairs: str) -> tuple[Route, ...]:
    return tuple(Route(*pair.split(" ", 1)) for pair in pairs)


OFFERINGS: tuple[Offering, ...] = (
    Offering(Service.RECORDS_SELF, _routes("GET /v1/me/records"), frozenset({RESIDENT})),
    Offering(
        Service.RECORDS_LOOKUP,
        _routes("GET /v1/residents/{id_number}/records"),
        frozenset({OFFICIAL, CLIENT}),
        condition="API clients need the records:read scope; the caller states the purpose",
    ),
    Offering(Service.LOCAL_DOCUMENT, _routes("GET /v1/me/records/{city_code}/local"), frozenset({RESIDENT})),
    Offering(Service.LOAN_ELIGIBILITY, _routes("GET /v1/provident-fund/loan-eligibility"), frozenset({RESIDENT})),
    Offering(
        Service.FUND_TRANSFER,
        _routes("POST /v1/provident-fund/transfers", "GET /v1/provident-fund/transfers/{transfer_id}"),
        frozenset({RESIDENT, OFFICIAL}),
        condition="officials: the destination city's provident_fund department only",
    ),
    Offering(Service.MEDICAL_ENROLMENT, _routes("GET /v1/medical-insurance/enrolment"), frozenset({RESIDENT})),
    Offering(
        Service.MEDICAL_FILING,
        _routes(
            "POST /v1/medical-insurance/filings",
            "GET /v1/medical-insurance/filings",
            "POST /v1/medical-insurance/filings/{filing_id}/cancel",
        ),
        frozenset({RESIDENT}),
    ),
    Offering(
        Service.MEDICAL_SETTLEMENT,
        _routes("POST /v1/medical-insurance/claims"),
        frozenset({OFFICIAL}),
        condition="officials of the care city submit claims of its hospitals",
    ),
    Offering(Service.CONTINUING_EDUCATION, _routes("GET /v1/talent/continuing-education"), frozenset({RESIDENT})),
    Offering(Service.TITLE_EVALUATION, _routes("GET /v1/talent/evaluation"), frozenset({RESIDENT})),
    Offering(
        Service.CREDENTIAL_ISSUE,
        _routes("POST /v1/me/credentials", "POST /v1/me/credentials/usage-codes"),
        frozenset({RESIDENT}),
        per_category=True,
    ),
    Offering(
        Service.CREDENTIAL_VERIFICATION,
        _routes("POST /v1/credentials/verify", "POST /v1/credentials/redeem"),
        frozenset({RESIDENT, OFFICIAL, CLIENT}),
        condition="the holder presents the credential (or a usage code): audited, not decided by the policy",
        gated=False,
    ),
    Offering(
        Service.CREDENTIAL_REVOCATION,
        _routes("POST /v1/credentials/{jti}/revoke"),
        frozenset({OFFICIAL}),
        condition="an official of the issuing city only",
        gated=False,
    ),
)
"""Every service the gateway offers, in catalogue order."""
