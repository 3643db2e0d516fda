"""Alembic environment: migrations run on a connection handed over by ``ips.storage.migrate``
(or, for ``alembic`` on the command line, on ``IPS_DATABASE_URL``)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from ips.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two servers starting at once must not both migrate.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(8583)")
        context.run_migrations()


async def _run_from_settings() -> None:
    from ips.config import Settings
    from ips.storage.database import create_engine
    from ips.storage.migrate import sqlite_pragma

    engine = create_engine(Settings().database_url)
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # as in ips.storage.migrate
            await sqlite_pragma(conn, "foreign_keys=OFF")
        async with conn.begin():
            await conn.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_settings())
