"""The janitor settles what was left unsettled: authorizations whose answer never came back
(the process died between the phases), reversals and wallet refunds still waiting for their
answer, 3-D Secure checks the buyer never finished, wallet payments the buyer left at the
provider, orders nobody paid within their lifetime, and holds nobody confirmed in time.

No payment stays under way for good. A payment is written with its first exchange, and the
exchange that follows one is opened as that one closes, so a payment ``in_process`` always
has an exchange waiting, by which the janitor ends it when its process died: an
authorization unanswered after ``stale_after`` is reversed (it may have reached the
processing center) and its payment declined; a 3-D Secure check still open after
``authentication.CHALLENGE_TIME`` — the buyer's, or one the directory's answer never reached
the database for — is given up and its payment declined; a wallet payment is settled by what
the provider says, or declined when the provider never named it (the buyer was never sent to
it). And when the order's lifetime passes, ``expire_orders`` ends whatever payment is still
under way and moved no money — one left with no exchange at all, as IPS left them before it
wrote the first exchange with the payment, included — so its number is free again.

Points (``services/points.py``): a reservation whose answer never came is released; the
spend, release, give-back or accrual the program has not answered is repeated, with the
same growing pause; and points still reserved once the payment of the rest is over — its
request died before it followed them — are spent or released by it (or released, when no
payment of the rest ever began).

It runs in the background workers of every node. Reversals are repeated with a growing
pause (``backoff``) until the processing center answers.

Several janitors may sweep at once. Each claims a transaction (``services/claims.py``) before
it acts on it, as it read it: one another janitor holds, or that changed since it was read,
is passed by. The claim lasts while it acts — sending, asking the wallet provider — with no
database transaction open, and ends when it is done (a reversal's, with its answer). Orders
are expired, and holds released, under their row locks taken with ``SKIP LOCKED``: a janitor
passes by an order another one (or a shop's request) holds, and takes it on a later run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ips.domain.errors import Refused
from ips.domain.orders import (
    CancelReason,
    OperationKind,
    PaymentMeans,
    Transaction,
    TransactionKind,
)
from ips.domain.states import OperationStatus, TransactionStatus
from ips.faults import fault
from ips.logs.context import about_order, scope
from ips.services import (
    authentication,
    cvc,
    idempotency,
    kept_cards,
    points,
    points_exchanges,
    wallet_payments,
)
from ips.services.cancellations import cancel_locked
from ips.services.claims import LEASE, claimant
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
        if not _due(transaction, now, stale_after):
            continue
        with scope():  # its lines are about its order, and the next one's about another
            try:
                acted += await _claimed(transaction, gateway)
            except Exception:  # one transaction that fails must not hold up the others
                log.exception("the janitor could not settle transaction %s", transaction.id)
    waiting = await _waiting_on_points(gateway, now - stale_after) if gateway.loyalty else []
    for billnumber in waiting:
        with scope(billnumber=billnumber):
            try:
                await points.follow_points(billnumber, gateway, release_alone=True)
            except Exception:
                log.exception("the janitor could not settle the points of order %s", billnumber)
    await cvc.purge_expired(gateway)  # CVCs kept past their time (3-D Secure checks closed)
    await kept_cards.purge_expired(gateway)
    await idempotency.purge_expired(gateway.uow_factory, gateway.clock)
    return acted


def _due(transaction: Transaction, now: datetime, stale_after: timedelta) -> bool:
    """Whether the janitor acts on the transaction now."""
    updated = transaction.updated_at or transaction.created_at
    kind, sent = transaction.kind, transaction.status is TransactionStatus.SENT
    if kind in (
        TransactionKind.AUTHORIZATION,
        TransactionKind.WALLET_PAYMENT,
        TransactionKind.POINTS_RESERVATION,
    ):
        return sent
    if kind is TransactionKind.AUTHENTICATION:
        return sent and updated + authentication.CHALLENGE_TIME <= now
    repeated = kind in (TransactionKind.REVERSAL, TransactionKind.WALLET_REFUND, *POINTS_REPEATED)
    return repeated and updated + max(backoff(transaction.attempts), stale_after) <= now


async def _claimed(transaction: Transaction, gateway: Gateway) -> int:
    """Acts on the transaction if this janitor claims it; 1 if it did."""
    assert transaction.id is not None
    holder = claimant()
    async with gateway.uow_factory() as uow:
        now = gateway.clock()
        if not await uow.transactions.claim(transaction, holder, now, now + LEASE):
            return 0
        fault("janitor.claim.committing")
        await uow.commit()
    fault("janitor.claim.committed")
    if transaction.kind is TransactionKind.REVERSAL:
        await send_reversal(transaction.id, gateway, claim=holder)  # it ends the claim
        return 1
    try:
        await _act(transaction, gateway)
    except Exception:
        await _release(transaction.id, holder, gateway)
        raise
    await _release(transaction.id, holder, gateway)
    return 1


async def _act(transaction: Transaction, gateway: Gateway) -> None:
    kind = transaction.kind
    if kind is TransactionKind.AUTHORIZATION:
        reversal_id = await _give_up(transaction, gateway)
        if reversal_id is not None:
            await send_reversal(reversal_id, gateway)
    elif kind is TransactionKind.AUTHENTICATION:
        await authentication.give_up(transaction, gateway)
    elif kind is TransactionKind.WALLET_PAYMENT and transaction.reference:
        await settle_wallet_payment(transaction, gateway)
    elif kind is TransactionKind.WALLET_PAYMENT:
        await wallet_payments.give_up(transaction, gateway)
    elif kind is TransactionKind.POINTS_RESERVATION:
        await points.give_up_reservation(transaction, gateway)
    elif kind in POINTS_REPEATED:
        await points_exchanges.repeat(transaction, gateway)
    else:
        assert transaction.id is not None
        await send_wallet_refund(transaction.id, gateway)


async def _release(transaction_id: int, holder: str, gateway: Gateway) -> None:
    async with gateway.uow_factory() as uow:
        await uow.transactions.release(transaction_id, holder)
        fault("janitor.release.committing")
        await uow.commit()
    fault("janitor.release.committed")


POINTS_REPEATED = (
    TransactionKind.POINTS_SPEND,
    TransactionKind.POINTS_RELEASE,
    TransactionKind.POINTS_GIVE_BACK,
    TransactionKind.POINTS_ACCRUAL,
    TransactionKind.POINTS_ACCRUAL_REVERSAL,
)
"""What the points program is asked again until it answers (``points_exchanges.repeat``)."""


async def _waiting_on_points(gateway: Gateway, before: datetime) -> list[str]:
    async with gateway.uow_factory(readonly=True) as uow:
        return await uow.orders.waiting_on_points(before)


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
        about_order(order, payment)
        log.warning("authorization %s of order %s went unanswered", current.id, order.billnumber)
        reversal_id = await record_answer(uow, order, payment, current, None, gateway.clock)
        fault("janitor.give_up.committing")
        await uow.commit()
    fault("janitor.give_up.committed")
    return reversal_id


BATCH = 500


async def expire_orders(gateway: Gateway) -> int:
    """Orders still unpaid after their lifetime become ``Timeout`` and free their number. A
    payment still under way on one, or only chosen (the buyer left the form), ends with it
    (``timeout``, AS998; timeouts are not notified) unless money may have moved on it — an
    authorization awaiting its answer, a wallet payment the provider named: ``sweep`` settles
    those, and the order by them."""
    now = gateway.clock()
    async with gateway.uow_factory() as uow:
        candidates = await uow.orders.lock_unpaid_since_before(
            now - gateway.timings.order_lifetime, BATCH
        )
        in_process = [
            op
            for op in await uow.operations.of_orders([o.id for o in candidates if o.id])
            if op.kind is OperationKind.PAYMENT and op.status is OperationStatus.IN_PROCESS
        ]
        under_way = {  # points in process wait on the other payment (``points``)
            op.order_id: op for op in in_process if op.means is not PaymentMeans.POINTS
        }
        exchanges = await uow.transactions.of_orders(
            [o.id for o in candidates if o.holds_ordernumber and o.id]
        )
        expired = 0
        for order in candidates:
            payment = under_way.get(order.id) if order.id is not None else None
            try:
                closed = order.expire(now, payment, exchanges)
            except Refused:  # its payment went on since it was read: sweep settles it
                with scope(merchant_id=order.merchant_id, billnumber=order.billnumber):
                    log.info("order %s is being paid: not expired", order.billnumber)
                continue
            for exchange in closed:
                await uow.transactions.save(exchange)
            await uow.orders.save(order)
            if payment is not None:  # no notification: timeouts are not told (Assist)
                await uow.operations.save(payment)
            expired += 1
        if expired:
            fault("janitor.expiry.committing")
            await uow.commit()
            fault("janitor.expiry.committed")
    return expired


async def release_expired_holds(gateway: Gateway) -> int:
    """Holds nobody confirmed within the hold period are released (a cancel of the hold)."""
    async with gateway.uow_factory(readonly=True) as uow:
        cutoff = gateway.clock() - gateway.timings.hold_period
        ids = await uow.orders.holding_since_before(cutoff, BATCH)
    released = 0
    for order_id in ids:
        with scope():
            released += await _release_hold(order_id, gateway)
    return released


async def _release_hold(order_id: int, gateway: Gateway) -> int:
    """Releases the order's unconfirmed hold; 1 if it did, 0 if there was none or the order
    is another's to change now."""
    async with gateway.uow_factory() as uow:
        order = await uow.orders.lock_if_free(order_id)
        if order is None:  # another node, or a shop's request, is at it
            return 0
        about_order(order)
        unconfirmed = order.paid_books.unconfirmed
        if not unconfirmed:
            return 0
        paid = await paid_order(uow, order)
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        _, after = await cancel_locked(
            uow, merchant, paid, unconfirmed, CancelReason.HOLD_EXPIRED, gateway.clock()
        )
        fault("janitor.hold_release.committing")
        await uow.commit()
    fault("janitor.hold_release.committed")
    log.info("released the unconfirmed hold of order %s", order.billnumber)
    await after.send(gateway)
    return 1
