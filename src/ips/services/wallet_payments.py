"""Paying an order with an e-wallet, and giving wallet money back.

The payment is begun like a card payment (one operation, the order locked), with its wallet
payment recorded as sent in that commit; then it is created at the provider, which names it
and takes the buyer to its own page. When the buyer comes back — or the janitor looks later —
IPS asks the provider for the payment's status and moves the operation and the order by it,
exactly as for a card. A wallet payment the provider never named (the process died before
recording the name) was never shown to the buyer: the janitor declines it (``give_up``).
Wallet money is settled by the provider, not in IPS's batches: a paid wallet payment counts
as presented, so cancelling it is always a refund, made at the provider.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ips.domain.errors import NotFound, Refused
from ips.domain.money import Money
from ips.domain.orders import (
    Buyer,
    Operation,
    Order,
    PaymentMeans,
    Transaction,
    TransactionKind,
)
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, TransactionStatus
from ips.domain.text import is_digits
from ips.faults import fault
from ips.logs.context import about_order
from ips.processing.port import NoAnswer
from ips.processing.wallet import Wallet, WalletStatus
from ips.services.gateway import Gateway
from ips.services.notifications import enqueue
from ips.services.payments import PaymentStep, begin_payment, fail_payment, give_up_locked
from ips.services.points import after_rest
from ips.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

DESCRIPTION_LIMIT = 500
"""What a wallet shows of the payment: one line, within what providers take."""


@dataclass(frozen=True)
class PayByWallet:
    billnumber: str
    return_url: str
    """Where the wallet's page sends the buyer back to."""
    client_ip: str = ""
    buyer: Buyer | None = None
    beside: Operation | None = None
    """The points payment whose points are reserved: the wallet pays the rest (``points``)."""


def _wallet(gateway: Gateway) -> Wallet:
    if gateway.wallet is None:
        raise Refused("no e-wallet is connected", field="means")
    return gateway.wallet


async def pay_by_wallet(cmd: PayByWallet, gateway: Gateway) -> PaymentStep:
    wallet = _wallet(gateway)
    begun = await begin_payment(
        cmd.billnumber,
        PaymentMeans.WALLET,
        gateway,
        client_ip=cmd.client_ip,
        buyer=cmd.buyer,
        beside=cmd.beside,
    )
    if isinstance(begun, Order):
        return PaymentStep(begun)
    order, payment, sent = begun.order, begun.payment, begun.first
    assert payment.id is not None and sent.id is not None
    try:
        created = await wallet.create(
            reference=f"ips-{sent.id}",
            amount=payment.amount,
            merchant_id=order.merchant_id,
            description=" ".join(f"{begun.merchant.name}: order {order.ordernumber}".split())[
                :DESCRIPTION_LIMIT
            ],
            return_url=cmd.return_url,
        )
    except NoAnswer:
        log.warning("the wallet did not answer for order %s", order.billnumber)
        return PaymentStep(await fail_payment(payment.id, ResponseCode.SYSTEM_ERROR, gateway))
    fault("wallet.create.sent")
    async with gateway.uow_factory() as uow:
        current_order = await uow.orders.get_by_id(sent.order_id, lock=True)
        current = await uow.transactions.get(sent.id)
        assert current_order is not None and current is not None
        if current.status is not TransactionStatus.SENT:  # given up meanwhile: not shown
            return PaymentStep(current_order)
        current.reference = created.id
        await uow.transactions.save(current)
        fault("wallet.reference.committing")
        await uow.commit()
    fault("wallet.reference.committed")
    return PaymentStep(current_order, created.url)


async def give_up(sent: Transaction, gateway: Gateway) -> None:
    """The janitor's end of a wallet payment the provider never named: the buyer was never
    sent to it, so nothing was paid; the payment is declined (AS998)."""
    assert sent.id is not None
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get_by_id(sent.order_id, lock=True)
        current = await uow.transactions.get(sent.id)
        payment = await uow.operations.get(sent.operation_id)
        assert order is not None and current is not None and payment is not None
        about_order(order, payment)
        if current.status is not TransactionStatus.SENT or current.reference:
            return
        log.warning("the wallet payment of order %s was never named", order.billnumber)
        await give_up_locked(uow, order, payment, ResponseCode.SYSTEM_ERROR, gateway.clock())
        fault("wallet.give_up.committing")
        await uow.commit()
    fault("wallet.give_up.committed")


async def complete_wallet_payment(billnumber: str, gateway: Gateway) -> PaymentStep:
    """The buyer is back from the wallet: the payment as the provider sees it (and the points
    paying beside it, if any)."""
    async with gateway.uow_factory(readonly=True) as uow:
        order = await uow.orders.get(billnumber) if is_digits(billnumber) else None
        if order is None or order.id is None:
            raise NotFound("no such order", field="billnumber")
        about_order(order)
        pending = [
            t
            for t in await uow.transactions.of_order(order.id)
            if t.kind is TransactionKind.WALLET_PAYMENT and t.status is TransactionStatus.SENT
        ]
    if not pending:
        return PaymentStep(order)
    return await after_rest(PaymentStep(await settle_wallet_payment(pending[-1], gateway)), gateway)


async def settle_wallet_payment(sent: Transaction, gateway: Gateway) -> Order:
    """Asks the provider about a wallet payment and moves it by the answer. A payment still
    pending at the provider stays as it is until its order's time is up; then IPS cancels it
    there (the buyer never finished it) and moves it by the state that leaves."""
    wallet = _wallet(gateway)
    try:
        state = await wallet.status(sent.reference) if sent.reference else None
        pending = state is not None and state.status is WalletStatus.PENDING
        if pending and await _time_is_up(sent, gateway):
            state = await wallet.cancel(sent.reference)
    except NoAnswer:
        state = None
    fault("wallet.status.sent")
    assert sent.id is not None
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get_by_id(sent.order_id, lock=True)
        current = await uow.transactions.get(sent.id)
        payment = await uow.operations.get(sent.operation_id)
        assert order is not None and current is not None and payment is not None
        about_order(order, payment)
        if state is None or state.status is WalletStatus.PENDING:
            return order
        if current.status is not TransactionStatus.SENT:
            return order
        now = gateway.clock()
        if state.status is WalletStatus.PAID:
            current.change_status(TransactionStatus.APPROVED, now)
            payment.finish(OperationStatus.SUCCESS, ResponseCode.SUCCESS, now)
        else:
            current.change_status(TransactionStatus.DECLINED, now)
            payment.finish(OperationStatus.DECLINED, ResponseCode.DECLINED, now)
        order.end_payment(payment, now)
        log.info(
            "payment %s.%d: the wallet says %s; the order is %s",
            order.billnumber,
            payment.number,
            state.status.value,
            order.state.value,
        )
        await uow.transactions.save(current)
        await uow.operations.save(payment)
        await uow.orders.save(order)
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        await enqueue(uow, merchant, order, payment, payment, now)
        fault("wallet.answer.committing")
        await uow.commit()
    fault("wallet.answer.committed")
    return order


async def _time_is_up(sent: Transaction, gateway: Gateway) -> bool:
    async with gateway.uow_factory(readonly=True) as uow:
        order = await uow.orders.get_by_id(sent.order_id)
    assert order is not None
    return order.created_at + gateway.timings.order_lifetime <= gateway.clock()


async def open_wallet_refund(
    uow: UnitOfWork, wallet_payment: Transaction, cancel: Operation, amount: Money
) -> int:
    """Adds the refund of ``amount`` of a wallet payment (sent after the commit)."""
    assert cancel.id is not None
    refund = Transaction(
        order_id=cancel.order_id,
        operation_id=cancel.id,
        kind=TransactionKind.WALLET_REFUND,
        amount=amount,
        created_at=cancel.created_at,
        original_id=wallet_payment.id,
        reference=wallet_payment.reference,
    )
    await uow.transactions.add(refund)
    assert refund.id is not None
    return refund.id


async def send_wallet_refund(refund_id: int, gateway: Gateway) -> None:
    """Asks the provider to give the money back; repeated by the janitor while it does not
    answer (the refund's own reference keeps the provider from refunding twice)."""
    async with gateway.uow_factory() as uow:
        refund = await uow.transactions.get(refund_id)
        assert refund is not None
        order = await uow.orders.get_by_id(refund.order_id, lock=True)
        assert order is not None
        about_order(order)
        refund = await uow.transactions.get(refund_id)
        assert refund is not None
        if refund.status not in (
            TransactionStatus.CREATED,
            TransactionStatus.SENT,
            TransactionStatus.UNKNOWN,
        ):
            return
        refund.mark_sent(gateway.clock())
        await uow.transactions.save(refund)
        fault("wallet_refund.prepare.committing")
        await uow.commit()
    fault("wallet_refund.prepare.committed")
    try:
        done: bool | None = await _wallet(gateway).refund(
            refund.reference, refund.amount, f"ips-{refund_id}"
        )
    except NoAnswer:
        done = None
    fault("wallet_refund.sent")
    async with gateway.uow_factory() as uow:
        await uow.orders.get_by_id(refund.order_id, lock=True)
        current = await uow.transactions.get(refund_id)
        assert current is not None
        now = gateway.clock()
        if done is None:
            current.mark_unanswered(now)
        elif done:
            current.change_status(TransactionStatus.APPROVED, now)
        else:
            log.error("the wallet refused refund %s: an operator must look at it", refund_id)
            current.change_status(TransactionStatus.DECLINED, now)
        await uow.transactions.save(current)
        fault("wallet_refund.record.committing")
        await uow.commit()
    fault("wallet_refund.record.committed")
