"""Finding an order of any merchant by what an operator is told of a payment: its
billnumber, the RRN of one of its transactions (a bank's report, a buyer's statement), an
approval code the issuer gave, or the shop's own order number (with the shop's id: order
numbers are the shops' own, and only the shop's index leads to them).

What is typed is tried as each of them it may be, and every order found is listed once,
with what it was found by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from ips.domain.errors import InvalidInput
from ips.domain.orders import MAX_ORDERNUMBER, Order, ids_of_rrn
from ips.domain.text import is_digits
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

LIMIT = 50
_APPROVAL_CODE = re.compile(r"[0-9A-Za-z]{6}")
_EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class Found:
    order: Order
    by: str
    """What matched: ``billnumber``, ``RRN``, ``approval code`` or ``order number``."""


async def find_orders(text: str, merchant_id: str, uow_factory: UnitOfWorkFactory) -> list[Found]:
    """The orders ``text`` names (the order numbers only among ``merchant_id``'s), newest
    first; none for empty text."""
    text, merchant_id = text.strip(), merchant_id.strip()
    if "\x00" in text + merchant_id:
        raise InvalidInput("no order's number holds a NUL character", field="q")
    if not text or len(text) > MAX_ORDERNUMBER:
        return []
    found: dict[int, Found] = {}
    async with uow_factory(readonly=True) as uow:
        for by, orders in [
            ("billnumber", await _by_billnumber(uow, text)),
            ("RRN", await _by_rrn(uow, text)),
            ("approval code", await _by_approval_code(uow, text)),
            ("order number", await _by_ordernumber(uow, merchant_id, text)),
        ]:
            for order in orders:
                assert order.id is not None
                found.setdefault(order.id, Found(order, by))
    newest = sorted(found.values(), key=lambda f: (f.order.created_at, f.order.id), reverse=True)
    return newest[:LIMIT]


async def _by_billnumber(uow: UnitOfWork, text: str) -> list[Order]:
    order = await uow.orders.get(text) if is_digits(text) else None
    return [order] if order else []


async def _by_rrn(uow: UnitOfWork, text: str) -> list[Order]:
    ids = ids_of_rrn(text, await uow.console.highest_transaction_id()) if is_digits(text) else []
    named = [t for t in await uow.transactions.many(ids) if t.shows_rrn and t.rrn == text]
    return await uow.orders.many({t.order_id for t in named})


async def _by_approval_code(uow: UnitOfWork, text: str) -> list[Order]:
    if not _APPROVAL_CODE.fullmatch(text):
        return []
    return await uow.orders.many(await uow.console.orders_of_approval_code(text, LIMIT))


async def _by_ordernumber(uow: UnitOfWork, merchant_id: str, text: str) -> list[Order]:
    if not merchant_id:
        return []
    return (await uow.orders.of_ordernumber(merchant_id, text, *_EVER))[-LIMIT:]
