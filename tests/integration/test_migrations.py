"""Migrations: every revision up and down, and data written before a revision kept by it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from ips.storage.database import create_engine
from ips.storage.migrate import migrate

NOW = datetime(2026, 11, 30, tzinfo=UTC).replace(tzinfo=None)


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
