"""Brings the database schema up to date (Alembic, run on start of ``ips serve``).

SQLite changes a table by copying it into a new one; with foreign keys enforced, dropping
the old table would fail as soon as other rows refer to it. So on SQLite the migration runs
with foreign keys off, and checks them all once it is done.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


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
