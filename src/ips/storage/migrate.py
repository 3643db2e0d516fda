"""Brings the database schema up to date (Alembic, run on start of every ``ips`` command).

SQLite changes a table by copying it into a new one; with foreign keys enforced, dropping
the old table would fail as soon as other rows refer to it. So on SQLite the migration runs
with foreign keys off, and checks them all once it is done.

Several nodes may start at once on one PostgreSQL: ``migration_lock`` lets one at a time
migrate and bind its key file, the others wait and then find the work done. (SQLite needs no
lock: every writer begins with ``BEGIN IMMEDIATE``.)
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import NullPool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ips.services.health import SchemaState

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

MIGRATION_LOCK = 0x495053_6D696772
"""The PostgreSQL advisory lock a starting node holds while it migrates ("IPSmigr")."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine, revision: str = "head", *, down: bool = False) -> None:
    step = command.downgrade if down else command.upgrade
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            await sqlite_pragma(conn, "foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(lambda sync: step(alembic_config(sync), revision))
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                await sqlite_pragma(conn, "foreign_keys=ON")


async def sqlite_pragma(conn: AsyncConnection, pragma: str) -> None:
    """A pragma outside any transaction (inside one, SQLite ignores this one)."""
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def migration_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """On PostgreSQL, waits until no other process holds ``MIGRATION_LOCK`` and holds it
    until the block ends. It holds it on a connection of its own, outside ``engine``'s pool
    (so a pool of one still migrates) and outside any transaction; a process that dies
    releases it with its connection."""
    if engine.dialect.name != "postgresql":
        yield
        return
    own = create_async_engine(engine.url, poolclass=NullPool)
    try:
        async with own.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            lock = {"key": MIGRATION_LOCK}
            if not (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), lock)).scalar():
                log.info("another process is migrating the database: waiting for it")
                await conn.execute(text("SELECT pg_advisory_lock(:key)"), lock)
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
    finally:
        await own.dispose()


@functools.cache
def _revisions() -> tuple[str, frozenset[str]]:
    """This code's head revision, and every revision it knows."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    return head, frozenset(revision.revision for revision in script.walk_revisions())


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """Where the database's schema stands against this code's migrations (raises when the
    database cannot be read)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(ips_readonly=True)
        stored = set(
            (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
        )
    head, known = _revisions()
    if head in stored:
        return SchemaState.CURRENT
    if stored - known:
        return SchemaState.NEWER
    return SchemaState.BEHIND
