"""Each process opens at most ``IPS_DB_POOL_SIZE + IPS_DB_MAX_OVERFLOW`` database
connections: what lets several nodes share PostgreSQL's ``max_connections``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from ips.bootstrap import open_database
from ips.config import Settings
from ips.crypto.keyring import KeyRing
from ips.storage.database import create_engine
from ips.storage.migrate import migrate
from ips.storage.unit_of_work import Database
from tests.processes import free_port, run_ips


async def test_a_process_opens_no_more_connections_than_its_settings_allow(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPS_DB_POOL_SIZE", "1")
    monkeypatch.setenv("IPS_DB_MAX_OVERFLOW", "1")
    settings = Settings(database_url=database_url, key_file=tmp_path / "ips.key")
    database = await open_database(settings)
    engine = database.engine
    try:
        first, second = await engine.connect(), await engine.connect()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await engine.connect()  # waits for one of the two to come back
        await first.close()
        third = await engine.connect()
        await second.close()
        await third.close()
    finally:
        await database.dispose()


def test_a_pool_of_no_connections_stops_the_command_with_the_setting_name(tmp_path: Path) -> None:
    env = {**os.environ, "IPS_DB_POOL_SIZE": "0"}
    refused = run_ips("serve", "--port", str(free_port()), cwd=tmp_path, env=env)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: IPS_DB_POOL_SIZE: ")
    assert "greater than or equal to 1" in refused.stderr


async def test_a_connection_the_server_closed_is_replaced_before_it_is_handed_out(
    postgres_url: str, keyring: KeyRing
) -> None:
    """No ping per checkout: the driver knows the server closed the connection, and the pool
    opens another instead of failing the request that takes it."""
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    await migrate(engine)
    database = Database(engine, keyring)
    try:
        async with database(readonly=True) as uow:
            assert await uow.merchants.get("111111") is None
        admin = await asyncpg.connect(postgres_url)
        try:
            database_name = make_url(postgres_url).database
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                database_name,
            )
        finally:
            await admin.close()
        assert ended == 1
        await asyncio.sleep(0.2)  # the close reaches the client
        async with database(readonly=True) as uow:
            assert await uow.merchants.get("111111") is None
        async with database() as uow:
            assert await uow.merchants.get("111111", lock=True) is None
    finally:
        await database.dispose()
