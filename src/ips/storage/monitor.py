"""The Order Monitor's queries: one statement per page, per totals, per turnover.

Every statement starts from ``orders.merchant_id = :merchant``; the indexes they use all
lead with it (``tables.py``; ``docs/architecture.md``, *The Order Monitor's queries*).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, cast, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.books import Books
from ips.domain.money import CURRENCIES, Money, currency
from ips.domain.orders import PaymentMeans
from ips.domain.states import OrderState
from ips.services.monitor import (
    OrderFilter,
    OrderRow,
    Position,
    Total,
    TurnoverDay,
    figures,
)
from ips.storage.tables import BOOKS, orders

_o = orders.c

_ROW_COLUMNS = (
    _o.id,
    _o.billnumber,
    _o.ordernumber,
    _o.created_at,
    _o.amount_minor,
    _o.currency,
    _o.state,
    _o.delay,
    _o.comment,
    _o.payment_means,
    _o.masked_pan,
    _o.books_currency,
    *(_o[name] for name in BOOKS),
)

_PAID = func.sum(_o.held)
_CONFIRMED = func.sum(_o.confirmed - _o.reversed - _o.refunded)
_CANCELLED = func.sum(_o.hold_cancelled + _o.reversed + _o.refunded)
"""``services.monitor.figures``, summed in SQL."""


def where(filter: OrderFilter) -> list[ColumnElement[bool]]:
    """The filter as conditions, the merchant's first."""
    conditions: list[ColumnElement[bool]] = [_o.merchant_id == filter.merchant_id]
    if filter.since is not None:
        conditions.append(_o.created_at >= filter.since)
    if filter.until is not None:
        conditions.append(_o.created_at < filter.until)
    if filter.states:
        conditions.append(_o.state.in_(sorted(state.value for state in filter.states)))
    if filter.ordernumber:
        conditions.append(_o.ordernumber == filter.ordernumber)
    if filter.billnumber:
        conditions.append(_o.billnumber == filter.billnumber)
    if filter.amount_min is not None:
        conditions.append(_o.currency == filter.amount_min.currency.code)
        conditions.append(_o.amount_minor >= filter.amount_min.minor)
    if filter.amount_max is not None:
        conditions.append(_o.currency == filter.amount_max.currency.code)
        conditions.append(_o.amount_minor <= filter.amount_max.minor)
    if filter.means is not None:
        conditions.append(_o.payment_means == filter.means.value)
    if filter.card_last4:
        conditions.append(_o.card_last4 == filter.card_last4)
    return conditions


def past(at: Position) -> ColumnElement[bool]:
    """Rows past ``at`` in the order (created_at DESC, id DESC). Spelled so that both
    databases read ``created_at <= :at`` as the range of the index, and the rest as a check
    of the rows created at that very moment."""
    return and_(
        _o.created_at <= at.created_at,
        or_(_o.created_at < at.created_at, _o.id < at.id),
    )


class MonitorQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def page(self, filter: OrderFilter, after: Position | None, limit: int) -> list[OrderRow]:
        conditions = where(filter)
        if after is not None:
            conditions.append(past(after))
        query = (
            select(*_ROW_COLUMNS)
            .where(*conditions)
            .order_by(_o.created_at.desc(), _o.id.desc())
            .limit(limit)
        )
        return [_row(row) for row in await self._conn.execute(query)]

    async def totals(self, filter: OrderFilter) -> list[Total]:
        query = (
            select(_o.currency, _o.state, func.count(), func.sum(_o.amount_minor))
            .where(*where(filter))
            .group_by(_o.currency, _o.state)
        )
        found = [
            Total(
                currency(code),
                OrderState(state),
                count,
                Money(int(amount), currency(code)),
            )
            for code, state, count, amount in await self._conn.execute(query)
        ]
        order = list(OrderState)
        return sorted(found, key=lambda t: (t.currency.code, order.index(t.state)))

    async def turnover(self, filter: OrderFilter) -> list[TurnoverDay]:
        day = self._day()
        query = (
            select(day, _o.books_currency, _PAID, _CONFIRMED, _CANCELLED)
            .where(*where(filter), _o.books_currency.is_not(None))
            .group_by(day, _o.books_currency)
            .order_by(day, _o.books_currency)
        )
        days = []
        for on, code, paid, confirmed, cancelled in await self._conn.execute(query):
            cur = currency(code)
            days.append(
                TurnoverDay(
                    on if isinstance(on, date) else date.fromisoformat(on),
                    cur,
                    Money(int(paid), cur),
                    Money(int(confirmed), cur),
                    Money(int(cancelled), cur),
                )
            )
        return days

    def _day(self) -> ColumnElement[Any]:
        """The UTC day an order was created on. SQLite keeps UTC wall-clock text;
        PostgreSQL keeps instants, read here in UTC whatever the session's time zone — the
        very expression of the statistics ``st_orders_created_day`` (migration 0008), which
        tell the planner how few days there are, so that it groups by hashing."""
        if self._conn.dialect.name == "postgresql":
            return cast(func.timezone(literal_column("'UTC'"), _o.created_at), Date).label("day")
        return func.date(_o.created_at).label("day")


def _row(row: Sequence[Any]) -> OrderRow:
    """A row of ``_ROW_COLUMNS``, unpacked by position (an export maps a million of them)."""
    (id_, billnumber, ordernumber, created_at, amount_minor, code, state, delay, comment,
     means, masked_pan, books_code, *books_columns) = row  # fmt: skip
    cur = CURRENCIES[code]
    books = (
        Books(CURRENCIES[books_code], **dict(zip(BOOKS, books_columns, strict=True)))
        if books_code
        else None
    )
    shown = figures(books)
    money_cur = books.currency if books else cur
    return OrderRow(
        id=id_,
        billnumber=billnumber,
        ordernumber=ordernumber,
        created_at=created_at,
        amount=Money(amount_minor, cur),
        state=OrderState(state),
        means=PaymentMeans(means) if means else None,
        masked_pan=masked_pan or "",
        double_stage=delay,
        paid=Money(shown.paid, money_cur),
        confirmed=Money(shown.confirmed, money_cur),
        cancelled=Money(shown.cancelled, money_cur),
        in_points=Money(books.in_points if books else 0, money_cur),
        comment=comment,
    )
