"""Shapes of the discovery answers (``GET /v1/services``, ``GET /v1/services/allowed``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.cities import BreakerState, CityRef


class RouteView(BaseModel):
    method: str
    path: str


class ServiceView(BaseModel):
    """One service of the exchange, as every caller sees it."""

    id: str = Field(description="The service's id, as the audit log and the policy lab name it")
    description: str
    purpose: str | None = Field(description="The purpose it always serves; null when the caller states one")
    purposes: list[str] = Field(description="The purposes it can be used for")
    categories: list[str] = Field(description="The data categories it reads")
    needs: dict[str, list[str]] = Field(description="Category → the fields it cannot do without")
    routes: list[RouteView]
    callers: list[str] = Field(description="Who may call it at all: resident, official, client")
    condition: str | None = Field(default=None, description="A further condition on callers, in words")
    gated: bool = Field(description="False when the data-sharing policy does not decide it (audited only)")


class CityOffer(BaseModel):
    """One city of the registry and what it offers through the gateway."""

    city: CityRef
    breaker: BreakerState = Field(description="The gateway's circuit breaker for this city: open means not asked now")
    services: list[str] = Field(description="Ids of the services this city takes part in")


class ServicesResponse(BaseModel):
    """Every city and every service of the exchange (X-Road's listMethods)."""

    policy: str = Field(description="The data-sharing policy in force (name@version)")
    cities: list[CityOffer]
    services: list[ServiceView]


class Caller(BaseModel):
    kind: str
    client_id: str
    city: str | None = None
    department: str | None = None
    role: str | None = None


class AllowedService(BaseModel):
    """One service (for one purpose) and whether the caller may use it under the policy in force."""

    id: str
    purpose: str | None = Field(description="The purpose this answer is for; null for ungated services")
    outcome: Literal["allowed", "partial", "consent-required", "denied"] = Field(
        description=(
            "allowed: every category it reads is released; partial: some are; consent-required: the policy "
            "releases what it needs only with the data subject's consent; denied: the caller cannot use it"
        )
    )
    reason: str | None = Field(default=None, description="Why it is denied, or what consent it waits for")
    routes: list[RouteView]
    cities: list[str] = Field(description="Codes of the cities it reaches")


class AllowedServicesResponse(BaseModel):
    """What the signed-in caller may use (X-Road's allowedMethods), and what it may not, with the reason."""

    caller: Caller
    policy: str
    allowed: list[AllowedService] = Field(description="Usable now, or with the data subject's consent")
    refused: list[AllowedService] = Field(description="Not usable by this caller, each with the rule or reason")
