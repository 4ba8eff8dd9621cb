"""Database engines: SQLite (the embedded default) and PostgreSQL, behaving the same.

SQLite gets write-ahead logging, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE`` for
every transaction, so that concurrent writers queue instead of failing half-way; PostgreSQL
runs at READ COMMITTED with ``SELECT … FOR UPDATE`` where order matters (the audit chain).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError as DatabaseError

DEFAULT_URL = "sqlite:///leadflow.db"

__all__ = [
    "DEFAULT_URL",
    "DatabaseError",
    "make_engine",
    "normalise_url",
    "shown_url",
    "sqlite_file",
]


def shown_url(url: str) -> str:
    """The database URL with any password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database)
    return None


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs use psycopg 3, the driver leadflow ships."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off: SQLAlchemy's "begin" event
    # below issues BEGIN IMMEDIATE, which takes the write lock at the start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


READ_ONLY = "leadflow_read_only"


def _sqlite_begin(connection: Any) -> None:
    # Readers take no write lock: in WAL mode they see a snapshot while a writer works.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str = DEFAULT_URL, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (SQLite file or ``:memory:``, or PostgreSQL)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)
