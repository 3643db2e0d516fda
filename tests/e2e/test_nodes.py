"""Nodes as real processes: ``ips serve`` with and without its workers, ``ips worker``, their
readiness while the database or the processing center goes away and comes back, a graceful
stop on SIGTERM in the middle of a payment and of a notification, and two nodes that start at
once on an empty PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import Response

from demobank.ledger import Ledger
from ips.storage.database import create_engine
from ips.storage.migrate import MIGRATION_LOCK
from tests.conftest import POSTGRES_URL
from tests.e2e.test_processes import orderstate, pay
from tests.processes import free_port, run_ips, wait_for_port
from tests.shop import Shop

SETTLE = 20.0
"""Seconds a test waits at most for something a node does on its own."""


@dataclass
class Cluster:
    """``ips`` processes on one database, the processing center among them; all are stopped
    (and their output checked) at the end of the test."""

    cwd: Path
    env: dict[str, str]
    store: Path
    pc_port: int = field(default_factory=free_port)
    bank_port: int = field(default_factory=free_port)
    """The processing center's HTTP side: the issuer's 3-D Secure pages, the wallet."""
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    pc: subprocess.Popen[str] | None = None
    failing: list[subprocess.Popen[str]] = field(default_factory=list)
    """Processes whose jobs are expected to fail (and log a traceback)."""

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "ips", *args],
            cwd=self.cwd, env=env or self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def start_processing_center(self) -> None:
        self.pc = self.start(
            "processing-center", "--port", str(self.pc_port), "--http-port", str(self.bank_port),
            "--store", str(self.store),
        )  # fmt: skip
        wait_for_port(self.pc_port, self.pc, lambda: _output(self.pc))

    def serve(self, *args: str) -> str:
        """``ips serve ARGS…`` on a port of its own; its base URL once it listens."""
        port = free_port()
        process = self.start(
            "serve", "--port", str(port), "--processing", f"127.0.0.1:{self.pc_port}", *args
        )
        wait_for_port(port, process, lambda: _output(process))
        return f"http://127.0.0.1:{port}"

    def worker(self) -> str:
        """``ips worker`` with its health port; the URL of its readiness once it listens."""
        port = free_port()
        process = self.start(
            "worker", "--processing", f"127.0.0.1:{self.pc_port}", "--health-port", str(port)
        )
        wait_for_port(port, process, lambda: _output(process))
        return f"http://127.0.0.1:{port}/health/ready"

    def ips(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_ips(*args, cwd=self.cwd, env=self.env)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            output, _ = process.communicate(timeout=30)
            assert process in self.failing or "Traceback" not in output, output
            assert "4000000000000119" not in output and "4111111111111111" not in output


def _output(process: subprocess.Popen[str] | None) -> str:
    assert process is not None
    process.kill()
    return process.communicate()[0]


@contextmanager
def cluster(tmp_path: Path, database_url: str, **settings: str) -> Iterator[Cluster]:
    env = {
        **os.environ,
        "IPS_DATABASE_URL": database_url,
        "IPS_PROCESSING_TIMEOUT": "1",
        "PYTHONUNBUFFERED": "1",
        **{f"IPS_{name.upper()}": value for name, value in settings.items()},
    }
    nodes = Cluster(tmp_path, env, tmp_path / "bank.sqlite3")
    try:
        nodes.start_processing_center()
        yield nodes
    finally:
        nodes.stop()


def add_shop(nodes: Cluster, *extra: str) -> None:
    added = nodes.ips(
        "merchant", "add", "--merchant-id", "111111", "--name", "Demo Shop", "--login", "shop",
        "--password", "shop-password", "--secret-word", "secret", "--return-host",
        "shop.example", *extra,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


async def readiness(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(url)
    return answer.status_code, answer.json()


async def until(url: str, status: int) -> dict[str, Any]:
    """The readiness answered by ``url`` once its status is ``status``."""
    deadline = time.monotonic() + SETTLE
    while True:
        got, body = await readiness(url)
        if got == status:
            return body
        assert time.monotonic() < deadline, f"{url} still answers {got}: {body}"
        await asyncio.sleep(0.1)


class SlowShop(Shop):
    """A shop that takes ``pause`` seconds to answer a notification; ``arrived`` is set as
    soon as one arrives."""

    pause = 1.5
    arrived: asyncio.Event

    async def _notify(self, request: Request) -> Response:
        self.arrived.set()
        await asyncio.sleep(self.pause)
        return await super()._notify(request)


@asynccontextmanager
async def shop_open(shop: Shop) -> AsyncIterator[Shop]:
    await shop.open()
    try:
        yield shop
    finally:
        await shop.close()


async def scalars(database_url: str, sql: str) -> list[Any]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).scalars())
    finally:
        await engine.dispose()


async def test_a_worker_does_the_background_work_a_server_without_workers_leaves(
    tmp_path: Path, database_url: str
) -> None:
    shop = Shop()
    settings = {"order_lifetime": "PT2S", "janitor_interval": "0.2",
                "notification_interval": "0.2", "notification_ports": str(shop.port),
                "notification_networks": "127.0.0.0/8"}  # fmt: skip
    async with shop_open(shop):
        with cluster(tmp_path, database_url, **settings) as nodes:
            add_shop(nodes, "--callback-url", shop.url)
            url = nodes.serve("--no-workers")
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                paid = await pay(http, "PAID", "4111111111111111")
                assert paid.headers["location"].startswith("https://shop.example/ok?")
                unpaid = await http.get(
                    "/pay/order.cfm",
                    params={"Merchant_ID": "111111", "OrderNumber": "UNPAID",
                            "OrderAmount": "5.00", "OrderCurrency": "RUB"},
                )  # fmt: skip
                assert unpaid.status_code == 303
                await asyncio.sleep(3)  # past the order's lifetime, many janitor intervals
                assert (await orderstate(http, "UNPAID"))["orderstate"] == "In Process"
                assert shop.received == []

                ready = nodes.worker()
                deadline = time.monotonic() + SETTLE
                while (await orderstate(http, "UNPAID"))["orderstate"] != "Timeout":
                    assert time.monotonic() < deadline, "the worker did not expire the order"
                    await asyncio.sleep(0.1)
                while not shop.received:
                    assert time.monotonic() < deadline, "the worker did not notify the shop"
                    await asyncio.sleep(0.1)
                served = await scraped(http, "/metrics")
                worked = await scraped(http, ready.replace("/health/ready", "/metrics"))
    approved = (("acquirer", "default"), ("outcome", "approved"), ("way", "card"))
    assert served[("ips_payments_total", approved)] == 1  # counted where it ended
    assert ("ips_payments_total", approved) not in worked
    for figures in (served, worked):  # the worker's health port serves its metrics too
        assert figures[("ips_iso8583_link_up", (("acquirer", "default"),))] == 1
        assert figures[("ips_figures_up", ())] == 1
    [notified] = shop.received
    assert notified["ordernumber"] == "PAID" and notified["orderstate"] == "Approved"


async def scraped(http: httpx.AsyncClient, url: str) -> dict[tuple[str, tuple[Any, ...]], float]:
    answer = await http.get(url)
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


async def test_readiness_follows_the_processing_center(tmp_path: Path, database_url: str) -> None:
    with cluster(tmp_path, database_url) as nodes:
        ready = nodes.serve("--no-workers") + "/health/ready"
        body = await until(ready, 200)
        assert body == {
            "status": "ready",
            "checks": {"database": "ok", "schema": "ok", "processing": "ok"},
        }
        assert nodes.pc is not None
        nodes.pc.kill()
        nodes.pc.wait()
        body = await until(ready, 503)
        assert body["status"] == "not ready"
        assert body["checks"] == {"database": "ok", "schema": "ok", "processing": "not signed on"}

        nodes.start_processing_center()
        assert (await until(ready, 200))["checks"]["processing"] == "ok"


async def test_readiness_follows_the_database(tmp_path: Path, postgres_url: str) -> None:
    name = make_url(postgres_url).database
    assert name is not None
    admin = await asyncpg.connect(
        make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        with cluster(tmp_path, postgres_url) as nodes:
            server = nodes.serve("--no-workers") + "/health/ready"
            worker = nodes.worker()
            nodes.failing.append(nodes.processes[-1])  # its jobs, while the database is away
            assert (await until(server, 200))["checks"]["database"] == "ok"
            assert set((await until(worker, 200))["checks"]) == {
                "database", "schema", "processing",
                "worker janitor", "worker settlement", "worker notifications", "worker webhooks",
            }  # fmt: skip

            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            for url in (server, worker):
                body = await until(url, 503)
                assert body["checks"]["database"] == "unreachable"
                assert body["checks"]["processing"] == "ok"
                assert name not in str(body)

            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            for url in (server, worker):
                assert (await until(url, 200))["status"] == "ready"
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


async def test_sigterm_lets_the_payment_under_way_finish(tmp_path: Path, database_url: str) -> None:
    with cluster(tmp_path, database_url, processing_timeout="3") as nodes:
        add_shop(nodes)
        url = nodes.serve()
        server = nodes.processes[-1]
        port = int(url.rsplit(":", 1)[1])
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            paying = asyncio.create_task(pay(http, "SLOW", "4000000000000119"))
            deadline = time.monotonic() + SETTLE
            sql = "SELECT status FROM transactions WHERE kind = 'authorization'"
            while await scalars(database_url, sql) != ["sent"]:  # waiting for its answer
                assert time.monotonic() < deadline and not paying.done()
                await asyncio.sleep(0.05)

            server.send_signal(signal.SIGTERM)
            while not refused(port):  # noqa: ASYNC110 — a closed port sets no event
                await asyncio.sleep(0.05)
            assert not paying.done()  # no new connection while the payment goes on
            paid = await paying
        assert paid.status_code == 303
        assert re.fullmatch(r"/pay/\d+", paid.headers["location"])  # declined: to try again
        assert server.wait(timeout=SETTLE) == 0

    async with await Ledger.open(nodes.store) as ledger:
        assert len(await ledger.holds()) == 1
        assert await ledger.active_holds() == []  # its reversal was sent and answered
    statuses = await scalars(database_url, "SELECT status FROM transactions ORDER BY id")
    assert statuses == ["reversed", "approved"]
    assert await scalars(database_url, "SELECT state FROM orders") == ["Declined"]


async def test_sigterm_lets_a_worker_finish_the_notification_it_sends(
    tmp_path: Path, database_url: str
) -> None:
    shop = SlowShop()
    shop.arrived = asyncio.Event()
    settings = {"notification_interval": "0.2", "notification_ports": str(shop.port),
                "notification_networks": "127.0.0.0/8"}  # fmt: skip
    async with shop_open(shop):
        with cluster(tmp_path, database_url, **settings) as nodes:
            add_shop(nodes, "--callback-url", shop.url)
            url = nodes.serve("--no-workers")
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                await pay(http, "PAID", "4111111111111111")
            nodes.worker()
            worker = nodes.processes[-1]
            async with asyncio.timeout(SETTLE):
                await shop.arrived.wait()
            worker.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(worker.wait, SETTLE) == 0
            assert len(shop.received) == 1  # answered before the worker ended
            sql = "SELECT status FROM notifications"
            assert await scalars(database_url, sql) == ["delivered"]


async def test_two_nodes_start_at_once_on_an_empty_database(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("IPS_TEST_POSTGRES_URL is not set: nodes race on PostgreSQL")
    name = f"ips_empty_{uuid.uuid4().hex[:12]}"
    url = make_url(POSTGRES_URL).set(drivername="postgresql")
    admin = await asyncpg.connect(url.render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = url.set(database=name).render_as_string(hide_password=False)
    holder = await asyncpg.connect(database_url)
    try:
        with cluster(tmp_path, database_url) as nodes:
            # Another node migrating: both wait for it, then both go for the lock at once.
            await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            server_port, worker_port = free_port(), free_port()
            pc = f"127.0.0.1:{nodes.pc_port}"
            nodes.start("serve", "--no-workers", "--port", str(server_port), "--processing", pc)
            nodes.start("worker", "--health-port", str(worker_port), "--processing", pc)
            deadline = time.monotonic() + SETTLE
            waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            while await holder.fetchval(waiting) < 2:
                assert time.monotonic() < deadline, "the nodes did not wait for the migration"
                assert all(p.poll() is None for p in nodes.processes)
                await asyncio.sleep(0.05)
            await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

            for port in (server_port, worker_port):
                ready = f"http://127.0.0.1:{port}/health/ready"
                deadline = time.monotonic() + SETTLE
                while True:
                    with suppress(httpx.TransportError):
                        got, _ = await readiness(ready)
                        if got == 200:
                            break
                    assert time.monotonic() < deadline, "a node did not start"
                    assert all(p.poll() is None for p in nodes.processes), "a node failed"
                    await asyncio.sleep(0.1)
        assert await holder.fetchval("SELECT count(*) FROM alembic_version") == 1
        assert await holder.fetchval("SELECT count(*) FROM sealing_keys") == 1
        for process in nodes.processes[1:]:
            assert process.returncode == 0
    finally:
        await holder.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def test_a_port_in_use_stops_a_node_before_it_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        stopped = run_ips("worker", "--health-port", str(port), cwd=tmp_path, env=dict(os.environ))
    assert stopped.returncode == 1
    assert stopped.stderr.strip().endswith(f"error: cannot listen on 127.0.0.1:{port}: [Errno 98]"
                                           " Address already in use")  # fmt: skip
    assert "roles:" not in stopped.stdout and not (tmp_path / "ips.sqlite3").exists()
