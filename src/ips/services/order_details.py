"""One order with its operations, their transactions, and the notifications sent about it
with the shop's answers: as the Personal Account and the JSON API show it, read for the
signed-in merchant only (another merchant's billnumber is not found); and as the operator
console shows it (``order_record``), of any merchant, with its webhook deliveries and its
audit trail besides. Both read-only."""

from __future__ import annotations

from dataclasses import dataclass

from ips.domain.audit import AuditEntry
from ips.domain.errors import NotFound
from ips.domain.notifications import Notification
from ips.domain.orders import Operation, Order, Transaction
from ips.domain.text import is_digits
from ips.domain.webhooks import WebhookDelivery
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

SHOWN = 100
"""The most webhook deliveries and audit entries an order's record shows."""


@dataclass(frozen=True)
class OrderDetails:
    order: Order
    operations: list[Operation]
    transactions: list[Transaction]
    notifications: list[Notification]

    def transactions_of(self, operation: Operation) -> list[Transaction]:
        return [t for t in self.transactions if t.operation_id == operation.id]

    def notification_of(self, operation: Operation) -> Notification | None:
        return next((n for n in self.notifications if n.operation_id == operation.id), None)


@dataclass(frozen=True)
class OrderRecord:
    """An order as the operator console shows it."""

    details: OrderDetails
    merchant_name: str
    deliveries: list[WebhookDelivery]
    audit: list[AuditEntry]
    """The changes people made to the order, newest first."""


async def order_details(
    merchant_id: str, billnumber: str, uow_factory: UnitOfWorkFactory
) -> OrderDetails:
    async with uow_factory(readonly=True) as uow:
        order = await _order(uow, billnumber)
        if order.merchant_id != merchant_id:
            raise NotFound("no such order")
        return await _details(uow, order)


async def order_record(billnumber: str, uow_factory: UnitOfWorkFactory) -> OrderRecord:
    """The order of any merchant, for the operator's staff."""
    async with uow_factory(readonly=True) as uow:
        order = await _order(uow, billnumber)
        assert order.id is not None
        merchant = await uow.merchants.get(order.merchant_id)
        return OrderRecord(
            await _details(uow, order),
            merchant.name if merchant else "",
            await uow.webhooks.deliveries_of(order.merchant_id, SHOWN, order.id),
            await uow.audit.latest(SHOWN, billnumber=order.billnumber),
        )


async def _order(uow: UnitOfWork, billnumber: str) -> Order:
    order = await uow.orders.get(billnumber) if is_digits(billnumber) else None
    if order is None or order.id is None:
        raise NotFound("no such order")
    return order


async def _details(uow: UnitOfWork, order: Order) -> OrderDetails:
    assert order.id is not None
    return OrderDetails(
        order,
        await uow.operations.of_order(order.id),
        await uow.transactions.of_order(order.id),
        await uow.notifications.of_order(order.id),
    )
