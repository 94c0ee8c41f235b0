"""Accounts the gateway authenticates, and the principal a verified token stands for."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel
from sqlmodel import Field

from gateway.db import GatewayTable


class PrincipalKind(StrEnum):
    RESIDENT = "resident"
    OFFICIAL = "official"
    CLIENT = "client"


class ResidentAccount(GatewayTable, table=True):
    """A resident's 一网通办 login; the ID number is the user name."""

    __tablename__ = "resident_account"

    id_number: str = Field(primary_key=True, max_length=18)
    name: str = Field(max_length=64)
    password_hash: str = Field(max_length=256)


class OfficialAccount(GatewayTable, table=True):
    """A city official (经办人员): belongs to a city, a department and holds a role."""

    __tablename__ = "official_account"

    username: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=64)
    city_code: str = Field(max_length=6)
    department: str = Field(max_length=64)
    role: str = Field(max_length=32)
    password_hash: str = Field(max_length=256)


class ApiClient(GatewayTable, table=True):
    """An integrator's system, authenticated by the client-credentials grant."""

    __tablename__ = "api_client"

    client_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=128)
    secret_hash: str = Field(max_length=256)
    scopes: str = Field(default="", max_length=512, description="Space-separated scopes")
    city_code: str | None = Field(default=None, max_length=6)


class Principal(BaseModel):
    """Who a verified access token stands for."""

    kind: PrincipalKind
    subject: str
    name: str
    client_id: str
    scopes: list[str] = []
    city_code: str | None = None
    department: str | None = None
    role: str | None = None


class TokenResponse(BaseModel):
    """RFC 6749 §5.1 access token response."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the RFC 6749 token type, not a secret
    expires_in: int
    scope: str
