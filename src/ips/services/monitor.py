"""The Order Monitor of the Personal Account: a merchant's orders, listed, counted, summed.

Every read is scoped by ``OrderFilter.merchant_id``: the queries (``uow.monitor``) put it
first in every WHERE, so a filter, a cursor or an export of one merchant never reaches
another merchant's orders.

Lists are pages in keyset order, newest first: (``created_at`` DESC, ``id`` DESC). The
cursor of the next page names the last row shown; it is opaque to the browser and checked
when it comes back, so a garbled one is refused (``InvalidInput``) instead of failing deeper.
It carries no secret: a cursor made up by hand can only move the start of a page within the
signed-in merchant's own orders.

The money of a paid order, in its books' currency (``domain/books.py``)::

    paid       = held                            what the payment authorized: single-stage,
                                                 charged at once; double-stage, the hold
    confirmed  = confirmed - reversed - refunded charged and kept: single-stage, the payment
                                                 itself; double-stage, the confirmations;
                                                 less what cancels took back of it
    cancelled  = hold_cancelled + reversed       given back to the buyer by cancels (or by a
                 + refunded                      hold's expiry): from the hold, by reversal
                                                 of charged money, by refund

so ``paid - confirmed - cancelled`` is what is still held unconfirmed plus what a partial
confirmation released (``AutoDeposit``) — money the merchant neither kept nor cancelled.
An order that was never paid shows zero of each, in its own currency.

The daily turnover groups orders by the UTC day they were created on and sums those three
amounts as the books stand now: it shows what became of the money of each day's orders.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ips.domain.books import Books
from ips.domain.errors import InvalidInput
from ips.domain.money import Currency, Money
from ips.domain.orders import PaymentMeans
from ips.domain.states import OrderState
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_LIMIT = 1000
"""The most rows one page (or one batch of an export) may hold."""

_LAST4 = re.compile(r"[0-9]{4}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class OrderFilter:
    """Which of a merchant's orders to show; every criterion given must hold."""

    merchant_id: str
    since: datetime | None = None
    """Created at or after (an aware datetime)."""
    until: datetime | None = None
    """Created before (an aware datetime)."""
    states: frozenset[OrderState] = frozenset()
    """Any of these states; empty: any state."""
    ordernumber: str = ""
    billnumber: str = ""
    amount_min: Money | None = None
    """In this currency, at least this amount (the order's own amount and currency)."""
    amount_max: Money | None = None
    """In this currency, at most this amount."""
    means: PaymentMeans | None = None
    """The way the order was paid, or tried to be: that of its latest payment operation."""
    card_last4: str = ""
    """The last four digits of the card of the order's payment."""


@dataclass(frozen=True)
class OrderRow:
    """One order as the list and the export show it."""

    id: int
    billnumber: str
    ordernumber: str
    created_at: datetime
    amount: Money
    state: OrderState
    means: PaymentMeans | None
    """The way of its latest payment operation; ``None`` when nobody tried to pay it."""
    masked_pan: str
    """The card of that payment, masked (``411111****1111``); empty when no card."""
    double_stage: bool
    paid: Money
    """This and the next two are in the books' currency: the payment's, which differs from
    the order's when the payment was converted (zero in the order's when it is unpaid)."""
    confirmed: Money
    cancelled: Money
    in_points: Money
    """Of ``paid``, what bonus points paid."""
    comment: str


@dataclass(frozen=True)
class OrderPage:
    rows: list[OrderRow]
    next_cursor: str | None
    """Where the next page starts; ``None`` on the last page."""


@dataclass(frozen=True)
class Total:
    """Orders of one currency and state: how many, and the sum of their amounts."""

    currency: Currency
    state: OrderState
    count: int
    amount: Money


@dataclass(frozen=True)
class TurnoverDay:
    """What became of the money of the orders created on one UTC day, in one currency."""

    day: date
    currency: Currency
    paid: Money
    confirmed: Money
    cancelled: Money


@dataclass(frozen=True)
class Position:
    """A place in the keyset order: the row with this ``created_at`` and ``id``."""

    created_at: datetime
    id: int


@dataclass(frozen=True)
class Figures:
    """An order's paid, confirmed and cancelled amounts, in minor units (see the module)."""

    paid: int
    confirmed: int
    cancelled: int


def figures(books: Books | None) -> Figures:
    if books is None:
        return Figures(0, 0, 0)
    return Figures(
        paid=books.held,
        confirmed=books.confirmed - books.reversed - books.refunded,
        cancelled=books.cancelled,
    )


async def list_orders(
    filter: OrderFilter, cursor: str | None, limit: int, uow_factory: UnitOfWorkFactory
) -> OrderPage:
    """A page of the merchant's orders, newest first, starting after ``cursor``."""
    after = decode_cursor(cursor) if cursor else None
    async with uow_factory(readonly=True) as uow:
        rows, more = await page_after(uow, filter, after, limit)
    return OrderPage(rows, encode_cursor(position(rows[-1])) if more else None)


async def page_after(
    uow: UnitOfWork, filter: OrderFilter, after: Position | None, limit: int
) -> tuple[list[OrderRow], bool]:
    """Up to ``limit`` of the merchant's orders, newest first, after ``after``, in the
    caller's unit of work; whether more follow."""
    _check(filter)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"a page holds 1 to {MAX_LIMIT} orders", field="limit")
    rows = await uow.monitor.page(filter, after, limit + 1)
    return rows[:limit], len(rows) > limit


async def totals(filter: OrderFilter, uow_factory: UnitOfWorkFactory) -> list[Total]:
    """Counts and sums of the filtered orders by currency, then state."""
    _check(filter)
    async with uow_factory(readonly=True) as uow:
        return await uow.monitor.totals(filter)


async def daily_turnover(filter: OrderFilter, uow_factory: UnitOfWorkFactory) -> list[TurnoverDay]:
    """Paid, confirmed and cancelled money of the filtered orders by UTC day of creation and
    by currency, oldest day first; days without paid orders are left out."""
    _check(filter)
    async with uow_factory(readonly=True) as uow:
        return await uow.monitor.turnover(filter)


def export_rows(
    filter: OrderFilter, uow_factory: UnitOfWorkFactory, batch: int = 1000
) -> AsyncIterator[OrderRow]:
    """All the filtered orders, in the list's order, read ``batch`` rows at a time.

    Each batch is read in its own short read-only unit of work, closed before its rows are
    handed out: no database transaction stays open while the caller sends them on, and no
    more than one batch is in memory. The filter is checked at once, before any row is read.
    """
    _check(filter)
    if not 1 <= batch <= MAX_LIMIT:
        raise InvalidInput(f"a batch holds 1 to {MAX_LIMIT} orders", field="batch")
    return _export(filter, uow_factory, batch)


async def _export(
    filter: OrderFilter, uow_factory: UnitOfWorkFactory, batch: int
) -> AsyncIterator[OrderRow]:
    after: Position | None = None
    while True:
        async with uow_factory(readonly=True) as uow:
            rows = await uow.monitor.page(filter, after, batch)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = position(rows[-1])


def position(row: OrderRow) -> Position:
    return Position(row.created_at, row.id)


def _check(filter: OrderFilter) -> None:
    """Refuses a filter the queries cannot take as it is."""
    if not filter.merchant_id:
        raise InvalidInput("no merchant", field="merchant_id")
    for name, moment in (("since", filter.since), ("until", filter.until)):
        if moment is not None and moment.utcoffset() is None:
            raise InvalidInput("a moment without its time zone", field=name)
    low, high = filter.amount_min, filter.amount_max
    if low is not None and high is not None and low.currency != high.currency:
        raise InvalidInput("an amount range is in one currency", field="amount_max")
    for name, text in (("ordernumber", filter.ordernumber), ("billnumber", filter.billnumber)):
        if "\x00" in text:
            raise InvalidInput("no order's number holds a NUL character", field=name)
    if filter.card_last4 and not _LAST4.fullmatch(filter.card_last4):
        raise InvalidInput("give the last four digits of the card", field="card_last4")


_CURSOR_CHECK = 6
_MAX_ID = 2**63 - 1
_CURSOR_PERSON = b"ips.monitor.v1"


def encode_cursor(at: Position) -> str:
    micros = (at.created_at - _EPOCH) // _MICROSECOND
    payload = f"{micros}.{at.id}".encode("ascii")
    return _text(payload + _digest(payload))


def decode_cursor(cursor: str) -> Position:
    """The position a cursor of ``encode_cursor`` names; ``InvalidInput`` for anything else."""
    bad = InvalidInput("the page link is not valid: start from the first page", field="cursor")
    if len(cursor) > 80 or not cursor.isascii():
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    payload, check = raw[:-_CURSOR_CHECK], raw[-_CURSOR_CHECK:]
    if len(raw) <= _CURSOR_CHECK or _digest(payload) != check or _text(raw) != cursor:
        raise bad
    match = re.fullmatch(rb"(-?[0-9]{1,18})\.([0-9]{1,19})", payload)
    if match is None:
        raise bad
    order_id = int(match.group(2))
    try:
        created_at = _EPOCH + int(match.group(1)) * _MICROSECOND
    except OverflowError:
        raise bad from None
    if order_id > _MAX_ID:
        raise bad
    return Position(created_at, order_id)


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_CURSOR_CHECK, person=_CURSOR_PERSON).digest()
