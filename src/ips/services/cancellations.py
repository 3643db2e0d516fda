"""Cancellation of a paid order, all or part of it (``cancel``, ``wscancel``).

Accepted for any paid order with something left: ``Delayed``, ``PartialDelayed``,
``Approved``, ``PartialCanceled``. IPS chooses the transactions (``Books.split_cancel``):
what is still held or charged but not yet presented is released by a reversal of the
authorization — and the unsent financial transactions shrink by the charged part; what was
already presented is refunded by a credit in the next settlement batch. Never more than was
paid. ``Externalrefundid`` makes a cancel idempotent: a repeat answers the first result.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from ips.domain.audit import Actor
from ips.domain.errors import InvalidInput
from ips.domain.merchants import Merchant
from ips.domain.money import Money
from ips.domain.orders import (
    CancelReason,
    Operation,
    OperationKind,
    PaymentMeans,
    Transaction,
    TransactionKind,
)
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, TransactionStatus
from ips.faults import fault
from ips.logs.context import about_order
from ips.services.accruals import open_accrual_reversal
from ips.services.audit import note
from ips.services.gateway import Gateway
from ips.services.merchants import Caller, identify
from ips.services.notifications import enqueue
from ips.services.operations import (
    OperationResult,
    PaidOrder,
    asked_value,
    lock_paid_order,
    order_subject,
    order_values,
    requested_amount,
)
from ips.services.points_exchanges import open_points_exchange, send_points
from ips.services.reversals import open_reversal, send_reversal
from ips.services.unit_of_work import UnitOfWork
from ips.services.wallet_payments import open_wallet_refund, send_wallet_refund

_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]{10,100}")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cancel:
    billnumber: str
    amount: str = ""
    currency: str = ""
    reason: CancelReason = CancelReason.SHOP
    external_id: str = ""
    client_ip: str = ""


async def cancel(
    cmd: Cancel, caller: Caller, gateway: Gateway, *, actor: Actor | None = None
) -> OperationResult:
    """``actor``: the person who cancels (the Personal Account), written in the audit trail
    with the cancel; a shop's web-service call has none."""
    if cmd.external_id and not _EXTERNAL_ID.fullmatch(cmd.external_id):
        raise InvalidInput(
            "Externalrefundid is 10 to 100 letters, digits, _ or -", field="externalrefundid"
        )
    merchant = await identify(caller, gateway)
    async with gateway.uow_factory() as uow:
        paid = await lock_paid_order(uow, merchant, cmd.billnumber)
        assert paid.order.id is not None
        if cmd.external_id:
            earlier = await uow.operations.by_external_refund_id(paid.order.id, cmd.external_id)
            if earlier is not None:
                return OperationResult(merchant, paid.order, earlier, paid.payment)
        books = paid.order.paid_books
        amount = requested_amount(cmd.amount, cmd.currency, books)
        values, now = order_values(paid.order), gateway.clock()
        operation, after = await cancel_locked(
            uow, merchant, paid, amount, cmd.reason, now, cmd.external_id, cmd.client_ip
        )
        if actor is not None:
            asked = {"asked": asked_value(amount, books), "reason": cmd.reason.name.lower()}
            await note(
                uow, actor, "order.cancel", order_subject(paid.order), now,
                before=values, after=order_values(paid.order) | asked,
            )  # fmt: skip
        fault("cancel.committing")
        await uow.commit()
    fault("cancel.committed")
    await after.send(gateway, attempts=gateway.reversal_attempts)
    return OperationResult(merchant, paid.order, operation, paid.payment)


async def cancel_locked(
    uow: UnitOfWork,
    merchant: Merchant,
    paid: PaidOrder,
    amount: int | None,
    reason: CancelReason,
    now: datetime,
    external_id: str = "",
    client_ip: str = "",
) -> tuple[Operation, AfterCommit]:
    """Cancels ``amount`` (all that is left when ``None``) of a locked order. Returns the
    cancel operation and what to send after the commit."""
    order = paid.order
    assert order.id is not None
    currency = order.paid_books.currency
    points = paid.points
    split = order.cancel(amount, now, points.amount.minor // points.points if points else 1)
    operation = Operation(
        order_id=order.id,
        number=paid.next_number,
        kind=OperationKind.CANCEL,
        amount=Money(split.reversal + split.refund, currency),
        created_at=now,
        client_ip=client_ip,
        cancel_reason=reason,
        external_refund_id=external_id,
    )
    operation.finish(OperationStatus.SUCCESS, ResponseCode.SUCCESS, now)
    await uow.operations.add(operation)
    assert operation.id is not None
    about_order(order, operation)
    log.info(
        "cancel %s.%d of %s (%s): %s reversed, %s refunded",
        order.billnumber,
        operation.number,
        operation.amount,
        reason.name.lower(),
        Money(split.reversal, currency),
        Money(split.money_refund, currency),
    )
    if split.from_unpresented:
        await _withdraw_unpresented(uow, order.id, split.from_unpresented, now)
    after = AfterCommit()
    if split.reversal:
        after = AfterCommit(
            reversal_id=await open_reversal(
                uow, paid.authorization, operation, Money(split.reversal, currency), now
            )
        )
    if split.money_refund and paid.payment.means is PaymentMeans.WALLET:
        after = AfterCommit(
            wallet_refund_id=await open_wallet_refund(
                uow, paid.authorization, operation, Money(split.money_refund, currency)
            )
        )
    elif split.money_refund:
        await uow.transactions.add(
            Transaction(
                order_id=order.id,
                operation_id=operation.id,
                kind=TransactionKind.REFUND,
                amount=Money(split.money_refund, currency),
                created_at=now,
                original_id=paid.authorization.id,
            )
        )
    if split.in_points:
        give_back = await open_points_exchange(
            uow,
            operation,
            TransactionKind.POINTS_GIVE_BACK,
            f"ips-{order.billnumber}.{operation.number}",
            Money(split.in_points, currency),
            now,
        )
        after = dataclasses.replace(after, points=(give_back,))
    reversal = await open_accrual_reversal(uow, order, operation, paid.operations, now)
    if reversal is not None:
        after = dataclasses.replace(after, points=(*after.points, reversal))
    await uow.orders.save(order)
    await enqueue(uow, merchant, order, operation, paid.payment, now)
    return operation, after


@dataclass(frozen=True)
class AfterCommit:
    """What a cancel sends once it is committed: a reversal, or a refund at the wallet; and
    the points it gives back, or the accrual it reverses."""

    reversal_id: int | None = None
    wallet_refund_id: int | None = None
    points: tuple[Transaction, ...] = ()
    """Points given back, an accrual reversed."""

    async def send(self, gateway: Gateway, *, attempts: int = 1) -> None:
        if self.reversal_id is not None:
            await send_reversal(self.reversal_id, gateway, attempts=attempts)
        if self.wallet_refund_id is not None:
            await send_wallet_refund(self.wallet_refund_id, gateway)
        for exchange in self.points:
            await send_points(exchange, gateway)


async def _withdraw_unpresented(uow: UnitOfWork, order_id: int, amount: int, now: datetime) -> None:
    """Shrinks the order's unsent financial transactions by ``amount``, newest first: each
    one touched is withdrawn, and what is left of it goes out as a new, smaller one."""
    unsent = [
        tx
        for tx in await uow.transactions.of_order(order_id)
        if tx.kind is TransactionKind.FINANCIAL and tx.status is TransactionStatus.CREATED
    ]
    for financial in reversed(unsent):
        if not amount:
            break
        taken = min(amount, financial.amount.minor)
        amount -= taken
        financial.change_status(TransactionStatus.REVERSED, now)
        await uow.transactions.save(financial)
        if financial.amount.minor > taken:
            await uow.transactions.add(
                Transaction(
                    order_id=order_id,
                    operation_id=financial.operation_id,
                    kind=TransactionKind.FINANCIAL,
                    amount=Money(financial.amount.minor - taken, financial.amount.currency),
                    created_at=now,
                    original_id=financial.original_id,
                )
            )
    assert amount == 0, "the books and the unsent financial transactions disagree"
