"""Database engines: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

THREAD_POOL_SIZE = 40
"""anyio's default thread pool: the worker threads that run the sync database work of every request."""

MAX_ROW_ID = 2**31 - 1
"""The largest integer key on every backend (an ``int`` column is INTEGER on PostgreSQL): a bound for cursors
and ids taken from requests, which the database would otherwise refuse with an error."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for a SQLite file, its folder is created and WAL mode switched on."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Writers queue for the database lock instead of failing after the driver's default 5 s; while they
    # wait they hold a pooled connection, so the pool is as large as the thread pool that runs them. All of it
    # stays open: an overflow connection would be closed on return and reopened (PRAGMAs and all) under load.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=THREAD_POOL_SIZE,
        max_overflow=10,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        # WAL lets the seeder and the server, or several readers, share a file without "database is locked".
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
