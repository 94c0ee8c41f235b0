"""用证码 usage codes (a table of the gateway's), and the bodies of the credential routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import DateTime, Text
from sqlmodel import Field

from gateway.db import GatewayTable
from schemas.cities import CityCode, CityRef
from schemas.credentials import CredentialRequest, CredentialVerification
from schemas.purposes import Purpose

USAGE_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""No 0/O, 1/I: a code is read aloud and typed in by hand. 32 symbols, 8 of them: 40 bits."""
USAGE_CODE_LENGTH = 8
USAGE_CODE_MAX_VALIDITY_S = 86_400
USAGE_CODE_DEFAULT_VALIDITY_S = 600
MAX_CREDENTIAL_LENGTH = 16_384


class UsageCode(GatewayTable, table=True):
    """A one-time code standing for one credential, for one purpose, until it expires or is used."""

    __tablename__ = "credential_usage_code"

    code: str = Field(primary_key=True, max_length=USAGE_CODE_LENGTH)
    jti: str = Field(max_length=32, index=True)
    issuer: str = Field(max_length=6)
    holder: str = Field(max_length=18, index=True, description="The resident who made the code")
    purpose: str = Field(max_length=64)
    credential: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    used_by: str | None = Field(default=None, max_length=64, description="Who redeemed it (principal subject)")


class CredentialOrder(CredentialRequest):
    """A resident's request for a credential: which city, which kind, which record."""

    city_code: CityCode

    def request(self) -> CredentialRequest:
        return CredentialRequest.model_validate(self.model_dump(exclude={"city_code"}))


class VerificationRequest(BaseModel):
    """A credential to verify: the compact JWS exactly as issued."""

    credential: str = PydanticField(min_length=1, max_length=MAX_CREDENTIAL_LENGTH)


class UsageCodeRequest(BaseModel):
    """Make a 用证码 for one of my credentials, for one purpose, valid for a while."""

    credential: str = PydanticField(min_length=1, max_length=MAX_CREDENTIAL_LENGTH)
    purpose: Purpose = PydanticField(description="Why the verifier will use it (a code from schemas/purposes.py)")
    validity_s: int = PydanticField(
        default=USAGE_CODE_DEFAULT_VALIDITY_S,
        ge=1,
        le=USAGE_CODE_MAX_VALIDITY_S,
        description="Seconds until the code expires (at most a day, never past the credential's own expiry)",
    )

    @field_validator("purpose")
    @classmethod
    def _for_someone_else(cls, purpose: Purpose) -> Purpose:
        if purpose is Purpose.SELF_SERVICE:
            raise ValueError("a usage code is for a verifier's purpose, not self-service")
        return purpose


class UsageCodeResponse(BaseModel):
    """The code to hand to a verifier, and what it stands for."""

    code: str
    purpose: Purpose
    jti: str
    issuer: CityRef
    expires_at: datetime


class RedemptionRequest(BaseModel):
    """A verifier redeems a 用证码, stating the purpose it was given for."""

    code: str = PydanticField(min_length=USAGE_CODE_LENGTH, max_length=2 * USAGE_CODE_LENGTH)
    purpose: Purpose

    @field_validator("code")
    @classmethod
    def _normalised(cls, code: str) -> str:
        # Codes are read out and typed: accept lower case, spaces and dashes.
        normalised = code.replace("-", "").replace(" ", "").upper()
        if not set(normalised) <= set(USAGE_CODE_ALPHABET):
            raise ValueError(f"a usage code has only the characters {USAGE_CODE_ALPHABET} (and - or spaces)")
        return normalised


class RedeemedCredential(BaseModel):
    """What a redeemed code stood for: the credential, and its verification at the time of redemption."""

    code: str
    purpose: Purpose
    credential: str
    verification: CredentialVerification
