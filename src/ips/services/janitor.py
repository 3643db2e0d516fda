"""The janitor settles what was left unsettled: authorizations whose answer never came back
(the process died between the phases), reversals and wallet refunds still waiting for their
answer, 3-D Secure checks the buyer never finished, wallet payments the buyer left at the
provider, orders nobody paid within their lifetime, and holds nobody confirmed in time.

It runs in the background workers of ``ips serve``. Reversals are repeated with a growing
pause (``backoff``) until the processing center answers.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ips.domain.orders import CancelReason, Transaction, TransactionKind
from ips.domain.states import OrderState, TransactionStatus
from ips.services import authentication
from ips.services.cancellations import cancel_locked
from ips.services.gateway import Gateway
from ips.services.operations import paid_order
from ips.services.payments import record_answer
from ips.services.reversals import send_reversal
from ips.services.wallet_payments import send_wallet_refund, settle_wallet_payment

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """The pause before the next repeat of a message already sent ``attempts`` times."""
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


async def sweep(gateway: Gateway, *, stale_after: timedelta) -> int:
    """One pass over the messages still waiting for an answer. ``stale_after`` is how long a
    message may wait: an authorization unanswered that long is given up and reversed, and a
    reversal is repeated no sooner — so the janitor never repeats a message whose sender is
    still waiting for its answer. Returns how many transactions it acted on."""
    now = gateway.clock()
    acted = 0
    for transaction in await _open_transactions(gateway, now - stale_after):
        try:
            acted += await _settle(transaction, gateway, now, stale_after)
        except Exception:  # one transaction that fails must not hold up the others
            log.exception("the janitor could not settle transaction %s", transaction.id)
    return acted


async def _settle(
    transaction: Transaction, gateway: Gateway, now: datetime, stale_after: timedelta
) -> int:
    assert transaction.id is not None
    updated = transaction.updated_at or transaction.created_at
    kind, sent = transaction.kind, transaction.status is TransactionStatus.SENT
    if kind is TransactionKind.AUTHORIZATION and sent:
        reversal_id = await _give_up(transaction, gateway)
        if reversal_id is not None:
            await send_reversal(reversal_id, gateway)
        return 1
    if kind is TransactionKind.AUTHENTICATION and sent:
        if updated + authentication.CHALLENGE_TIME > now:
            return 0
        await authentication.give_up(transaction, gateway)
        return 1
    if kind is TransactionKind.WALLET_PAYMENT and sent:
        await settle_wallet_payment(transaction, gateway)
        return 1
    if updated + max(backoff(transaction.attempts), stale_after) > now:
        return 0
    if kind is TransactionKind.REVERSAL:
        await send_reversal(transaction.id, gateway)
        return 1
    if kind is TransactionKind.WALLET_REFUND:
        await send_wallet_refund(transaction.id, gateway)
        return 1
    return 0


async def _open_transactions(gateway: Gateway, before: datetime) -> list[Transaction]:
    async with gateway.uow_factory(readonly=True) as uow:
        return await uow.transactions.open_since_before(before)


async def _give_up(authorization: Transaction, gateway: Gateway) -> int | None:
    """Declares an unanswered authorization failed and opens its reversal."""
    assert authorization.id is not None
    async with gateway.uow_factory() as uow:
        order = await uow.orders.of_transaction(authorization.id, lock=True)
        current = await uow.transactions.get(authorization.id)
        assert order is not None and current is not None
        if current.status is not TransactionStatus.SENT:
            return None
        payment = await uow.operations.get(current.operation_id)
        assert payment is not None
        log.warning("authorization %s of order %s went unanswered", current.id, order.billnumber)
        reversal_id = await record_answer(uow, order, payment, current, None, gateway.clock)
        await uow.commit()
    return reversal_id


BATCH = 500


async def expire_orders(gateway: Gateway) -> int:
    """Orders still unpaid after their lifetime become ``Timeout``."""
    now = gateway.clock()
    async with gateway.uow_factory() as uow:
        ids = await uow.orders.unpaid_since_before(now - gateway.timings.order_lifetime, BATCH)
        expired = [
            order
            for order in await uow.orders.lock_many(ids)
            if order.state is OrderState.IN_PROCESS and not order.holds_ordernumber
        ]
        for order in expired:
            order.expire(now)
            await uow.orders.save(order)
        await uow.commit()
    return len(expired)


async def release_expired_holds(gateway: Gateway) -> int:
    """Holds nobody confirmed within the hold period are released (a cancel of the hold)."""
    async with gateway.uow_factory(readonly=True) as uow:
        cutoff = gateway.clock() - gateway.timings.hold_period
        ids = await uow.orders.holding_since_before(cutoff, BATCH)
    for order_id in ids:
        async with gateway.uow_factory() as uow:
            order = await uow.orders.get_by_id(order_id, lock=True)
            assert order is not None
            unconfirmed = order.paid_books.unconfirmed
            if not unconfirmed:
                continue
            paid = await paid_order(uow, order)
            merchant = await uow.merchants.get(order.merchant_id)
            assert merchant is not None
            _, after = await cancel_locked(
                uow, merchant, paid, unconfirmed, CancelReason.HOLD_EXPIRED, gateway.clock()
            )
            await uow.commit()
        log.info("released the unconfirmed hold of order %s", order.billnumber)
        await after.send(gateway)
    return len(ids)
