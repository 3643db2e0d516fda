"""What the operations on a paid order share: finding the order, its payment, the amount."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ips.domain.audit import Subject, money_value
from ips.domain.books import Books
from ips.domain.errors import InvalidInput, MissingInput, NotFound, Refused, WrongValue
from ips.domain.merchants import Merchant
from ips.domain.money import Money
from ips.domain.money import currency as to_currency
from ips.domain.orders import (
    Operation,
    OperationKind,
    Order,
    PaymentMeans,
    Transaction,
    TransactionKind,
)
from ips.domain.states import OperationStatus
from ips.logs.context import about, about_order
from ips.services.unit_of_work import UnitOfWork

_BILLNUMBER = re.compile(r"([0-9]{1,20})(?:\.([0-9]{1,4}))?")


@dataclass(frozen=True)
class OperationResult:
    """An operation done on an order, with what its answer shows."""

    merchant: Merchant
    order: Order
    operation: Operation
    payment: Operation


@dataclass(frozen=True)
class PaidOrder:
    """An order locked for a change of its money, with its payment."""

    order: Order
    operations: list[Operation]
    payment: Operation
    authorization: Transaction
    """The payment's own transaction: the card authorization, or the wallet payment."""
    points: Operation | None = None
    """The points payment beside ``payment``, when points paid part of the order."""

    @property
    def next_number(self) -> int:
        return len(self.operations) + 1


def parse_billnumber(text: str) -> tuple[str, int | None]:
    """A short (``billnumber``) or extended (``billnumber.n``, the n-th operation) billnumber:
    the order's billnumber and the operation's number, if one is named."""
    match = _BILLNUMBER.fullmatch(text.strip())
    if match is None:
        raise InvalidInput("Billnumber is digits, optionally .n", field="billnumber")
    return match.group(1), int(match.group(2)) if match.group(2) else None


async def lock_paid_order(uow: UnitOfWork, merchant: Merchant, billnumber: str) -> PaidOrder:
    """The merchant's order named by a short or extended (``billnumber.n``) billnumber,
    locked; ``NotFound`` for another merchant's order, as for one that does not exist."""
    short, number = parse_billnumber(billnumber)
    order = await uow.orders.get(short, lock=True)
    if order is None or order.merchant_id != merchant.merchant_id:
        raise NotFound("no such order", field="billnumber")
    about_order(order)
    paid = await paid_order(uow, order)
    about(acquirer=paid.payment.acquirer)
    if number is not None and number not in {op.number for op in paid.operations}:
        raise NotFound(f"the order has no operation {number}", field="billnumber")
    return paid


async def paid_order(uow: UnitOfWork, order: Order) -> PaidOrder:
    """A locked order with its payment; ``Refused`` when it was not paid."""
    assert order.id is not None
    operations = await uow.operations.of_order(order.id)
    paid = [
        op
        for op in operations
        if op.kind is OperationKind.PAYMENT and op.status is OperationStatus.SUCCESS
    ]
    payment = next((op for op in paid if op.means is not PaymentMeans.POINTS), None)
    points = next((op for op in paid if op.means is PaymentMeans.POINTS), None)
    if payment is None:
        raise Refused(f"the order is {order.state.value}: it was not paid", field="orderstate")
    assert payment.id is not None
    authorization = next(
        tx
        for tx in await uow.transactions.of_order(order.id)
        if tx.kind in (TransactionKind.AUTHORIZATION, TransactionKind.WALLET_PAYMENT)
        and tx.operation_id == payment.id
    )
    return PaidOrder(order, operations, payment, authorization, points)


def requested_amount(amount: str, currency: str, books: Books) -> int | None:
    """``Amount`` and ``Currency`` of a request: both or neither (``None``: all there is);
    only in the payment's currency."""
    amount, currency = amount.strip(), currency.strip()
    if not amount and not currency:
        return None
    if not amount:
        raise MissingInput("Amount goes with Currency", field="amount")
    if not currency:
        raise MissingInput("Currency goes with Amount", field="currency")
    if to_currency(currency) != books.currency:
        raise WrongValue(f"the payment was made in {books.currency}", field="currency")
    return Money.parse(amount, books.currency).minor


def order_subject(order: Order) -> Subject:
    return Subject("order", order.billnumber, order.merchant_id, order.billnumber)


def order_values(order: Order) -> dict[str, Any]:
    """What the audit trail keeps of a paid order before and after a person changes its
    money: its state, and what was paid, confirmed and cancelled."""
    books = order.paid_books
    return {
        "state": order.state.value,
        "paid": money_value(books.money(books.held)),
        "confirmed": money_value(books.money(books.confirmed)),
        "cancelled": money_value(books.money(books.cancelled)),
    }


def asked_value(amount: int | None, books: Books) -> dict[str, Any] | str:
    """The amount a person asked for: ``all`` when none was named."""
    return "all" if amount is None else money_value(books.money(amount))


async def lock_exchange(
    uow: UnitOfWork, exchange: Transaction
) -> tuple[Order, Transaction, Operation]:
    """An exchange as it is now, under its order's lock, with the order and its operation:
    the first step of committing an answer (and the logs' lines are about them from here)."""
    assert exchange.id is not None
    order = await uow.orders.get_by_id(exchange.order_id, lock=True)
    current = await uow.transactions.get(exchange.id)
    operation = await uow.operations.get(exchange.operation_id)
    assert order is not None and current is not None and operation is not None
    about_order(order, operation)
    return order, current, operation
