"""The Personal Account's pages over HTTP, against the database ``bench.order_monitor``
loaded (1,000,000 orders of one merchant), as a signed-in operator asks for them:

    .venv/bin/python -m bench.order_monitor --database postgresql://…/ips_bench
    .venv/bin/python -m bench.cabinet_pages --database postgresql://…/ips_bench

The application is the one ``ips serve`` runs (``bootstrap.running``, without its
workers), asked in-process over ASGI, so the figures hold routing, the session check, the
queries, the template and the chart, but no network. Each page: one warm-up, then the
median of ``--runs``; the export is read to its end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from bench.order_monitor import KEY_FILE, SHOP
from ips.bootstrap import running
from ips.config import Settings
from ips.domain.errors import InvalidInput
from ips.domain.users import Role
from ips.services.accounts import add_user
from ips.services.audit import command_actor
from ips.web.app import create_app

LOGIN, PASSWORD = "bench-operator", "bench operator password"

PAGES: list[tuple[str, Mapping[str, str]]] = [
    ("the Order Monitor, no filter", {}),
    ("period: November", {"from": "2026-11-01", "to": "2026-11-30"}),
    ("state: Approved", {"state": "Approved"}),
    ("states: Declined, Timeout", {"state": "Declined&state=Timeout"}),
    ("ordernumber", {"ordernumber": "ORD-500000"}),
    ("amount 1000.00–1001.00 RUB", {"amount_min": "1000.00", "amount_max": "1001.00"}),
    ("card last four", {"last4": "4242"}),
    ("wallet, November", {"means": "wallet", "from": "2026-11-01", "to": "2026-11-30"}),
]


async def timed(http: httpx.AsyncClient, url: str, runs: int) -> tuple[float, httpx.Response]:
    answer = await http.get(url)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await http.get(url)
        seconds.append(time.perf_counter() - started)
        assert answer.status_code == 200, (url, answer.status_code)
    return statistics.median(seconds), answer


def query(params: Mapping[str, str]) -> str:
    return "&".join(f"{name}={value}" for name, value in params.items())


def rows_of(answer: httpx.Response) -> int:
    return answer.text.count(ROW)


ROW = "<tr>\n        <td>"
"""How a row of the list begins in the page."""


async def sign_in(http: httpx.AsyncClient) -> None:
    form = await http.get("/cabinet/login")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token is not None
    signed = await http.post(
        "/cabinet/login", data={"login": LOGIN, "password": PASSWORD, "token": token.group(1)}
    )
    assert signed.status_code == 303, signed.text


async def pages(http: httpx.AsyncClient, runs: int) -> None:
    print("| page | median | rows |\n|---|---:|---:|")
    next_url = ""
    for name, params in PAGES:
        seconds, answer = await timed(http, f"/cabinet/orders?{query(params)}", runs)
        print(f"| {name} | {seconds * 1000:.0f} ms | {rows_of(answer)} |")
        found = re.search(r'<a href="([^"]+)" rel="next">', answer.text)
        next_url = next_url or (found.group(1).replace("&amp;", "&") if found else "")
    seconds, answer = await timed(http, next_url, runs)
    print(f"| the next page (keyset) | {seconds * 1000:.0f} ms | {rows_of(answer)} |")
    seconds, answer = await timed(http, "/cabinet/orders/1000000000500000", runs)
    print(f"| an order's page | {seconds * 1000:.0f} ms | 1 |")


async def export(http: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    size, lines = 0, 0
    async with http.stream("GET", "/cabinet/orders.csv") as answer:
        async for chunk in answer.aiter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    took = time.perf_counter() - started
    print(f"| CSV export, all orders | {took:.1f} s | {lines - 1:,} |")
    print(f"\nExport: {size / 2**20:.0f} MiB, {(lines - 1) / took:,.0f} rows/s.")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="postgresql://…/ips_bench")
    parser.add_argument("--key-file", type=Path, default=KEY_FILE)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        settings = Settings(
            database_url=args.database,
            key_file=args.key_file,
            simulator_store=Path(work) / "processing-center.sqlite3",
        )
        async with running(settings, workers=False) as runtime:
            gateway = runtime.services.gateway
            with contextlib.suppress(InvalidInput):  # added by an earlier run
                await add_user(
                    SHOP, LOGIN, PASSWORD, Role.OPERATOR, gateway.uow_factory, gateway.clock,
                    actor=command_actor(),
                )  # fmt: skip
            transport = httpx.ASGITransport(app=create_app(runtime.services))
            async with httpx.AsyncClient(
                transport=transport, base_url="https://bench", timeout=600
            ) as http:
                await sign_in(http)
                await pages(http, args.runs)
                await export(http)


if __name__ == "__main__":
    asyncio.run(main())
