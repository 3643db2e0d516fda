"""Migrations: every revision up and down, and data written before a revision kept by it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ips.storage.database import create_engine
from ips.storage.migrate import migrate
from ips.storage.tables import kept_cards

NOW = datetime(2026, 11, 30, tzinfo=UTC).replace(tzinfo=None)
FINISHED = datetime(2026, 11, 30, 0, 1, tzinfo=UTC).replace(tzinfo=None)


async def with_a_merchant_at(database_url: str, revision: str) -> AsyncEngine:
    """A database at ``revision`` with merchant ``1``, added at revision 0001."""
    engine = create_engine(database_url)
    await migrate(engine, "base", down=True)
    await migrate(engine, "0001")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO merchants VALUES ('1', 'Shop', 'l', 'h', 's', 'RUB', false, '', false,"
                " :now)"
            ),
            {"now": NOW},
        )
    await migrate(engine, revision)
    return engine


async def test_a_paid_order_of_revision_1_gets_its_books_and_its_debit(database_url: str) -> None:
    engine = create_engine(database_url)
    await migrate(engine, "base", down=True)
    await migrate(engine, "0001")
    async with engine.begin() as conn:

        async def insert(sql: str, **values: object) -> int:
            return int((await conn.execute(text(sql + " RETURNING id"), values)).scalar_one())

        await conn.execute(
            text(
                "INSERT INTO merchants VALUES ('1', 'Shop', 'l', 'h', 's', 'RUB', false, '', false,"
                " :now)"
            ),
            {"now": NOW},
        )
        order = await insert(
            "INSERT INTO orders (billnumber, merchant_id, ordernumber, amount_minor, currency,"
            " state, delay, language, comment, buyer, url_return, url_return_ok, url_return_no,"
            " holds_ordernumber, created_at, updated_at) VALUES ('1', '1', 'N', 500, 'RUB',"
            " 'Approved', false, 'RU', '', '{}', '', '', '', true, :now, :now)",
            now=NOW,
        )
        payment = await insert(
            "INSERT INTO operations (order_id, number, kind, status, amount_minor, currency,"
            " means, client_ip, approval_code, created_at) VALUES (:order, 1, '100', 'success',"
            " 500, 'RUB', 'card', '', 'A', :now)",
            order=order,
            now=NOW,
        )
        authorization = await insert(
            "INSERT INTO transactions (order_id, operation_id, kind, status, amount_minor,"
            " currency, response, approval_code, attempts, created_at, updated_at) VALUES"
            " (:order, :payment, 'authorization', 'approved', 500, 'RUB', '00', 'A', 1, :now,"
            " :now)",
            order=order,
            payment=payment,
            now=NOW,
        )
    await migrate(engine, "head")
    async with engine.connect() as conn:
        books = (
            await conn.execute(text("SELECT books_currency, held, confirmed FROM orders"))
        ).one()
        debit = (
            await conn.execute(
                text("SELECT amount_minor, original_id FROM transactions WHERE kind = 'financial'")
            )
        ).one()
    assert tuple(books) == ("RUB", 500, 500)
    assert tuple(debit) == (500, authorization)
    await migrate(engine, "base", down=True)
    await migrate(engine, "head")
    await engine.dispose()


TERMS = '{"min": 1000, "max": 20000, "period_days": 30, "until": "%s"}'
INSERT_ORDER = (
    "INSERT INTO orders (billnumber, merchant_id, ordernumber, amount_minor, currency, state,"
    " delay, language, comment, buyer, url_return, url_return_ok, url_return_no,"
    " holds_ordernumber, recurring, recurring_of, books_currency, held, confirmed, created_at,"
    " updated_at) VALUES (:number, '1', :number, 500, 'RUB', :state, false, 'RU', '', '{}', '',"
    " '', '', :paid, :recurring, :of, :books, :held, :held, :now, :now) RETURNING id"
)


async def test_0016_keeps_the_card_of_each_first_order_paid_before_it(database_url: str) -> None:
    """The first orders of recurring payments paid by card before revision 0016 get their card
    in kept_cards from their successful payment, as it is stored; no other order does."""
    engine = await with_a_merchant_at(database_url, "0015")
    async with engine.begin() as conn:

        async def order(number: str, state: str, recurring: str | None, of: int | None) -> int:
            paid = state == "Approved"
            return int(
                (
                    await conn.execute(
                        text(INSERT_ORDER),
                        {
                            "number": number,
                            "state": state,
                            "paid": paid,
                            "recurring": recurring,
                            "of": of,
                            "books": "RUB" if paid else None,
                            "held": 500 if paid else 0,
                            "now": NOW,
                        },
                    )
                ).scalar_one()
            )

        async def payment(order_id: int, status: str, card: str | None, expiry: str) -> None:
            await conn.execute(
                text(
                    "INSERT INTO operations (order_id, number, kind, status, amount_minor,"
                    " currency, means, masked_pan, card_brand, card_expiry, cardholder,"
                    " sealed_pan, client_ip, approval_code, created_at, finished_at) VALUES"
                    " (:order, 1, '100', :status, 500, 'RUB', :means, :masked, :brand, :expiry,"
                    " 'IVAN PETROV', :sealed, '', '', :now, :finished)"
                ),
                {
                    "order": order_id,
                    "status": status,
                    "means": "card" if card else "wallet",
                    "masked": card and f"411111****{card}",
                    "brand": card and "VISA",
                    "expiry": card and expiry,
                    "sealed": card and f"sealed-{card}",
                    "now": NOW,
                    "finished": FINISHED,
                },
            )

        first = await order("F-1", "Approved", TERMS % "2031-06-15", None)
        await payment(first, "success", "1111", "12/2099")
        soon = await order("F-2", "Approved", TERMS % "2099-12-31", None)
        await payment(soon, "success", "2222", "02/2031")
        declined = await order("F-3", "Declined", TERMS % "2031-06-15", None)
        await payment(declined, "declined", "3333", "12/2099")
        by_wallet = await order("F-4", "Approved", TERMS % "2031-06-15", None)
        await payment(by_wallet, "success", None, "")
        again = await order("R-1", "Approved", None, first)
        await payment(again, "success", "4444", "12/2099")
        plain = await order("P-1", "Approved", None, None)
        await payment(plain, "success", "5555", "12/2099")
        json_null = await order("P-2", "Approved", "null", None)
        await payment(json_null, "success", "6666", "12/2099")
        await conn.execute(
            text(
                "INSERT INTO kept_cards (merchant_id, customer_number, pan_mac, sealed_pan,"
                " masked_pan, card_brand, card_expiry, cardholder, valid_until, created_at)"
                " VALUES ('1', 'C-1', 'mac', 'sealed-5555', '411111****5555', 'VISA', '12/2099',"
                " 'IVAN PETROV', :until, :now)"
            ),
            {"until": date(2100, 1, 1), "now": NOW},
        )  # a customer's, kept with consent

    await migrate(engine, "0016")
    async with engine.connect() as conn:
        kept = (
            await conn.execute(select(kept_cards).order_by(kept_cards.c.recurring_order_id))
        ).all()
    customers = [row for row in kept if row.customer_number is not None]
    kept = [row for row in kept if row.customer_number is None]
    assert [(row.customer_number, row.pan_mac, row.recurring_order_id) for row in customers] == [
        ("C-1", "mac", None)
    ]
    columns = ("recurring_order_id", "merchant_id", "customer_number", "pan_mac", "sealed_pan",
               "masked_pan", "card_brand", "card_expiry", "cardholder", "valid_until")  # fmt: skip
    assert [tuple(getattr(row, name) for name in columns) for row in kept] == [
        (first, "1", None, None, "sealed-1111", "411111****1111", "VISA", "12/2099",
         "IVAN PETROV", date(2031, 6, 16)),  # the terms end before the card
        (soon, "1", None, None, "sealed-2222", "411111****2222", "VISA", "02/2031",
         "IVAN PETROV", date(2031, 3, 1)),  # the card expires before the terms
    ]  # fmt: skip
    assert {row.created_at for row in kept} == {FINISHED.replace(tzinfo=UTC)}

    await migrate(engine, "0015", down=True)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT customer_number FROM kept_cards"))).all() == [
            ("C-1",)
        ]
    await migrate(engine, "head")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM kept_cards"))).scalar_one() == 3
    await engine.dispose()


async def test_0017_keeps_the_books_and_holds_the_points_in_them(database_url: str) -> None:
    """An order paid before revision 0017 paid nothing in points; from 0017 on, the books'
    check also holds points (never more given back than paid, never more paid than presented);
    and down again, the books are as they were."""
    engine = await with_a_merchant_at(database_url, "0016")
    async with engine.begin() as conn:
        values = {"state": "Approved", "paid": True, "recurring": None, "of": None}
        values |= {"books": "RUB", "held": 500, "now": NOW}
        await conn.execute(text(INSERT_ORDER), {"number": "P-1", **values})
    await migrate(engine)
    books = "SELECT held, confirmed, in_points, points_returned FROM orders"
    async with engine.connect() as conn:
        assert (await conn.execute(text(books))).all() == [(500, 500, 0, 0)]
    for broken in ("in_points = 100", "presented = 100, in_points = 100, points_returned = 200"):
        with pytest.raises(IntegrityError, match="books_balance"):
            async with engine.begin() as conn:
                await conn.execute(text(f"UPDATE orders SET {broken}"))
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE orders SET presented = 200, in_points = 200"))
    await migrate(engine, "0016", down=True)
    async with engine.connect() as conn:
        held = "SELECT held, confirmed, presented FROM orders"
        assert (await conn.execute(text(held))).all() == [(500, 500, 200)]
    await engine.dispose()


async def test_0018_tells_payments_begun_from_payments_only_chosen(database_url: str) -> None:
    """A payment with an exchange, or over, began; one in process with none was only chosen.
    Down again is refused while a payment in points is stored."""
    engine = await with_a_merchant_at(database_url, "0017")
    insert_payment = (
        "INSERT INTO operations (order_id, number, kind, status, amount_minor, currency, means,"
        " client_ip, approval_code, created_at) VALUES (:order, :number, '100', :status, 500,"
        " 'RUB', 'card', '', '', :now) RETURNING id"
    )
    async with engine.begin() as conn:
        values = {"recurring": None, "of": None, "books": None, "held": 0, "now": NOW}
        orders = {}
        for number, state in (("chosen", "In Process"), ("sent", "In Process"), ("no", "Declined")):
            found = await conn.execute(
                text(INSERT_ORDER), {"number": number, "state": state, "paid": False, **values}
            )
            orders[number] = found.scalar_one()
        payment = {}
        for number, status in (("chosen", "in_process"), ("sent", "in_process"),
                               ("no", "declined")):  # fmt: skip
            found = await conn.execute(
                text(insert_payment),
                {"order": orders[number], "number": 1, "status": status, "now": NOW},
            )
            payment[number] = found.scalar_one()
        await conn.execute(
            text(
                "INSERT INTO transactions (order_id, operation_id, kind, status, amount_minor,"
                " currency, response, approval_code, attempts, created_at, updated_at) VALUES"
                " (:order, :operation, 'authorization', 'sent', 500, 'RUB', '', '', 1, :now, :now)"
            ),
            {"order": orders["sent"], "operation": payment["sent"], "now": NOW},
        )
    await migrate(engine)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, begun_at IS NOT NULL FROM operations"))
        begun: dict[int, bool] = {row[0]: bool(row[1]) for row in rows}
    assert begun == {payment["chosen"]: False, payment["sent"]: True, payment["no"]: True}
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE operations SET means = 'points' WHERE id = :id"),
                           {"id": payment["no"]})  # fmt: skip
    with pytest.raises(RuntimeError, match="paid with points"):
        await migrate(engine, "0017", down=True)
    await engine.dispose()
