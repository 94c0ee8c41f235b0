"""Throw-away databases for tests: SQLite files, or PostgreSQL databases created and dropped here.

``CZT_TEST_DATABASE=postgresql`` switches the suite to PostgreSQL at ``CZT_TEST_POSTGRES_URL``
(default: the CI server, ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BACKEND = os.environ.get("CZT_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("CZT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class TestDatabases:
    """Hands out fresh database URLs and removes every database it made."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.created: list[str] = []
        self.prefix = f"czt_t{uuid.uuid4().hex[:8]}"

    def new_url(self, name: str) -> str:
        if BACKEND == "sqlite":
            return f"sqlite:///{self.folder / name}.db"
        if BACKEND != "postgresql":
            raise ValueError(f"CZT_TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")
        database = f"{self.prefix}_{name}".lower().replace("-", "_")
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        self.created.append(database)
        return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for database in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        self.created.clear()
