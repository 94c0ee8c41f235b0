"""The consent table, and the bodies of the consent routes.

A consent names its data subject by pseudonym (``governance.masks.pseudonym`` under the gateway's secret), never
by ID number: the table is evidence kept after revocation, and must not become a second register of residents.
Its status is derived from the clock and ``revoked_at`` on every read, never stored, so it cannot go stale.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import CheckConstraint, DateTime, Text
from sqlmodel import Field

from gateway.db import GatewayTable
from governance.catalogue import expand_categories
from schemas.cities import CityCode
from schemas.purposes import Purpose


class ConsentStatus(StrEnum):
    """Where a consent stands at a moment: derived from its validity window and its revocation."""

    PENDING = "pending"
    """Granted, but its validity has not begun."""
    ACTIVE = "active"
    REVOKED = "revoked"
    """撤回: revoked by the resident; it covers nothing from the next request on."""
    EXPIRED = "expired"


class GranteeKind(StrEnum):
    OFFICIAL = "official"
    CLIENT = "client"


class Consent(GatewayTable, table=True):
    """One 授权 of a data subject: who may have which categories for which purposes, and when."""

    __tablename__ = "consent"
    __table_args__ = (
        # Exactly one kind of grantee, fully named: a row the lookup could misread never gets in.
        CheckConstraint(
            "(grantee_kind = 'official' AND grantee_city IS NOT NULL AND grantee_client_id IS NULL)"
            " OR (grantee_kind = 'client' AND grantee_client_id IS NOT NULL"
            " AND grantee_city IS NULL AND grantee_department IS NULL)",
            name="consent_one_grantee",
        ),
    )

    consent_id: str = Field(primary_key=True, max_length=32)
    subject: str = Field(index=True, max_length=32, description="The data subject's pseudonym (h:…)")
    grantee_kind: str = Field(max_length=16)
    grantee_city: str | None = Field(default=None, max_length=6)
    grantee_department: str | None = Field(default=None, max_length=64, description="None: every department")
    grantee_client_id: str | None = Field(default=None, max_length=64)
    categories: str = Field(sa_type=Text, description="JSON list of expanded category names")
    purposes: str = Field(sa_type=Text, description="JSON list of purpose codes")
    valid_from: datetime = Field(sa_type=DateTime(timezone=True))
    valid_until: datetime = Field(sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    use_count: int = 0
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class OfficialGrantee(BaseModel):
    """A city's officials: those of one department, or of every department when ``department`` is left out."""

    kind: Literal["official"] = "official"
    city_code: CityCode
    department: str | None = PydanticField(
        default=None,
        min_length=1,
        max_length=64,
        description="The department (e.g. provident_fund); null grants to every department of the city",
    )


class ClientGrantee(BaseModel):
    """One API client (an integrator's system), by its client id."""

    kind: Literal["client"] = "client"
    client_id: str = PydanticField(min_length=1, max_length=64)


Grantee = Annotated[OfficialGrantee | ClientGrantee, PydanticField(discriminator="kind")]


class ConsentCreate(BaseModel):
    """授权: let a grantee have these categories of my records for these purposes, from ``valid_from`` to
    ``valid_until``. Datetimes without an offset are read as UTC."""

    grantee: Grantee
    categories: list[str] = PydanticField(
        min_length=1,
        max_length=32,
        description='Category names ("provident_fund.account"), a whole domain ("talent.*") or everything ("*")',
    )
    purposes: list[Purpose] = PydanticField(min_length=1, max_length=16)
    valid_from: datetime | None = PydanticField(default=None, description="Defaults to now")
    valid_until: datetime = PydanticField(description="After valid_from, in the future, at most 5 years on")

    @field_validator("categories")
    @classmethod
    def _expand(cls, patterns: list[str]) -> list[str]:
        # Stored expanded: a category added to the catalogue later is not granted by an old "talent.*".
        return list(expand_categories(patterns))

    @field_validator("purposes")
    @classmethod
    def _for_someone_else(cls, purposes: list[Purpose]) -> list[Purpose]:
        if Purpose.SELF_SERVICE in purposes:
            raise ValueError("self-service is the resident reading their own records; it needs no consent")
        return list(dict.fromkeys(purposes))


class ConsentView(BaseModel):
    """A consent as its resident sees it, with its status now and how often it has been relied on."""

    consent_id: str
    grantee: Grantee
    categories: list[str]
    purposes: list[Purpose]
    valid_from: datetime
    valid_until: datetime
    status: ConsentStatus
    created_at: datetime
    revoked_at: datetime | None
    use_count: int = PydanticField(description="How many requests this consent let data through for")
    last_used_at: datetime | None
