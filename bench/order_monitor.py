"""The Order Monitor's reads against 1,000,000 orders of one merchant (PostgreSQL).

    .venv/bin/python -m bench.order_monitor --database postgresql://postgres@127.0.0.1:5432/ips_bench

The database named is dropped and made anew, migrated, and loaded on the server
(``INSERT … SELECT … FROM generate_series``): the merchant's orders over a year, with
realistic shares of states, currencies, single- and double-stage payments, card and wallet
payments with masked cards, and their books; and fewer orders of another merchant, whose
rows every query must step over. Then each read is timed through the service functions
(the page's rows mapped to Python objects included): one warm-up, then the median of
``--runs``. ``--explain`` prints PostgreSQL's plan of each read as well. ``--keep`` reuses
a database loaded before.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from ips.crypto.keyring import KeyRing
from ips.domain.audit import Actor, ActorKind
from ips.domain.money import Money, currency
from ips.domain.orders import PaymentMeans
from ips.domain.states import OrderState
from ips.services import monitor
from ips.services.merchants import AddMerchant, add_merchant
from ips.services.monitor import OrderFilter, Position
from ips.storage.database import create_engine
from ips.storage.migrate import migrate
from ips.storage.unit_of_work import Database

BENCH = Actor(ActorKind.COMMAND, "bench", "localhost")
"""Who the benchmarks add their merchants as."""

SHOP, OTHER = "100001", "100002"
END = datetime(2026, 12, 1, tzinfo=UTC)
"""The load's year ends here (exclusive)."""
PAGE = 50
KEY_FILE = Path(tempfile.gettempdir()) / "ips-bench.key"
"""Kept between runs: ``--keep`` and ``bench.cabinet_pages`` open the loaded database with it."""
CHUNK = 100_000

_ORDERS = """
INSERT INTO orders (billnumber, merchant_id, ordernumber, amount_minor, currency, state, delay,
    language, comment, buyer, url_return, url_return_ok, url_return_no, holds_ordernumber,
    means, disable_3ds, books_currency, held, confirmed, released, hold_cancelled, reversed,
    presented, refunded, created_at, updated_at, payment_means, masked_pan, card_last4)
SELECT (1000000000000000 + g)::text,
    CASE WHEN g % :every::int = 0 THEN :other::varchar ELSE :shop::varchar END,
    'ORD-' || g, a, cur, state, d,
    CASE WHEN g % 5 = 0 THEN 'EN' ELSE 'RU' END, 'Order ORD-' || g,
    json_build_object('lastname', 'Ivanov', 'firstname', 'Ivan', 'middlename', '',
        'email', 'buyer' || g || '@example.com', 'address', '', 'home_phone', '',
        'work_phone', '', 'mobile_phone', '+7900' || lpad((g % 10000000)::text, 7, '0'),
        'fax', '', 'country', 'RU', 'state', '', 'city', 'Moscow', 'zip', '',
        'client_ip', '203.0.113.' || (g % 250)),
    'https://shop.example/return', 'https://shop.example/ok?order=' || g,
    'https://shop.example/no?order=' || g, paid OR state = 'In Process' AND pm IS NOT NULL,
    'card wallet', false,
    CASE WHEN paid THEN cur END,
    CASE WHEN paid THEN a ELSE 0 END,
    CASE WHEN state IN ('Approved', 'PartialCanceled') OR state = 'Canceled' AND NOT d THEN a
         WHEN state = 'PartialDelayed' THEN a / 2 ELSE 0 END,
    0,
    CASE WHEN state = 'Canceled' AND d THEN a ELSE 0 END,
    CASE WHEN state = 'Canceled' AND NOT d AND pm = 'card' THEN a ELSE 0 END,
    CASE WHEN state = 'PartialCanceled' OR state = 'Canceled' AND NOT d AND pm = 'wallet'
           OR state = 'Approved' AND (pm = 'wallet' OR NOT recent) THEN a ELSE 0 END,
    CASE WHEN state = 'PartialCanceled' THEN greatest(1, a / 3)
         WHEN state = 'Canceled' AND NOT d AND pm = 'wallet' THEN a ELSE 0 END,
    created_at, created_at + interval '1 minute',
    pm,
    CASE WHEN pm = 'card' THEN bin || '****' || last4 END,
    CASE WHEN pm = 'card' THEN last4 END
FROM (
    SELECT *, state IN ('Approved', 'Delayed', 'PartialDelayed', 'Canceled', 'PartialCanceled')
            AS paid,
        CASE WHEN state = 'Timeout' OR state = 'In Process' AND r_means < 0.5 THEN NULL
             WHEN r_means < 0.9 OR d THEN 'card' ELSE 'wallet' END AS pm
    FROM (
        SELECT g, r_means, last4, bin, d, created_at, recent,
            CASE WHEN r_cur < 0.85 THEN 'RUB' WHEN r_cur < 0.95 THEN 'USD'
                 WHEN r_cur < 0.99 THEN 'EUR' ELSE 'JPY' END AS cur,
            (exp(r_amount * ln(100000)))::bigint * CASE WHEN r_cur < 0.99 THEN 100 ELSE 1 END
                AS a,
            CASE WHEN r_state < 0.02 THEN CASE WHEN recent THEN 'In Process' ELSE 'Timeout' END
                 WHEN r_state < 0.14 THEN 'Declined'
                 WHEN r_state < 0.18 THEN 'Timeout'
                 WHEN r_state < 0.78 THEN 'Approved'
                 WHEN r_state < 0.82 THEN CASE WHEN d THEN 'Delayed' ELSE 'Approved' END
                 WHEN r_state < 0.84 THEN CASE WHEN d THEN 'PartialDelayed' ELSE 'Approved' END
                 WHEN r_state < 0.93 THEN 'Canceled'
                 ELSE 'PartialCanceled' END AS state
        FROM (
            SELECT *, created_at > :end::timestamptz - interval '1 day' AS recent
            FROM (
                SELECT g, random() AS r_cur, random() AS r_amount, random() AS r_state,
                    random() AS r_means, random() < 0.3 AS d,
                    :end::timestamptz - interval '365 days'
                        + (g - 1 + random()) * (interval '365 days' / :total::int)
                        AS created_at,
                    lpad(floor(random() * 10000)::int::text, 4, '0') AS last4,
                    (ARRAY['411111', '555555', '220000', '427600', '546938'])
                        [1 + floor(random() * 5)::int] AS bin
                FROM generate_series(:first::bigint, :last::bigint) AS g
            ) timed
        ) draws
    ) drawn
) orders_to_be
"""
"""Orders in the order they were made over the year (so the table is laid out by time, as
a live one is), one in ``every`` of the other merchant."""

_PAYMENTS = """
INSERT INTO operations (order_id, number, kind, status, amount_minor, currency, means,
    masked_pan, card_brand, card_expiry, cardholder, client_ip, approval_code, created_at,
    finished_at)
SELECT id, 1, '100',
    CASE WHEN books_currency IS NOT NULL THEN 'success'
         WHEN state = 'In Process' THEN 'in_process' ELSE 'declined' END,
    amount_minor, currency, payment_means, masked_pan,
    CASE WHEN masked_pan IS NOT NULL THEN 'VISA' END,
    CASE WHEN masked_pan IS NOT NULL THEN '12/29' END,
    CASE WHEN masked_pan IS NOT NULL THEN 'IVAN IVANOV' END,
    '203.0.113.7', CASE WHEN books_currency IS NOT NULL THEN 'A1B2C3' ELSE '' END,
    created_at, created_at + interval '20 seconds'
FROM orders WHERE payment_means IS NOT NULL AND id BETWEEN :first AND :last
"""


def admin_dsn(url: str) -> tuple[str, str]:
    """The server's maintenance database, and the name of the bench's own."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise SystemExit("give a PostgreSQL URL with a database name: …/ips_bench")
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), parsed.database


async def recreate(url: str) -> None:
    dsn, name = admin_dsn(url)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def load(database: Database, url: str, orders: int, others: int) -> None:
    for merchant_id, name in ((SHOP, "Bench Shop"), (OTHER, "Other Shop")):
        await add_merchant(
            AddMerchant(merchant_id, name, f"login{merchant_id}", "bench-password", "secret"),
            database,
            actor=BENCH,
        )
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute("SELECT setseed(0.8583)")
        started = time.perf_counter()
        every = (orders + others) // others if others else orders + others + 1
        total = orders + orders // (every - 1) if others else orders
        for first in range(1, total + 1, CHUNK):
            last = min(first + CHUNK - 1, total)
            await conn.execute(*_positional(
                _ORDERS, every=every, other=OTHER, shop=SHOP, first=first, last=last,
                total=total, end=END,
            ))  # fmt: skip
            print(f"  orders {last:>9,} ({time.perf_counter() - started:5.1f} s)")
        top = await conn.fetchval("SELECT max(id) FROM orders")
        for low in range(1, top + 1, CHUNK):
            await conn.execute(*_positional(_PAYMENTS, first=low, last=low + CHUNK - 1))
        print(f"  payments           ({time.perf_counter() - started:5.1f} s)")
        counts = await conn.fetch(
            "SELECT merchant_id, count(*) FROM orders GROUP BY merchant_id ORDER BY 1"
        )
        print("  " + ", ".join(f"{row[0]}: {row[1]:,} orders" for row in counts))
        await conn.execute("VACUUM ANALYZE orders")
        await conn.execute("VACUUM ANALYZE operations")
        print(f"  loaded, vacuumed   ({time.perf_counter() - started:5.1f} s)")
    finally:
        await conn.close()


def _positional(sql: str, **values: Any) -> list[Any]:
    """``:name`` parameters as asyncpg's ``$n``."""
    names = list(values)
    for index, name in enumerate(names, 1):
        sql = sql.replace(f":{name}", f"${index}")
    return [sql, *values.values()]


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[], Awaitable[Any]]
    rows: Callable[[Any], int]


def shop(**criteria: Any) -> OrderFilter:
    return OrderFilter(SHOP, **criteria)


MONTH = shop(since=END - timedelta(days=30), until=END)


async def cases(database: Database, orders: int) -> list[Case]:
    rub, usd = currency("RUB"), currency("USD")
    deep = await _position_at(database, orders // 2)
    deep_cursor = monitor.encode_cursor(deep)
    approved = frozenset({OrderState.APPROVED})

    def page(f: OrderFilter, cursor: str | None = None) -> Case:
        return Case("", lambda: monitor.list_orders(f, cursor, PAGE, database), _page_rows)

    named = {
        "first page": page(shop()),
        f"deep page (cursor at row {orders // 2:,})": page(shop(), deep_cursor),
        "period: last month": page(MONTH),
        "state: Approved": page(shop(states=approved)),
        "state: PartialDelayed (rare)": page(shop(states=frozenset({OrderState.PARTIAL_DELAYED}))),
        "states: Declined, Timeout": page(
            shop(states=frozenset({OrderState.DECLINED, OrderState.TIMEOUT}))
        ),
        "ordernumber": page(shop(ordernumber="ORD-777778")),
        "the other merchant's ordernumber": page(shop(ordernumber="ORD-777777")),
        "billnumber": page(shop(billnumber="1000000000123457")),
        "amount 1000.00–1001.00 RUB": page(
            shop(amount_min=Money(100000, rub), amount_max=Money(100100, rub))
        ),
        "amount ≥ 50000.00 USD": page(shop(amount_min=Money(5000000, usd))),
        "means: wallet": page(shop(means=PaymentMeans.WALLET)),
        "card last four": page(shop(card_last4="4242")),
        "wallet + card last four (no match)": page(
            shop(means=PaymentMeans.WALLET, card_last4="4242")
        ),
        "month + Approved + card": page(
            shop(since=MONTH.since, until=MONTH.until, states=approved, means=PaymentMeans.CARD)
        ),
        "deep page, state Approved": page(shop(states=approved), deep_cursor),
        "last page": page(shop(), monitor.encode_cursor(await _position_at(database, orders - 20))),
        "Declined or Timeout, wallet, ≥ 500.00 EUR": page(
            shop(
                states=frozenset({OrderState.DECLINED, OrderState.TIMEOUT}),
                means=PaymentMeans.WALLET,
                amount_min=Money(50000, currency("EUR")),
            )
        ),
        "totals: all orders": Case("", lambda: monitor.totals(shop(), database), len),
        "totals: last month": Case("", lambda: monitor.totals(MONTH, database), len),
        "totals: wallet, Approved": Case(
            "",
            lambda: monitor.totals(shop(means=PaymentMeans.WALLET, states=approved), database),
            len,
        ),
        "turnover: last month": Case("", lambda: monitor.daily_turnover(MONTH, database), len),
        "turnover: the year": Case("", lambda: monitor.daily_turnover(shop(), database), len),
    }
    return [Case(name, case.run, case.rows) for name, case in named.items()]


def _page_rows(page: monitor.OrderPage) -> int:
    return len(page.rows)


async def _position_at(database: Database, offset: int) -> Position:
    from sqlalchemy import text

    async with database.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT created_at, id FROM orders WHERE merchant_id = :m"
                    " ORDER BY created_at DESC, id DESC OFFSET :n LIMIT 1"
                ),
                {"m": SHOP, "n": offset},
            )
        ).one()
    return Position(row.created_at, row.id)


async def timed(case: Case, runs: int) -> tuple[float, int]:
    result = await case.run()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await case.run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), case.rows(result)


async def export_rate(database: Database, runs: int) -> tuple[float, int]:
    rates, count = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        count = 0
        async for _row in monitor.export_rows(shop(), database, batch=1000):
            count += 1
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates), count


async def explain(database: Database, case: Case) -> str:
    """PostgreSQL's plan of the statement the case sends, run (``EXPLAIN ANALYZE``)."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", keep)
    try:
        await case.run()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", keep)
    statement, parameters = next((s, p) for s, p in sent if "FROM orders" in s)
    async with database.engine.connect() as conn:
        plan = await conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
        )
        return "\n".join(f"    {row[0]}" for row in plan)


async def sizes(database: Database) -> list[tuple[str, str]]:
    from sqlalchemy import text

    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class"
                " WHERE relname = 'orders' OR relname LIKE 'ix_orders_%' OR relname = 'pk_orders'"
                " ORDER BY relname"
            )
        )
        return [(row[0], row[1]) for row in rows]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="postgresql://…/ips_bench")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--others", type=int, default=100_000, help="the other merchant's")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--export-runs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--key-file", type=Path, default=KEY_FILE, help="the key ring the load seals with"
    )
    args = parser.parse_args()

    if not args.keep:
        print(f"Loading {args.orders:,} orders (+{args.others:,} of another merchant)…")
        await recreate(args.database)
        args.key_file.unlink(missing_ok=True)
    engine = create_engine(args.database)
    await migrate(engine)
    database = Database(engine, KeyRing.load_or_create(args.key_file))
    if not args.keep:
        await load(database, args.database, args.orders, args.others)
    print("\n| read | median | rows |\n|---|---:|---:|")
    all_cases = await cases(database, args.orders)
    for case in all_cases:
        seconds, rows = await timed(case, args.runs)
        print(f"| {case.name} | {seconds * 1000:.1f} ms | {rows:,} |")
    rate, count = await export_rate(database, args.export_runs)
    print(f"| full export, batches of 1000 | {count / rate:.1f} s | {count:,} |")
    print(f"\nExport: {rate:,.0f} rows/s.\n")
    for name, size in await sizes(database):
        print(f"    {name:<34} {size}")
    if args.explain:
        for case in all_cases:
            print(f"\n{case.name}:\n{await explain(database, case)}")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
