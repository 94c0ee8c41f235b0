"""Envelopes of the exchange: one city's records on one person, and the gateway's fan-out view."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from schemas.cities import BreakerState, CityCallStatus, CityCode, CityRef
from schemas.idcard import IdNumber
from schemas.medical_insurance import MedicalInsuranceRecord
from schemas.provident_fund import ProvidentFundRecord
from schemas.talent import TalentRecord


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class Person(BaseModel):
    """A resident as the exchange names them."""

    id_number: IdNumber
    name: str
    gender: Gender


class PersonRecords(BaseModel):
    """What one city holds on one person across the three domains (city → gateway).

    A domain a city holds nothing for is ``null`` (medical insurance, provident fund) or an
    empty talent record.
    """

    city: CityRef
    person: Person
    medical_insurance: MedicalInsuranceRecord | None = None
    provident_fund: ProvidentFundRecord | None = None
    talent: TalentRecord = Field(
        default_factory=lambda: TalentRecord(skill_certificates=[], titles=[], continuing_education=[])
    )


class CityResult(BaseModel):
    """One city's part of a fan-out: its status and, when ``ok``, its records as the policy releases them."""

    city: CityRef
    status: CityCallStatus
    elapsed_ms: int = Field(ge=0)
    records: dict[str, Any] | None = Field(
        default=None,
        description=(
            "The city's canonical record (PersonRecords) cut to what the policy releases: withheld categories "
            "and fields are absent, masked fields hold their masked form (e.g. 430102********1234)"
        ),
    )
    detail: str | None = Field(default=None, description="Why the status is not ok, for humans")
    attempts: int = Field(
        default=1,
        ge=0,
        description="Requests sent to the city: more than 1 when a read was retried, 0 when its breaker was open",
    )
    breaker: BreakerState = Field(
        default=BreakerState.CLOSED, description="The gateway's circuit breaker for this city, after the call"
    )


class CategoryDisclosure(BaseModel):
    """What the policy decided for one data category of an exchange."""

    category: str = Field(description="e.g. provident_fund.account")
    allowed: bool
    rule: str | None = Field(description="The deciding rule's id; null when no rule matched (default deny)")
    reason: str
    fields: list[str] = Field(description="Fields released in clear")
    masked: dict[str, str] = Field(description="Fields released masked, and the mask (partial, hash, year, redact)")
    consent: str = Field(description="not-needed, given (an active consent was used) or missing")


class RecordsResponse(BaseModel):
    """The gateway's answer to a records lookup: every city's result, partial when any city failed."""

    request_id: str
    decision_id: str = Field(description="The policy decision behind this answer (also in X-CZT-Decision-Id)")
    policy: str = Field(description="The policy version that decided, e.g. default@2cb00d1fce00")
    purpose: str
    id_number: IdNumber = Field(description="The ID number asked about (the caller's own input, echoed)")
    complete: bool = Field(description="True when every city answered ok or not_found")
    cities: list[CityResult]
    disclosure: list[CategoryDisclosure] = Field(description="Per data category: released, masked or withheld, why")


class LocalDocumentResponse(BaseModel):
    """One city's records on one person exactly as its own system holds them (its local dialect)."""

    request_id: str
    city: CityRef
    document: dict[str, Any] = Field(description="The city's local payload, unmapped")


class CityHealth(BaseModel):
    """One city's health as seen from the gateway."""

    city: CityRef
    status: CityCallStatus
    elapsed_ms: int = Field(ge=0)
    url: str
    breaker: BreakerState = Field(
        default=BreakerState.CLOSED,
        description="The gateway's circuit breaker for this city (health checks bypass it: they show recovery)",
    )


class HealthResponse(BaseModel):
    """Gateway health: itself and every city in the registry."""

    status: str = Field(
        description="'ok' when the gateway's database and every city are ok and every city's breaker is closed, "
        "otherwise 'degraded'"
    )
    database: str = Field(description="The gateway's own database: 'ok' or 'error'")
    cities: list[CityHealth]


__all__ = [
    "BreakerState",
    "CategoryDisclosure",
    "CityCode",
    "CityHealth",
    "CityRef",
    "CityResult",
    "Gender",
    "HealthResponse",
    "LocalDocumentResponse",
    "Person",
    "PersonRecords",
    "RecordsResponse",
]
