"""The gateway's own answer shapes, as an integrator reads them.

The exchange standard's models (records, 医保, 公积金, 人才, problems) come from :mod:`schemas`; these are
the gateway's API around them (login, discovery, consent, the access log, and the wrappers of the cross-city
flows: enrolment, filings, transfers, loan eligibility, 学时互认, 用证码). They are kept here rather than
imported from ``gateway``, which nothing outside the gateway imports; ``tests/czt_client`` checks that they
still match the gateway's own models field for field. Unknown members are kept (``extra="allow"``) so an
older client still reads a newer gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.cities import BreakerState, CityCallStatus, CityRef
from schemas.credentials import CredentialVerification
from schemas.idcard import IdNumber
from schemas.medical_insurance import Enrolment, Filing
from schemas.money import Yuan
from schemas.purposes import Purpose
from services.provident_fund.eligibility import LoanEligibility
from services.talent.recognition import RecognisedYear


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


# --- 医保: enrolment (互认) and 异地就医备案 ------------------------------------------------------------------------


class CityEnrolment(_Answer):
    """One city's 医保 enrolment of the resident, or why there is none."""

    city: CityRef
    status: CityCallStatus
    enrolment: Enrolment | None = None
    detail: str | None = None
    breaker: BreakerState


class EnrolmentView(_Answer):
    """``GET /v1/medical-insurance/enrolment``: every city's enrolment, the contribution months added up."""

    request_id: str
    id_number: IdNumber
    complete: bool
    insuring_city: CityRef | None = Field(description="参保地: where the enrolment is active, if anywhere")
    recognised_contribution_months: int
    cities: list[CityEnrolment]


class FilingsResponse(_Answer):
    """``GET /v1/medical-insurance/filings``: the insuring city's 异地就医备案 of the resident, newest first."""

    request_id: str
    insuring_city: CityRef
    filings: list[Filing]


# --- 公积金: transfers (转移接续) and loan eligibility ----------------------------------------------------------


class TransferEventView(_Answer):
    at: datetime
    state: str
    detail: str


class TransferView(_Answer):
    """A 公积金 transfer: ``state`` requested → reserved → posted → completed (or rejected, rolled_back)."""

    transfer_id: str
    id_number: str
    source_city: str
    destination_city: str
    state: str
    terminal: bool = Field(description="True once completed, rejected or rolled back: it will not move again")
    amount: Yuan | None
    months: int | None
    first_month: str | None
    last_month: str | None
    reason: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    history: list[TransferEventView]


class FundCityStatus(_Answer):
    code: str
    status: CityCallStatus
    breaker: BreakerState


class LoanEligibilityResponse(LoanEligibility):
    """``GET /v1/provident-fund/loan-eligibility``: each rule of the lending city, and whether every city answered."""

    model_config = ConfigDict(extra="allow")

    request_id: str
    complete: bool
    cities: list[FundCityStatus]


# --- 人才: 学时互认 ------------------------------------------------------------------------------------------------


class ContinuingEducationSummary(_Answer):
    """``GET /v1/talent/continuing-education``: hours per year from every city against one city's requirement."""

    request_id: str
    evaluating_city: CityRef
    required_hours_per_year: int
    years: list[RecognisedYear]
    complete: bool
    cities: dict[str, CityCallStatus]
    breakers: dict[str, BreakerState]


# --- 用证码 ---------------------------------------------------------------------------------------------------


class UsageCodeResponse(_Answer):
    """A one-time 用证码: the code to hand over, the purpose it is bound to, until when."""

    code: str
    purpose: Purpose
    jti: str
    issuer: CityRef
    expires_at: datetime


class RedeemedCredential(_Answer):
    """What a redeemed 用证码 stood for: the credential, and its verification at redemption."""

    code: str
    purpose: Purpose
    credential: str
    verification: CredentialVerification


# --- one city --------------------------------------------------------------------------------------------------


class CityStatus(_Answer):
    """A city's ``GET /health``: ``status`` ok, the city it is, and the local dialect it speaks."""

    status: str
    city: CityRef
    dialect: str | None = None


Jwks = dict[str, Any]
"""A JSON Web Key Set: ``{"keys": [...]}``."""
