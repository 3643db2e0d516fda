"""Web-service calls per second and their latency, with the credential cache and without.

    .venv/bin/python -m bench.web_services --database postgresql://postgres@127.0.0.1:5432/ips_bench_ws
    .venv/bin/python -m bench.web_services --database … --no-cache

The database named is dropped and made anew. The application is the one ``ips serve`` runs
(``bootstrap.running``, without its workers; the processing center its in-process simulator
over TCP), asked in-process over ASGI by one shop server: so the figures hold routing, the
credential check, the queries and the answer, but no network. ``--no-cache`` runs it with
``IPS_CREDENTIAL_CACHE_SECONDS=0``: every call that does not share a check already under way
pays argon2. Each scenario prints its wall time, calls per second, and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import httpx

from bench.order_monitor import BENCH, recreate
from ips.bootstrap import running
from ips.config import Settings
from ips.crypto.passwords import hash_password, verify_password
from ips.domain.cards import Card
from ips.domain.orders import Order
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, add_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.web.app import create_app

SHOP = "100001"
AUTH = {"Merchant_ID": SHOP, "Login": "bench", "Password": "bench web-service password"}
SERVER = ("198.51.100.10", 40000)
"""The shop's server, as the application sees it."""

Call = Callable[[httpx.AsyncClient], Awaitable[str]]


async def orderstate(http: httpx.AsyncClient) -> str:
    return await _ask(http, "/orderstate/orderstate.cfm", OrderNumber="C-0", Format="3")


def charge(order: Order) -> Call:
    async def call(http: httpx.AsyncClient) -> str:
        return await _ask(
            http, "/charge/charge.cfm", Billnumber=order.billnumber, Amount="10.00",
            Currency="RUB", Format="3",
        )  # fmt: skip

    return call


def cancel(order: Order) -> Call:
    async def call(http: httpx.AsyncClient) -> str:
        return await _ask(http, "/cancel/cancel.cfm", Billnumber=order.billnumber, Format="3")

    return call


async def _ask(http: httpx.AsyncClient, path: str, **fields: str) -> str:
    answer = await http.post(path, data=AUTH | fields)
    assert answer.status_code == 200, answer.text
    found = re.search(r'firstcode="([0-9]+)"', answer.text)
    assert found is not None, answer.text
    return found.group(1)


async def timed(http: httpx.AsyncClient, call: Call) -> tuple[float, str]:
    started = time.perf_counter()
    code = await call(http)
    return time.perf_counter() - started, code


def report(name: str, took: float, results: list[tuple[float, str]]) -> None:
    codes = sorted({code for _, code in results})
    ms = sorted(seconds * 1000 for seconds, _ in results)
    cut = statistics.quantiles(ms, n=100, method="inclusive")
    print(
        f"| {name} | {len(ms)} | {took:.2f} s | {len(ms) / took:,.0f} | {cut[49]:.1f} ms "
        f"| {cut[89]:.1f} ms | {cut[98]:.1f} ms | {ms[-1]:.1f} ms | {', '.join(codes)} |"
    )


async def at_once(name: str, http: httpx.AsyncClient, calls: list[Call]) -> None:
    started = time.perf_counter()
    results = await asyncio.gather(*(timed(http, call) for call in calls))
    report(name, time.perf_counter() - started, list(results))


async def one_by_one(name: str, http: httpx.AsyncClient, calls: list[Call]) -> None:
    started = time.perf_counter()
    results = [await timed(http, call) for call in calls]
    report(name, time.perf_counter() - started, results)


async def held_orders(gateway: Gateway, count: int, prefix: str) -> list[Order]:
    card = Card.parse(
        number="4111111111111111", month="12", year="2099", cvc="123", holder="Bench Buyer",
        today=date.today(),
    )  # fmt: skip
    orders = []
    for n in range(count):
        order = await create_order(
            CreateOrder(SHOP, f"{prefix}-{n}", "10.00", "RUB", delay=True), gateway
        )
        paid = PayByCard(order.billnumber, card, return_url=f"http://bench/pay/{order.billnumber}")
        orders.append((await pay_by_card(paid, gateway)).order)
    return orders


async def argon2(count: int) -> float:
    """Seconds ``count`` argon2 verifications take at once (what every call paid before)."""
    password_hash = hash_password(AUTH["Password"])
    started = time.perf_counter()
    checked = await asyncio.gather(
        *(verify_password(password_hash, AUTH["Password"]) for _ in range(count))
    )
    assert all(checked)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="postgresql://…/ips_bench_ws")
    parser.add_argument("--no-cache", action="store_true", help="IPS_CREDENTIAL_CACHE_SECONDS=0")
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    await recreate(args.database)
    with tempfile.TemporaryDirectory() as work:
        settings = Settings(
            database_url=args.database,
            key_file=Path(work) / "ips.key",
            simulator_store=Path(work) / "processing-center.sqlite3",
            credential_cache_seconds=0 if args.no_cache else 300,
        )
        async with running(settings, workers=False) as runtime:
            gateway = runtime.services.gateway
            await add_merchant(
                AddMerchant(SHOP, "Bench Shop", AUTH["Login"], AUTH["Password"], "secret",
                            double_stage=True),
                gateway.uow_factory, actor=BENCH,
            )  # fmt: skip
            half = args.calls // 2
            to_charge = await held_orders(gateway, half, "C")
            to_cancel = await held_orders(gateway, args.calls - half, "X")
            transport = httpx.ASGITransport(app=create_app(runtime.services), client=SERVER)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=600
            ) as http:
                cache = "off" if args.no_cache else f"{settings.credential_cache_seconds:.0f} s"
                print(f"Credential cache: {cache}. argon2 verifications: one alone "
                      f"{await argon2(1) * 1000:.0f} ms, {args.calls} at once "
                      f"{await argon2(args.calls):.1f} s.\n")  # fmt: skip
                print(
                    "| calls | n | wall | calls/s | p50 | p90 | p99 | max | firstcode |\n"
                    "|---|---:|---:|---:|---:|---:|---:|---:|---|"
                )
                n = args.calls
                await at_once("orderstate, at once, first", http, [orderstate] * n)
                await at_once("orderstate, at once, again", http, [orderstate] * n)
                await one_by_one("orderstate, one by one", http, [orderstate] * n)
                burst = [charge(o) for o in to_charge] + [cancel(o) for o in to_cancel]
                await at_once("charges and cancels, at once", http, burst)


if __name__ == "__main__":
    asyncio.run(main())
