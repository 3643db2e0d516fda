"""Storage: the constraints hold the invariants even when the code around them is bypassed."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ips.crypto.keyring import KeyRing
from ips.domain.merchants import Merchant
from ips.domain.money import Money, currency
from ips.domain.orders import Operation, OperationKind, Order
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus
from ips.storage.database import async_url, create_engine
from ips.storage.migrate import migrate
from ips.storage.tables import events, operations, orders
from ips.storage.unit_of_work import Database

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
RUB = currency("RUB")
ORDER_ROW = {
    "merchant_id": "111111",
    "ordernumber": "x",
    "amount_minor": 100,
    "currency": "RUB",
    "state": "In Process",
    "delay": False,
    "language": "RU",
    "comment": "",
    "buyer": {},
    "url_return": "",
    "url_return_ok": "",
    "url_return_no": "",
    "holds_ordernumber": False,
    "created_at": NOW,
    "updated_at": NOW,
}


def an_order(billnumber: str, ordernumber: str = "N-1") -> Order:
    return Order(billnumber, "111111", ordernumber, Money(10000, RUB), NOW)


async def stored(database: Database, order: Order) -> Order:
    async with database() as uow:
        await uow.orders.add(order)
        await uow.commit()
    return order


PAID_BOOKS = {"books_currency": "RUB", "held": 10000, "confirmed": 10000}


def payment(order_id: int, number: int, status: OperationStatus) -> dict[str, object]:
    return {
        "order_id": order_id,
        "number": number,
        "kind": OperationKind.PAYMENT.value,
        "status": status.value,
        "amount_minor": 10000,
        "currency": "RUB",
        "means": "card",
        "client_ip": "",
        "approval_code": "",
        "created_at": NOW,
    }


pytestmark = pytest.mark.usefixtures("merchant")


def test_plain_urls_pick_async_drivers() -> None:
    assert async_url("sqlite:///ips.sqlite3").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h:5432/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://u@h/db")


async def test_order_round_trip_keeps_every_field(database: Database) -> None:
    order = await stored(database, an_order("1000000000000001"))
    async with database(readonly=True) as uow:
        loaded = await uow.orders.get(order.billnumber)
    assert loaded == dataclasses.replace(order, updated_at=order.created_at)
    assert loaded.created_at.tzinfo is not None


async def test_billnumber_is_unique(database: Database) -> None:
    await stored(database, an_order("1000000000000001"))
    async with database() as uow:
        assert not await uow.orders.add(an_order("1000000000000001", "N-2"))
        await uow.commit()
    with pytest.raises(IntegrityError):  # the constraint, under the repository
        async with database.engine.begin() as conn:
            await conn.execute(
                insert(orders).values(
                    billnumber="1000000000000001", **ORDER_ROW | {"ordernumber": "N-3"}
                )
            )


async def test_one_live_payment_per_order_is_held_by_the_database(database: Database) -> None:
    order = await stored(database, an_order("1000000000000001"))
    assert order.id is not None
    async with database.engine.begin() as conn:
        await conn.execute(insert(operations).values(payment(order.id, 1, OperationStatus.SUCCESS)))
        await conn.execute(
            insert(operations).values(payment(order.id, 2, OperationStatus.DECLINED))
        )
    with pytest.raises(IntegrityError):
        async with database.engine.begin() as conn:
            await conn.execute(
                insert(operations).values(payment(order.id, 3, OperationStatus.IN_PROCESS))
            )


async def test_one_paid_order_per_ordernumber_is_held_by_the_database(database: Database) -> None:
    first = await stored(database, an_order("1000000000000001"))
    second = await stored(database, an_order("1000000000000002"))
    async with database.engine.begin() as conn:
        await conn.execute(
            update(orders)
            .where(orders.c.id == first.id)
            .values(state="Approved", holds_ordernumber=True, **PAID_BOOKS)
        )
    with pytest.raises(IntegrityError):
        async with database.engine.begin() as conn:
            await conn.execute(
                update(orders)
                .where(orders.c.id == second.id)
                .values(state="Approved", holds_ordernumber=True, **PAID_BOOKS)
            )
    with pytest.raises(IntegrityError):  # a paid order that gave up its number
        async with database.engine.begin() as conn:
            await conn.execute(
                update(orders).where(orders.c.id == first.id).values(holds_ordernumber=False)
            )


async def test_amounts_must_be_positive(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.engine.begin() as conn:
            await conn.execute(
                insert(orders).values(billnumber="1", **ORDER_ROW | {"amount_minor": -1})
            )


@pytest.mark.parametrize(
    "books",
    [
        {"held": 100, "confirmed": 101},
        {"held": 100, "confirmed": 60, "released": 30, "hold_cancelled": 11},
        {"held": 100, "confirmed": 50, "presented": 40, "reversed": 11},
        {"held": 100, "confirmed": 50, "presented": 40, "refunded": 41},
        {"held": -1},
    ],
)
async def test_books_out_of_balance_are_refused_by_the_database(
    database: Database, books: dict[str, int]
) -> None:
    row = ORDER_ROW | {"state": "Approved", "holds_ordernumber": True, "books_currency": "RUB"}
    with pytest.raises(IntegrityError):
        async with database.engine.begin() as conn:
            await conn.execute(insert(orders).values(billnumber="2", **row | books))


async def test_a_paid_order_has_books(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.engine.begin() as conn:
            await conn.execute(
                insert(orders).values(
                    billnumber="3", **ORDER_ROW | {"state": "Approved", "holds_ordernumber": True}
                )
            )


async def test_state_changes_are_recorded_as_events(database: Database) -> None:
    order = await stored(database, an_order("1000000000000001"))
    async with database() as uow:
        locked = await uow.orders.get(order.billnumber, lock=True)
        assert locked is not None and locked.id is not None
        op = Operation(locked.id, 1, OperationKind.PAYMENT, locked.amount, NOW)
        await uow.operations.add(op)
        op.finish(OperationStatus.DECLINED, ResponseCode.DECLINED, NOW)
        await uow.operations.save(op)
        locked.end_payment(op, NOW)
        await uow.orders.save(locked)
        await uow.commit()
    async with database.engine.connect() as conn:
        rows = (await conn.execute(select(events.c.entity, events.c.old, events.c.new))).all()
    assert sorted(tuple(r) for r in rows) == [
        ("operation", "in_process", "declined"),
        ("order", "In Process", "Declined"),
    ]


async def test_sqlite_under_concurrent_writers_never_reports_locked(
    tmp_path: Path, keyring: KeyRing, merchant: Merchant
) -> None:
    """Fifty writers at once on one SQLite file: each waits its turn, none fails."""
    engine = create_engine(f"sqlite:///{tmp_path / 'busy.sqlite3'}")
    await migrate(engine)
    database = Database(engine, keyring)
    async with database() as uow:
        await uow.merchants.add(merchant)
        await uow.commit()

    async def write(n: int) -> None:
        async with database() as uow:
            existing = await uow.orders.ordernumber_taken("111111", f"N-{n}")
            assert not existing
            await asyncio.sleep(0)
            await uow.orders.add(an_order(f"{2000000000000000 + n}", f"N-{n}"))
            await uow.commit()

    await asyncio.gather(*(write(n) for n in range(50)))
    async with engine.connect() as conn:
        count = len((await conn.execute(select(orders.c.id))).all())
    assert count == 50
    await engine.dispose()
