"""Each process opens at most ``IPS_DB_POOL_SIZE + IPS_DB_MAX_OVERFLOW`` database
connections: what lets several nodes share PostgreSQL's ``max_connections``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ips.bootstrap import open_database
from ips.config import Settings
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
