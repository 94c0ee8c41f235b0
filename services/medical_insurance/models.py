"""The insuring city's own 医保 exchange tables: 异地就医备案 filings and settled claims.

Amounts are stored as integer 分 (fen): exact on every database, SQLite included.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field

from services.tables import CityTable


class TreatmentFiling(CityTable, table=True):
    """One 异地就医备案 kept by the insuring city; a cancelled one stays, marked."""

    __tablename__ = "czt_mi_filing"

    filing_id: str = Field(primary_key=True, max_length=32)
    id_number: str = Field(index=True, max_length=18)
    care_city_code: str = Field(max_length=6)
    care_city_name: str = Field(max_length=32)
    care_city_name_en: str = Field(default="", max_length=64)
    valid_from: date
    valid_to: date
    filed_at: datetime
    cancelled_at: datetime | None = None


class SettledClaim(CityTable, table=True):
    """One claim this city settled: the key to idempotence, and what the year's deductible and cap have used.

    Hospitals choose claim ids, so the id is unique per care city (the care city's 医保 office vouches for
    its hospitals' numbering).
    """

    __tablename__ = "czt_mi_claim"

    care_city_code: str = Field(primary_key=True, max_length=6)
    claim_id: str = Field(primary_key=True, max_length=64)
    id_number: str = Field(index=True, max_length=18)
    year: int = Field(description="Calendar year of the service date: whose deductible and cap the claim used")
    fingerprint: str = Field(max_length=64, description="SHA-256 of the claim's content, to tell a retry apart")
    deductible_fen: int
    fund_paid_fen: int
    account_paid_fen: int
    statement: str = Field(sa_column=Column(Text, nullable=False), description="The SettlementStatement, as JSON")
    settled_at: datetime
