"""Bonus points accrued to the buyer for a card payment, by the merchant's rule
(``Merchant.points_accrual``: that percent of the payment, in points at the program's rate) —
an operation of its own (``BONUS_ACCRUAL``, Assist's 500), reversed when the order is
cancelled in full.

The accrual is opened in the commit of the payment's approval — the operation and its
exchange, recorded as sent — and sent after it; the program credits it once per reference,
so the janitor repeats it until the program answers (``points.send_points``). How many
points: the accrual's value over what a point is worth when it is sent. Its reversal is
opened in the commit of the cancel that leaves nothing of the order, and sent after it; the
program takes back what the account still has free, and says how much (``points``).
"""

from __future__ import annotations

from datetime import datetime

from ips.domain.merchants import Merchant
from ips.domain.money import Money
from ips.domain.orders import (
    Operation,
    OperationKind,
    Order,
    PaymentMeans,
    Transaction,
    TransactionKind,
)
from ips.domain.states import OperationStatus
from ips.services.points_exchanges import open_points_exchange
from ips.services.unit_of_work import UnitOfWork


async def open_accrual(
    uow: UnitOfWork, order: Order, payment: Operation, merchant: Merchant, now: datetime
) -> Transaction | None:
    """The accrual for ``payment``, just approved, when the merchant accrues points and the
    buyer named an account; in the caller's unit of work."""
    value = payment.amount.minor * merchant.points_accrual // 100
    if not (payment.points_account and value and payment.means is not PaymentMeans.POINTS):
        return None
    assert order.id is not None
    operations = await uow.operations.of_order(order.id)
    accrual = Operation(
        order_id=order.id,
        number=len(operations) + 1,
        kind=OperationKind.BONUS_ACCRUAL,
        amount=Money(value, payment.amount.currency),
        created_at=now,
        means=PaymentMeans.POINTS,
        client_ip=payment.client_ip,
        points_account=payment.points_account,
        begun_at=now,
    )
    await uow.operations.add(accrual)
    reference = f"ips-{order.billnumber}.{accrual.number}"
    return await open_points_exchange(
        uow, accrual, TransactionKind.POINTS_ACCRUAL, reference, accrual.amount, now
    )


async def open_accrual_reversal(
    uow: UnitOfWork, order: Order, cancel: Operation, operations: list[Operation], now: datetime
) -> Transaction | None:
    """The reversal of the order's accrual, by ``cancel``, when that leaves nothing of the
    order and points were accrued."""
    accrued = next(
        (
            op
            for op in operations
            if op.kind is OperationKind.BONUS_ACCRUAL and op.status is OperationStatus.SUCCESS
        ),
        None,
    )
    if accrued is None or order.paid_books.cancellable:
        return None
    assert order.id is not None
    exchanges = await uow.transactions.of_order(order.id)
    reference = next(
        t.reference
        for t in exchanges
        if t.operation_id == accrued.id and t.kind is TransactionKind.POINTS_ACCRUAL
    )
    return await open_points_exchange(
        uow, cancel, TransactionKind.POINTS_ACCRUAL_REVERSAL, reference, cancel.amount, now
    )
