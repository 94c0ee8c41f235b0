"""The gateway's own database (accounts now; audit, consent and transfers as they come)."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class GatewayTable(SQLModel, registry=registry()):
    """Base of the gateway's tables: its own registry, apart from any city's tables."""


metadata = GatewayTable.metadata
