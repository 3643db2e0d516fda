"""What asks for an operator's eyes, of every merchant: the console's attention list.

Each is work the background workers should have finished by now, and may not have — a
janitor that does not run, a processing center or a shop that does not answer:

- **authorizations of unknown outcome**: sent, and neither an answer recorded for ``STALE``
  nor given up. The janitor gives such an authorization up and reverses it once it has
  waited twice the processing timeout and 30 s; one still waiting after ``STALE`` means no
  janitor runs. (One given up is ``unknown`` until its reversal is answered: it is its
  reversal that is listed, below.)
- **reversals unanswered** for ``STALE``: the janitor repeats each until the processing
  center answers it; until then the bank may still hold the buyer's money.
- **orders stuck in process**: ``In Process`` past their lifetime (``Timings.order_lifetime``)
  and ``STALE`` more, which the janitor would have ended (``janitor.expire_orders``).
- **holds unconfirmed** past the hold period and ``STALE`` more, which the janitor would
  have released (``janitor.release_expired_holds``).
- **notifications given up or refused**, and **webhook deliveries given up**: an operator may
  send them again once the shop mends its side (``notifications.send_again``,
  ``webhooks.send_again_as_operator``).

Each comes with its order, for the link to the order's page; each list with at most
``LIMIT``, the oldest work first (the notifications and webhooks, the latest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ips.domain.notifications import Notification
from ips.domain.orders import Order, Transaction, TransactionKind
from ips.domain.states import TransactionStatus
from ips.domain.webhooks import WebhookDelivery
from ips.services.gateway import Gateway

STALE = timedelta(minutes=5)
LIMIT = 100


@dataclass(frozen=True)
class Waiting:
    """An exchange with the processing center waiting for its answer, and its order."""

    transaction: Transaction
    order: Order


@dataclass(frozen=True)
class Undelivered:
    notification: Notification
    order: Order


@dataclass(frozen=True)
class Attention:
    authorizations: list[Waiting]
    reversals: list[Waiting]
    in_process: list[Order]
    holds: list[Order]
    notifications: list[Undelivered]
    webhooks: list[WebhookDelivery]

    @property
    def empty(self) -> bool:
        return not any(
            (self.authorizations, self.reversals, self.in_process, self.holds,
             self.notifications, self.webhooks)
        )  # fmt: skip


async def attention(gateway: Gateway, stale: timedelta = STALE) -> Attention:
    now = gateway.clock()
    timings = gateway.timings
    async with gateway.uow_factory(readonly=True) as uow:
        waiting = await uow.transactions.open_since_before(now - stale)
        authorizations = [
            t
            for t in waiting
            if t.kind is TransactionKind.AUTHORIZATION and t.status is TransactionStatus.SENT
        ][:LIMIT]
        reversals = [t for t in waiting if t.kind is TransactionKind.REVERSAL][:LIMIT]
        in_process = await uow.console.in_process_since_before(
            now - timings.order_lifetime - stale, LIMIT
        )
        holds = await uow.orders.holding_since_before(now - timings.hold_period - stale, LIMIT)
        notifications = await uow.notifications.ended_undelivered(LIMIT)
        webhooks = await uow.webhooks.failed(LIMIT)
        ids = {t.order_id for t in (*authorizations, *reversals)}
        ids |= {*in_process, *holds, *(n.order_id for n in notifications)}
        orders = {o.id: o for o in await uow.orders.many(ids)}
    return Attention(
        [Waiting(t, orders[t.order_id]) for t in authorizations],
        [Waiting(t, orders[t.order_id]) for t in reversals],
        [orders[i] for i in in_process],
        [orders[i] for i in holds],
        [Undelivered(n, orders[n.order_id]) for n in notifications],
        webhooks,
    )
