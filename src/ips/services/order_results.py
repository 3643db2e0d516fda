"""The results of orders with their operations (``orderresult``).

An order is asked for by its ``Billnumber`` — short, or extended (``billnumber.n``) to see
only its n-th operation — or by the shop's ``Ordernumber``, which names every attempt to pay
that number made in the period (oldest first), as ``orderstate`` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from ips.domain.errors import NotFound
from ips.domain.merchants import Merchant
from ips.domain.orders import Operation, OperationKind, Order
from ips.domain.states import OperationStatus
from ips.services.gateway import Gateway
from ips.services.merchants import Credentials, authenticate
from ips.services.operations import parse_billnumber
from ips.services.orders import Window, orders_in_window, required_ordernumber
from ips.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OrderResultQuery:
    """``billnumber`` when given, else ``ordernumber`` in the window."""

    credentials: Credentials
    ordernumber: str = ""
    billnumber: str = ""
    window: Window = field(default_factory=Window)


@dataclass(frozen=True)
class OrderResult:
    order: Order
    operations: list[Operation]
    """The operations shown: all of the order's, or the one an extended billnumber names."""
    payment: Operation | None
    """The card payment (the successful one, else the last attempt), whose card and approval
    code the other operations show."""


@dataclass(frozen=True)
class OrderResults:
    merchant: Merchant
    results: list[OrderResult]


async def order_results(query: OrderResultQuery, gateway: Gateway) -> OrderResults:
    find = _finder(query, gateway.clock())
    merchant = await authenticate(query.credentials, gateway)
    async with gateway.uow_factory(readonly=True) as uow:
        return OrderResults(merchant, await find(uow, merchant))


Find = Callable[[UnitOfWork, Merchant], Awaitable[list[OrderResult]]]


def _finder(query: OrderResultQuery, now: datetime) -> Find:
    """The search the query asks for, its parameters checked before the credentials are."""
    if query.billnumber.strip():
        billnumber, number = parse_billnumber(query.billnumber)

        async def by_billnumber(uow: UnitOfWork, merchant: Merchant) -> list[OrderResult]:
            order = await uow.orders.get(billnumber)
            if order is None or order.merchant_id != merchant.merchant_id:
                raise NotFound("no such order", field="billnumber")
            return await _with_operations(uow, [order], number)

        return by_billnumber

    ordernumber = required_ordernumber(query.ordernumber)
    since, until = query.window.bounds(now)

    async def by_ordernumber(uow: UnitOfWork, merchant: Merchant) -> list[OrderResult]:
        orders = await orders_in_window(uow, merchant, ordernumber, since, until)
        return await _with_operations(uow, orders)

    return by_ordernumber


async def _with_operations(
    uow: UnitOfWork, orders: list[Order], number: int | None = None
) -> list[OrderResult]:
    operations = await uow.operations.of_orders([o.id for o in orders if o.id is not None])
    results = []
    for order in orders:
        own = [op for op in operations if op.order_id == order.id]
        shown = [op for op in own if number in (None, op.number)]
        if not shown and number is not None:
            raise NotFound(f"the order has no operation {number}", field="billnumber")
        results.append(OrderResult(order, shown, _payment(own)))
    return results


def _payment(operations: list[Operation]) -> Operation | None:
    payments = [op for op in operations if op.kind is OperationKind.PAYMENT]
    done = [op for op in payments if op.status is OperationStatus.SUCCESS]
    if done:
        return done[-1]
    return payments[-1] if payments else None
