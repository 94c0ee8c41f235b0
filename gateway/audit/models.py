"""The audit log's tables and shapes: one entry per exchange, the chain's head, and what residents and auditors see.

Text columns carry no length limit on purpose: an audit entry must never be refused because a caller's
string (a case reference, a request id) is longer than someone guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import DateTime, Text
from sqlmodel import Field

from gateway.db import GatewayTable
from schemas.cities import CityRef

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of entry 1 and the head's hash while the log is empty."""


@dataclass(frozen=True)
class ExchangeRecord:
    """What the enforcement layer hands the audit log for one exchange (one gateway request)."""

    at: datetime  # when, UTC-aware
    request_id: str
    decision_id: str
    service: str  # e.g. "records.lookup", "provident_fund.transfer" (governance.catalogue.Service values)
    policy: str  # policy version that decided, e.g. "default@2cb00d1fce00"
    requester_kind: str  # "resident" | "official" | "client"
    client_id: str
    user: str  # who asked: official username, client id, or for residents a pseudonym ("h:..."); never a raw ID number
    requester_city: str | None
    requester_department: str | None
    requester_role: str | None
    subject: str | None  # pseudonym of the data subject ("h:" + 16 hex), never the raw ID number
    cities: tuple[str, ...]  # city codes the exchange touched
    categories: tuple[str, ...]  # data categories asked for, e.g. ("identity", "provident_fund.account")
    purpose: str
    case_ref: str | None
    outcome: str  # "allowed" | "partial" | "denied"
    rules: tuple[str, ...]  # ids of the deciding rules; "(default-deny)" when no rule matched
    fields_released: tuple[str, ...]  # "category.field" in clear, "category.field~mask" masked
    consents: tuple[str, ...]  # ids of consents the decision relied on
    disclose_at: datetime | None  # from when the subject may see it in their tracker; None = at once


class AuditEntry(GatewayTable, table=True):
    """One exchange in the chain: an :class:`ExchangeRecord` plus its place (``seq``) and its two hashes.

    The tuple fields are stored as JSON arrays in text columns, so an entry reads the same on every database.
    """

    __tablename__ = "audit_entry"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=DateTime(timezone=True))
    request_id: str = Field(index=True)
    decision_id: str
    service: str
    policy: str
    requester_kind: str
    client_id: str
    user: str
    requester_city: str | None = None
    requester_department: str | None = None
    requester_role: str | None = None
    subject: str | None = Field(default=None, index=True)
    cities: str = Field(sa_type=Text)
    categories: str = Field(sa_type=Text)
    purpose: str
    case_ref: str | None = None
    outcome: str
    rules: str = Field(sa_type=Text)
    fields_released: str = Field(sa_type=Text)
    consents: str = Field(sa_type=Text)
    disclose_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    prev_hash: str = Field(min_length=64, max_length=64)
    hash: str = Field(min_length=64, max_length=64)


class AuditHead(GatewayTable, table=True):
    """The chain's head (one row, id 1): the last entry's seq and hash.

    Appends lock this row first, so they queue instead of forking; and verification compares it with the last
    entry, so cutting entries off the end of the log does not go unnoticed.
    """

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    hash: str = Field(min_length=64, max_length=64)


# --- what callers see ------------------------------------------------------------------------------------------


class AuditEntryView(BaseModel):
    """An audit entry as the auditor reads it: every field of the exchange, its place in the chain, its hashes."""

    seq: int
    at: datetime
    request_id: str
    decision_id: str
    service: str
    policy: str
    requester_kind: str
    client_id: str
    user: str
    requester_city: str | None
    requester_department: str | None
    requester_role: str | None
    subject: str | None
    cities: list[str]
    categories: list[str]
    purpose: str
    case_ref: str | None
    outcome: str
    rules: list[str]
    fields_released: list[str]
    consents: list[str]
    disclose_at: datetime | None
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    """Audit entries, newest first; pass ``next`` as ``before`` to read the following page."""

    entries: list[AuditEntryView]
    next: int | None = PydanticField(description="Cursor for the following page; absent on the last page")


class AccessLogPage(AuditPage):
    """One data subject's entries as their tracker may show them (delayed ones hidden), newest first."""


class ChainReport(BaseModel):
    """The outcome of walking the chain: intact, or the first entry that is not what it claims to be."""

    valid: bool
    entries: int = PydanticField(description="Entries verified, in order, up to the first break")
    head_seq: int | None = PydanticField(description="The seq the head row names (None: no head row)")
    head_hash: str | None
    first_broken: int | None = PydanticField(description="seq of the first broken or missing entry")
    reason: str | None


class AccessWho(BaseModel):
    """Who accessed the records: the kind of requester, and for officials their city, department and role."""

    kind: str = PydanticField(description="resident, official or client")
    city: CityRef | None
    department: str | None
    role: str | None
    client_id: str


class AccessWhy(BaseModel):
    purpose: str
    case_ref: str | None


class AccessWhat(BaseModel):
    categories: list[str]
    cities: list[CityRef] = PydanticField(description="Cities whose records the exchange touched")
    fields_released: list[str] = PydanticField(
        description='"category.field" released in clear, "category.field~mask" released masked'
    )


class AccessLogItem(BaseModel):
    """One access to my records (数据使用记录): when, who, why, what, and what the gateway decided."""

    at: datetime
    who: AccessWho
    why: AccessWhy
    what: AccessWhat
    outcome: str = PydanticField(description="allowed, partial or denied")
    decision_id: str
    request_id: str


class AccessLog(BaseModel):
    """Accesses to my records, newest first; pass ``next`` as ``before`` to read the following page."""

    items: list[AccessLogItem]
    next: int | None
