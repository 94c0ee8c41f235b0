"""Shadow-policy divergences, and the public views of the policies in force."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field

from gateway.db import GatewayTable


class ShadowDivergence(GatewayTable, table=True):
    """One live exchange on which the shadow policy would have decided otherwise than the active one."""

    __tablename__ = "shadow_divergence"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC), sa_column=Column(DateTime(timezone=True)))
    request_id: str = Field(max_length=128)
    decision_id: str = Field(max_length=64)
    service: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    requester_kind: str = Field(max_length=16)
    requester: str = Field(max_length=160, description="client, city, department and role, for reading")
    active_policy: str = Field(max_length=96, index=True)
    shadow_policy: str = Field(max_length=96, index=True)
    active_outcome: str = Field(max_length=16)
    shadow_outcome: str = Field(max_length=16)
    differences: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))


class RuleView(BaseModel):
    id: str
    description: str
    effect: str
    requester: dict[str, Any]
    categories: list[str]
    purposes: list[str]
    fields: dict[str, list[str]]
    masks: dict[str, dict[str, str]]
    consent_required: bool
    disclose_after_days: int


class PolicyView(BaseModel):
    """A policy as residents and integrators may read it: every rule, in the order they are applied."""

    name: str
    title: str
    description: str
    version: str
    rules: list[RuleView]


class PoliciesView(BaseModel):
    active: PolicyView
    shadow: PolicyView | None


class DivergenceView(BaseModel):
    id: int
    at: datetime
    request_id: str
    decision_id: str
    service: str
    purpose: str
    requester_kind: str
    requester: str
    active_policy: str
    shadow_policy: str
    active_outcome: str
    shadow_outcome: str
    differences: list[dict[str, Any]]


class DivergencePage(BaseModel):
    items: list[DivergenceView]
    next: int | None
