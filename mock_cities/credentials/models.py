"""The city's register of issued credentials, and how long each kind stays valid."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import DateTime
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from schemas.credentials import CredentialKind


class _Base(SQLModel, registry=registry()):
    """The credential office's own registry, apart from the dialect's tables."""


class CredentialEntry(_Base, table=True):
    """One issued credential: enough to revoke it and to publish its status bit, never its content."""

    __tablename__ = "issued_credential"

    jti: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=32)
    holder: str = Field(max_length=18, index=True, description="The holder's ID number")
    status_index: int = Field(unique=True, description="The credential's bit in the status list")
    issued_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_by: str | None = Field(default=None, max_length=64, description="Who revoked it (service token sub)")
    revocation_reason: str | None = Field(default=None, max_length=200)


metadata = _Base.metadata


DEFAULT_VALIDITY_DAYS = {
    CredentialKind.SKILL_CERTIFICATE: 365,
    CredentialKind.PROFESSIONAL_TITLE: 365,
    CredentialKind.CONTINUING_EDUCATION: 365,
    # A deposit certificate states a balance on one day; verifiers want a recent one.
    CredentialKind.DEPOSIT_CERTIFICATE: 30,
}


class CredentialSettings(BaseModel):
    """The credential office of one city backend: part of its settings (``CZT_CITY_CREDENTIALS__…``)."""

    validity_days: dict[CredentialKind, int] = PydanticField(default_factory=lambda: dict(DEFAULT_VALIDITY_DAYS))
    """Days a credential of each kind stays valid; as an environment variable, a JSON object."""
    status_list_validity_s: int = PydanticField(default=3600, gt=0)
    """How long a published status list may be relied on (its ``exp``)."""
    status_list_min_size: int = PydanticField(default=131_072, gt=0, multiple_of=8)
    """Bits in the smallest list: indexes are drawn at random from a large list so that a credential's
    index says nothing about when it was issued or how many were (herd privacy, as W3C and IETF advise)."""

    @field_validator("validity_days")
    @classmethod
    def _every_kind_positive(cls, value: dict[CredentialKind, int]) -> dict[CredentialKind, int]:
        merged = {**DEFAULT_VALIDITY_DAYS, **value}
        if any(days <= 0 for days in merged.values()):
            raise ValueError("every validity must be at least one day")
        return merged

    def validity_s(self, kind: CredentialKind) -> int:
        return self.validity_days[kind] * 86_400
