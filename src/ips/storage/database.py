"""Engines from plain database URLs, and the SQLite settings that keep it calm under load.

``sqlite:///path`` and ``postgresql://user@host:port/db`` are what users type; the async
drivers (aiosqlite, asyncpg) are chosen here. On SQLite every write transaction starts with
``BEGIN IMMEDIATE`` (so a writer waits for the lock up front, within the busy timeout, instead
of failing with "database is locked" when it upgrades a read lock), and the journal is WAL so
that readers never wait for writers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

SQLITE_BUSY_TIMEOUT_S = 30

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_url(url: str) -> URL:
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(f"unsupported database {parsed.drivername!r}: use sqlite or postgresql")
    return parsed.set(drivername=driver)


def create_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
    """An engine that keeps ``pool_size`` connections and opens at most ``max_overflow`` more
    when they are all in use (``IPS_DB_POOL_SIZE``, ``IPS_DB_MAX_OVERFLOW``)."""
    parsed = async_url(url)
    pool = {"pool_size": pool_size, "max_overflow": max_overflow}
    if parsed.get_backend_name() != "sqlite":
        engine = create_async_engine(parsed, **pool, hide_parameters=True)
        event.listen(engine.sync_engine, "checkout", _postgres_on_checkout)
        return engine
    engine = create_async_engine(
        parsed, **pool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, hide_parameters=True
    )
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, in _sqlite_on_begin
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(text: str | None) -> str | None:
    """SQLite's ``lower``, of every letter as PostgreSQL's is (SQLite's own lowers only
    ASCII letters): a search for "лавка" finds "Книжная Лавка" on both databases."""
    return None if text is None else text.lower()


def _postgres_on_checkout(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """A pooled connection the server has closed (a restart, a terminated backend) is
    replaced before it is handed out. asyncpg learns of the close as it happens, so this
    asks the driver instead of the server: a ping would cost every unit of work a round
    trip."""
    if record.driver_connection is None or record.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this connection")


def _sqlite_on_begin(connection: Connection) -> None:
    readonly = connection.get_execution_options().get("ips_readonly", False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def dialect_insert(conn: AsyncConnection) -> Any:
    """The INSERT of the connection's dialect, which knows ``ON CONFLICT``."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
