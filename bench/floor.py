"""The floor of IPS's stack on this machine: the CPU one HTTP request and one SQL statement
cost before IPS does anything of its own.

    .venv/bin/python -m bench.floor --database postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m bench.floor --database … --requests 3000 --statements 3000 --clients 8

HTTP: a bare app (``GET /ping``, and ``POST /form`` reading a 6-field urlencoded form), once
on FastAPI and once on starlette's plain ``Router``, served by uvicorn (uvloop, httptools, no
access log) in a process of its own and asked by ``--clients`` concurrent httpx clients,
``--requests`` of each kind; the figure is that server's CPU (``/proc/<pid>/stat``).

SQL: in this process, on IPS's event loop, one connection, one statement after another, in a
database of its own (``floor_bench_<pid>`` on the server ``--database`` names, dropped at the
end): a SELECT by primary key and an INSERT, raw asyncpg and SQLAlchemy Core, the INSERTs
ten to a transaction (its BEGIN and COMMIT counted in the ten). The figure is this process's
CPU. Each measure follows a warm-up of 200 and prints its CPU milliseconds per request or
statement and how many a second it made; the last line prices a payment's requests and
statements (its ISO 8583 round trip not counted) at that floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import BigInteger, Column, DateTime, MetaData, Table, Text, insert, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route, Router
from tests.processes import free_port, wait_for_port

from bench.payments import cpu_seconds
from ips import eventloop

WARM_UP = 200
MODEL_REQUESTS = 4
FORM = {
    "Merchant_ID": "111111", "OrderNumber": "F-1", "OrderAmount": "10.00",
    "OrderCurrency": "RUB", "Email": "buyer@example.com", "Language": "ru",
}  # fmt: skip
ROW = {"merchant_id": "111111", "amount_minor": 1000, "state": "authorized"}
SELECT_SQL = (
    "SELECT id, merchant_id, amount_minor, state, created_at FROM floor_bench WHERE id = $1"
)
INSERT_SQL = (
    "INSERT INTO floor_bench (merchant_id, amount_minor, state, created_at) VALUES ($1, $2, $3, $4)"
)

CORE_SELECT = "SQLAlchemy Core: SELECT by id"
CORE_INSERT = "SQLAlchemy Core: INSERT, 10 a transaction"

Row = tuple[str, int, float, float]
"""What was measured, how many, CPU ms each, how many a second."""


# --- the bare app, served by ``-m uvicorn bench.floor:app`` (or ``:router``) ----------------


async def ping(request: Request) -> PlainTextResponse:
    return PlainTextResponse("pong")


async def form(request: Request) -> HTMLResponse:
    fields = await request.form()
    return HTMLResponse(f"<html><body><p>{len(fields)} fields</p></body></html>")


app = FastAPI()
app.add_api_route("/ping", ping, methods=["GET"])
app.add_api_route("/form", form, methods=["POST"])
router = Router(routes=[Route("/ping", ping), Route("/form", form, methods=["POST"])])


@contextlib.contextmanager
def served(name: str) -> Iterator[tuple[str, int]]:
    """``bench.floor:name`` under uvicorn in a process of its own: its URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"bench.floor:{name}", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--lifespan", "off",
         "--log-level", "warning"],
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, process, lambda: process.communicate()[0].decode())
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        process.kill()


async def drive(url: str, method: str, path: str, count: int, clients: int) -> None:
    """``count`` requests, shared among ``clients`` clients asking at the same time."""

    async def client(share: int) -> None:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(share):
                answer = await http.request(method, path, data=FORM if method == "POST" else None)
                assert answer.status_code == 200, answer.text

    shares = (count // clients + (n < count % clients) for n in range(clients))
    await asyncio.gather(*(client(share) for share in shares))


async def http_floor(name: str, label: str, count: int, clients: int) -> list[Row]:
    rows = []
    with served(name) as (url, pid):
        for method, path in (("GET", "/ping"), ("POST", "/form")):
            await drive(url, method, path, WARM_UP, clients)
            cpu, wall = cpu_seconds(pid), time.perf_counter()
            await drive(url, method, path, count, clients)
            took = time.perf_counter() - wall
            ms = (cpu_seconds(pid) - cpu) / count * 1000
            rows.append((f"{label}: {method} {path}", count, ms, count / took))
    return rows


# --- SQL, in this process ------------------------------------------------------------------

table = Table(
    "floor_bench", MetaData(),
    Column("id", BigInteger, primary_key=True), Column("merchant_id", Text),
    Column("amount_minor", BigInteger), Column("state", Text),
    Column("created_at", DateTime(timezone=True)),
)  # fmt: skip


async def measured(
    name: str, statements: int, run: Callable[[int], Awaitable[None]], per: int = 1
) -> Row:
    """``run(i)`` makes ``per`` statements: a warm-up, then ``statements`` of them timed."""
    for i in range(WARM_UP // per):
        await run(i)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(statements // per):
        await run(i)
    took, done = time.perf_counter() - wall, statements // per * per
    return name, done, (time.process_time() - cpu) / done * 1000, done / took


async def sql_floor(url: URL, count: int) -> list[Row]:
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    engine = create_async_engine(url.set(drivername="postgresql+asyncpg"))
    try:
        await conn.execute(
            "CREATE TABLE floor_bench (id bigserial PRIMARY KEY, merchant_id text, "
            "amount_minor bigint, state text, created_at timestamptz)"
        )
        await conn.execute(
            "INSERT INTO floor_bench (merchant_id, amount_minor, state, created_at) "
            "SELECT '111111', n, 'authorized', now() FROM generate_series(1, $1) n", count
        )  # fmt: skip

        async def raw_select(i: int) -> None:
            assert await conn.fetchrow(SELECT_SQL, i % count + 1) is not None

        async def raw_insert(i: int) -> None:
            async with conn.transaction():
                for _ in range(10):
                    await conn.execute(INSERT_SQL, *ROW.values(), now)

        async def core_insert(i: int) -> None:
            async with engine.begin() as core:
                for _ in range(10):
                    await core.execute(insert(table).values(**ROW, created_at=now))

        rows = [await measured("asyncpg: SELECT by id", count, raw_select)]
        async with engine.connect() as core:
            core = await core.execution_options(isolation_level="AUTOCOMMIT")

            async def core_select(i: int) -> None:
                found = await core.execute(select(table).where(table.c.id == i % count + 1))
                assert found.first() is not None

            rows.append(await measured(CORE_SELECT, count, core_select))
        rows.append(await measured(CORE_INSERT, count, core_insert, per=10))
        rows.append(await measured("asyncpg: INSERT, 10 a transaction", count, raw_insert, per=10))
        return rows
    finally:
        await engine.dispose()
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    rows = []
    for app_name, label in (("app", "FastAPI"), ("router", "starlette Router")):
        rows += await http_floor(app_name, label, args.requests, args.clients)
    server = make_url(args.database)
    name = f"floor_bench_{os.getpid()}"
    admin = await asyncpg.connect(server.set(drivername="postgresql").render_as_string(False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        rows += await sql_floor(server.set(database=name), args.statements)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print("| measure | count | CPU ms each | per second |")
    print("|---|---:|---:|---:|")
    for what, count, ms, rate in rows:
        print(f"| {what} | {count} | {ms:.3f} | {rate:,.0f} |")
    ms_each = {what: ms for what, _, ms, _ in rows}
    request = ms_each["FastAPI: POST /form"]
    statement = (ms_each[CORE_SELECT] + ms_each[CORE_INSERT]) / 2
    m = args.model_statements
    print(
        f"floor of a payment: {MODEL_REQUESTS} requests × {request:.2f} ms + {m} statements × "
        f"{statement:.2f} ms = {MODEL_REQUESTS * request + m * statement:.1f} ms of CPU "
        "(FastAPI POST /form; SQLAlchemy Core, mean of SELECT and INSERT; no ISO 8583)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=3000, help="of each kind")
    parser.add_argument("--statements", type=int, default=3000, help="of each kind")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--model-statements", type=int, default=37)
    eventloop.run(main(parser.parse_args()))
