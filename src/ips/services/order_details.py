"""One order as the Personal Account shows it: its operations, their transactions, the
notifications sent about it with the shop's answers, and what people did to it (the audit
trail). Read for the signed-in user's merchant only: another merchant's billnumber is not
found."""

from __future__ import annotations

from dataclasses import dataclass, field

from ips.domain.audit import AuditEntry
from ips.domain.errors import NotFound
from ips.domain.notifications import Notification
from ips.domain.orders import Operation, Order, Transaction
from ips.domain.text import is_digits
from ips.services.unit_of_work import UnitOfWorkFactory

AUDIT_SHOWN = 100


@dataclass(frozen=True)
class OrderDetails:
    order: Order
    operations: list[Operation]
    transactions: list[Transaction]
    notifications: list[Notification]
    audit: list[AuditEntry] = field(default_factory=list)
    """The audit trail's entries of the order, newest first (the latest ``AUDIT_SHOWN``)."""

    def transactions_of(self, operation: Operation) -> list[Transaction]:
        return [t for t in self.transactions if t.operation_id == operation.id]

    def notification_of(self, operation: Operation) -> Notification | None:
        return next((n for n in self.notifications if n.operation_id == operation.id), None)


async def order_details(
    merchant_id: str, billnumber: str, uow_factory: UnitOfWorkFactory
) -> OrderDetails:
    if not is_digits(billnumber):
        raise NotFound("no such order")
    async with uow_factory(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        if order is None or order.merchant_id != merchant_id or order.id is None:
            raise NotFound("no such order")
        return OrderDetails(
            order,
            await uow.operations.of_order(order.id),
            await uow.transactions.of_order(order.id),
            await uow.notifications.of_order(order.id),
            await uow.audit.latest(
                AUDIT_SHOWN, billnumber=order.billnumber, merchant_id=merchant_id
            ),
        )
