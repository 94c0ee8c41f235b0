"""The city-side tables every city keeps beside its local-dialect ones: the exchange's own bookkeeping.

Filings, claims, transfer ledgers and per-person write locks are the exchange's business, not a local
system's, so they have one canonical shape in every city's database. They live in their own registry,
apart from any dialect's tables.
"""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class CityTable(SQLModel, registry=registry()):
    """Base of the canonical tables in a city's database."""


class PersonLock(CityTable, table=True):
    """One row per person written to; locking it serialises every write to that person's records."""

    __tablename__ = "czt_person_lock"

    id_number: str = Field(primary_key=True, max_length=18)


metadata = CityTable.metadata
