"""Paying an order by card: authorization at the processing center in three atomic phases.

1. *Commit the intent.* Under the order's row lock: check the order may be paid, create the
   payment operation and its authorization transaction marked ``sent``, commit.
2. *Talk.* Send the authorization and wait for the answer, no database transaction open.
3. *Commit the answer.* Under the lock again: the transaction, the operation and the order
   move to their new states, commit.

A crash between the phases leaves the transaction ``sent``; the janitor settles it. When no
answer comes, the payment is declined at once and its authorization reversed (``reversals``),
so an unanswered authorization never leaves money held. A second submission while a payment
is under way, or after it ended, makes no second payment: it reports the order as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from ips.domain.cards import Card
from ips.domain.errors import AlreadyPaid, NotFound
from ips.domain.money import Money
from ips.domain.orders import (
    CardSummary,
    Operation,
    OperationKind,
    Order,
    Transaction,
    TransactionKind,
)
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, TransactionStatus
from ips.processing.port import Answer, AuthorizationRequest, NoAnswer
from ips.services.clock import Clock
from ips.services.gateway import Gateway
from ips.services.notifications import enqueue
from ips.services.rates import quote
from ips.services.reversals import PAN_CONTEXT, message_id, open_reversal, send_reversal
from ips.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PayByCard:
    billnumber: str
    card: Card
    client_ip: str = ""
    recurring: bool = False
    """The merchant charges the card stored with the first order of recurring payments."""


async def pay_by_card(cmd: PayByCard, gateway: Gateway) -> Order:
    """Pays the order; returns it in its state after the attempt (or as it already was)."""
    started = await _begin(cmd, gateway)
    if isinstance(started, Order):
        return started
    order, request, transaction_id = started
    try:
        answer: Answer | None = await gateway.processing.authorize(request)
    except NoAnswer:
        log.warning("no answer to the authorization of order %s", order.billnumber)
        answer = None
    order, reversal_id = await _finish(transaction_id, answer, gateway)
    if reversal_id is not None:
        await send_reversal(reversal_id, gateway, attempts=gateway.reversal_attempts)
    return order


async def _begin(
    cmd: PayByCard, gateway: Gateway
) -> Order | tuple[Order, AuthorizationRequest, int]:
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get(cmd.billnumber, lock=True)
        if order is None:
            raise NotFound("no such order", field="billnumber")
        assert order.id is not None
        earlier = await uow.operations.of_order(order.id)
        if not order.awaits_payment(earlier):
            return order
        if await uow.orders.ordernumber_taken(order.merchant_id, order.ordernumber):
            raise AlreadyPaid(f"order {order.ordernumber} is already paid", field="ordernumber")
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        price = await quote(uow, order.amount, merchant, gateway)
        order.begin_payment()
        now = gateway.clock()
        card = cmd.card
        payment = Operation(
            order_id=order.id,
            number=len(earlier) + 1,
            kind=OperationKind.PAYMENT,
            amount=price.amount,
            rate=price.rate,
            created_at=now,
            card=CardSummary(card.pan.masked, card.pan.brand, str(card.expiry), card.holder),
            sealed_pan=gateway.keyring.seal(card.pan.reveal(), PAN_CONTEXT),
            client_ip=cmd.client_ip,
        )
        await uow.operations.add(payment)
        assert payment.id is not None
        authorization = Transaction(
            order_id=order.id,
            operation_id=payment.id,
            kind=TransactionKind.AUTHORIZATION,
            amount=price.amount,
            created_at=now,
        )
        await uow.transactions.add(authorization)
        assert authorization.id is not None
        authorization.mark_sent(now)
        await uow.transactions.save(authorization)
        await uow.orders.save(order)
        await uow.commit()
    request = AuthorizationRequest(
        id=message_id(authorization),
        card=card,
        amount=price.amount,
        merchant_id=order.merchant_id,
        recurring=cmd.recurring,
    )
    return order, request, authorization.id


async def _finish(
    transaction_id: int, answer: Answer | None, gateway: Gateway
) -> tuple[Order, int | None]:
    """Phase 3: records the answer (or its absence). Returns the order and, when the
    authorization went unanswered, the reversal to send."""
    async with gateway.uow_factory() as uow:
        order = await uow.orders.of_transaction(transaction_id, lock=True)
        authorization = await uow.transactions.get(transaction_id)
        payment = await uow.operations.get(authorization.operation_id) if authorization else None
        assert order is not None and authorization is not None and payment is not None
        if authorization.status is not TransactionStatus.SENT:
            if answer is not None:
                log.warning(
                    "order %s: an answer (%s) came after the payment was given up; ignored",
                    order.billnumber,
                    answer.raw_code,
                )
            return order, None
        reversal_id = await record_answer(uow, order, payment, authorization, answer, gateway.clock)
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        await enqueue(uow, merchant, order, payment, payment, gateway.clock())
        await uow.commit()
    return order, reversal_id


async def record_answer(
    uow: UnitOfWork,
    order: Order,
    payment: Operation,
    authorization: Transaction,
    answer: Answer | None,
    clock: Clock,
) -> int | None:
    """Moves an authorization, its payment and its order by the answer; ``None`` means no
    answer came, and then the payment fails and a reversal is opened (its id returned)."""
    now = clock()
    reversal_id = None
    if answer is None:
        authorization.mark_unanswered(now)
        payment.finish(OperationStatus.TIMEOUT, ResponseCode.SYSTEM_ERROR, now)
        reversal_id = await open_reversal(uow, authorization, payment, payment.amount, now)
    else:
        authorization.response = answer.raw_code
        authorization.approval_code = answer.approval_code
        if answer.approved:
            authorization.change_status(TransactionStatus.APPROVED, now)
            payment.finish(OperationStatus.SUCCESS, answer.code, now, answer.approval_code)
            if not order.delay:
                await present_later(uow, payment, authorization, payment.amount, now)
        else:
            authorization.change_status(TransactionStatus.DECLINED, now)
            payment.finish(OperationStatus.DECLINED, answer.code, now)
    order.end_payment(payment, now)
    await uow.transactions.save(authorization)
    await uow.operations.save(payment)
    await uow.orders.save(order)
    return reversal_id


async def present_later(
    uow: UnitOfWork,
    operation: Operation,
    authorization: Transaction,
    amount: Money,
    now: datetime,
) -> None:
    """Adds the financial transaction (a debit) that the next settlement batch will send for
    ``amount`` charged by ``operation`` against ``authorization``."""
    assert operation.id is not None and authorization.id is not None
    await uow.transactions.add(
        Transaction(
            order_id=operation.order_id,
            operation_id=operation.id,
            kind=TransactionKind.FINANCIAL,
            amount=amount,
            created_at=now,
            original_id=authorization.id,
        )
    )
