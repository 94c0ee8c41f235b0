"""The gateway's own answer shapes, as an integrator reads them.

The exchange standard's models (records, 医保, 公积金, 人才, problems) come from :mod:`schemas`; these are
the gateway's API around them (login, discovery, consent, the access log). They are kept here rather than
imported from ``gateway``, which nothing outside the gateway imports; ``tests/czt_client`` checks that they
still match the gateway's own models field for field. Unknown members are kept (``extra="allow"``) so an
older client still reads a newer gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.cities import CityRef


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class TokenResponse(_Answer):
    """RFC 6749 access token answer of ``POST /v1/auth/token``."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class Principal(_Answer):
    """Who the access token stands for (``GET /v1/auth/me``): a resident, an official or an API client."""

    kind: str = Field(description="resident, official or client")
    subject: str
    name: str
    client_id: str
    scopes: list[str] = []
    city_code: str | None = None
    department: str | None = None
    role: str | None = None


# --- discovery -----------------------------------------------------------------------------------------------


class RouteView(_Answer):
    method: str
    path: str


class ServiceView(_Answer):
    """One service of the exchange: its routes, purposes, the data categories it reads, who may call it."""

    id: str
    description: str
    purpose: str | None
    purposes: list[str]
    categories: list[str]
    needs: dict[str, list[str]]
    routes: list[RouteView]
    callers: list[str]
    condition: str | None = None
    gated: bool


class CityOffer(_Answer):
    city: CityRef
    services: list[str]


class ServicesResponse(_Answer):
    """``GET /v1/services``: every city and every service of the exchange."""

    policy: str
    cities: list[CityOffer]
    services: list[ServiceView]


class Caller(_Answer):
    kind: str
    client_id: str
    city: str | None = None
    department: str | None = None
    role: str | None = None


class AllowedService(_Answer):
    """One service (for one purpose) and whether the caller may use it: allowed, partial, consent-required, denied."""

    id: str
    purpose: str | None
    outcome: str
    reason: str | None = None
    routes: list[RouteView]
    cities: list[str]


class AllowedServicesResponse(_Answer):
    """``GET /v1/services/allowed``: what the signed-in caller may use, and what not with the reason."""

    caller: Caller
    policy: str
    allowed: list[AllowedService]
    refused: list[AllowedService]


# --- consent -------------------------------------------------------------------------------------------------


class OfficialGrantee(BaseModel):
    """A city's officials: of one department, or of all when ``department`` is ``None``."""

    kind: Literal["official"] = "official"
    city_code: str
    department: str | None = None


class ClientGrantee(BaseModel):
    """One API client, by its client id."""

    kind: Literal["client"] = "client"
    client_id: str


Grantee = Annotated[OfficialGrantee | ClientGrantee, Field(discriminator="kind")]


class Consent(_Answer):
    """A consent (授权) as its resident sees it: status now, and how often it was relied on."""

    consent_id: str
    grantee: Grantee
    categories: list[str]
    purposes: list[str]
    valid_from: datetime
    valid_until: datetime
    status: str = Field(description="pending, active, revoked or expired")
    created_at: datetime
    revoked_at: datetime | None
    use_count: int
    last_used_at: datetime | None


# --- access log (谁查看了我的数据) ------------------------------------------------------------------------------


class AccessWho(_Answer):
    kind: str
    city: CityRef | None
    department: str | None
    role: str | None
    client_id: str


class AccessWhy(_Answer):
    purpose: str
    case_ref: str | None


class AccessWhat(_Answer):
    categories: list[str]
    cities: list[CityRef]
    fields_released: list[str]


class AccessLogItem(_Answer):
    """One access to the resident's records: when, who, why, what, and the gateway's decision."""

    at: datetime
    who: AccessWho
    why: AccessWhy
    what: AccessWhat
    outcome: str
    decision_id: str
    request_id: str


class AccessLog(_Answer):
    """``GET /v1/me/access-log``: newest first; pass ``next`` as ``before`` for the following page."""

    items: list[AccessLogItem]
    next: int | None


# --- one city --------------------------------------------------------------------------------------------------


class CityStatus(_Answer):
    """A city's ``GET /health``: ``status`` ok, the city it is, and the local dialect it speaks."""

    status: str
    city: CityRef
    dialect: str | None = None


Jwks = dict[str, Any]
"""A JSON Web Key Set: ``{"keys": [...]}``."""
