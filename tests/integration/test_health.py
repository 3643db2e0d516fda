"""A node's readiness from its real parts — the database and its schema, the ISO 8583 link to
the simulator, the worker loops — and the routes that answer it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from demobank.server import Simulator
from ips.processing.port import Answer, NoAnswer
from ips.services.health import Health, Heartbeat, SchemaState
from ips.storage.database import create_engine
from ips.storage.migrate import migrate, schema_state
from ips.web.app import create_app
from tests.conftest import RealProcessing


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


class Ticks:
    """A monotonic clock that moves when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Unreachable:
    """A processing center whose link never signs on (its echo waits, or fails at once)."""

    hangs: bool = False
    signed_on: bool = False

    async def echo(self) -> Answer:
        if self.hangs:
            await asyncio.Event().wait()
        raise NoAnswer("cannot connect")


async def test_a_node_with_its_database_and_processing_center_is_ready(
    engine: AsyncEngine, real_processing: RealProcessing
) -> None:
    readiness = await Health(lambda: schema_state(engine), real_processing.client).readiness()

    assert readiness.ready
    assert readiness.checks == {"database": "ok", "schema": "ok", "processing": "ok"}


async def test_a_schema_behind_this_code_is_not_ready_and_a_newer_one_is(
    engine: AsyncEngine, real_processing: RealProcessing
) -> None:
    health = Health(lambda: schema_state(engine), real_processing.client)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    behind = await health.readiness()
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_a_newer'"))
    newer = await health.readiness()

    assert (behind.ready, behind.checks["schema"]) == (False, "behind")
    assert behind.failing == {"schema"}
    assert (newer.ready, newer.checks["schema"]) == (True, "newer")
    assert await schema_state(engine) is SchemaState.NEWER


async def test_a_database_that_cannot_be_read_is_not_ready(
    tmp_path: Path, real_processing: RealProcessing
) -> None:
    missing = create_engine(f"sqlite:///{tmp_path / 'nothing.sqlite3'}")  # no schema at all
    try:
        readiness = await Health(lambda: schema_state(missing), real_processing.client).readiness()
    finally:
        await missing.dispose()

    assert readiness.checks["database"] == "unreachable"
    assert readiness.failing == {"database", "schema"}


async def test_a_database_or_a_processing_center_that_does_not_answer_in_time_is_not_ready(
    engine: AsyncEngine,
) -> None:
    async def silent() -> SchemaState:
        await asyncio.Event().wait()
        raise AssertionError("never")

    health = Health(silent, Unreachable(hangs=True), timeout=0.1)
    readiness = await health.readiness()

    assert readiness.checks == {
        "database": "no answer in 0.1 s",
        "schema": "unknown",
        "processing": "not signed on",
    }


async def test_the_link_to_the_processing_center_is_signed_on_again_when_it_comes_back(
    engine: AsyncEngine, real_processing: RealProcessing, tmp_path: Path
) -> None:
    health = Health(lambda: schema_state(engine), real_processing.client)
    port = real_processing.simulator.port
    await real_processing.simulator.stop()
    for _ in range(100):  # the client sees the connection closed
        if not real_processing.client.signed_on:
            break
        await asyncio.sleep(0.01)

    down = await health.readiness()
    async with Simulator(tmp_path / "processing-center.sqlite3", port=port):
        up = await health.readiness()  # no request came: the readiness check signs on itself

    assert (down.ready, down.checks["processing"]) == (False, "not signed on")
    assert (up.ready, up.checks["processing"]) == (True, "ok")


async def test_a_worker_loop_without_success_for_too_long_makes_the_node_not_ready(
    engine: AsyncEngine, real_processing: RealProcessing
) -> None:
    ticks = Ticks()
    janitor = Heartbeat("janitor", 10.0, clock=ticks)
    health = Health(lambda: schema_state(engine), real_processing.client, [janitor])

    ticks.now += 90  # three intervals and a minute
    on_time = await health.readiness()
    janitor.failed()
    ticks.now += 1
    late = await health.readiness()
    janitor.succeeded()
    again = await health.readiness()

    assert on_time.ready and on_time.checks["worker janitor"] == "ok"
    assert not late.ready
    assert late.checks["worker janitor"] == "no success for 91 s (1 failures)"
    assert again.ready


async def test_the_routes_answer_json_and_stay_out_of_the_access_log(
    engine: AsyncEngine, real_processing: RealProcessing, caplog: pytest.LogCaptureFixture
) -> None:
    ready_node = Health(lambda: schema_state(engine), real_processing.client)
    cut_off = Health(lambda: schema_state(engine), Unreachable())
    caplog.set_level(logging.INFO, logger="ips.access")
    answers = []
    for health in (ready_node, cut_off):
        transport = httpx.ASGITransport(create_app(None, health=health))
        async with httpx.AsyncClient(transport=transport, base_url="http://ips") as http:
            answers += [
                await http.get("/health/live"),
                await http.get("/health/ready"),
                await http.head("/health/ready"),
            ]
    live, ready, ready_head, _, not_ready, not_ready_head = answers

    assert (live.status_code, live.json()) == (200, {"status": "live"})
    assert ready.status_code == ready_head.status_code == 200
    assert ready.json()["status"] == "ready"
    assert not_ready.status_code == not_ready_head.status_code == 503
    assert not_ready.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "schema": "ok", "processing": "not signed on"},
    }
    assert ready.headers["cache-control"] == "no-store"
    assert ready.headers["content-type"] == "application/json"
    assert [r for r in caplog.records if r.name == "ips.access"] == []


async def test_a_change_of_readiness_is_logged_once_with_its_reason(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    link = Unreachable()
    health = Health(lambda: schema_state(engine), link)
    caplog.set_level(logging.INFO, logger="ips.services.health")

    for _ in range(3):
        await health.readiness()
    link.signed_on = True
    await health.readiness()
    await health.readiness()

    said = [r.getMessage() for r in caplog.records if r.name == "ips.services.health"]
    assert said == ["not ready: processing not signed on", "ready again"]


async def test_an_app_made_without_a_node_is_live_and_has_no_readiness() -> None:
    transport = httpx.ASGITransport(create_app(None))
    async with httpx.AsyncClient(transport=transport, base_url="http://ips") as http:
        live, ready = await http.get("/health/live"), await http.get("/health/ready")

    assert (live.status_code, ready.status_code) == (200, 404)
