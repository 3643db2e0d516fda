"""Payment notifications: written with the operation's result, delivered by the workers.

``enqueue`` runs inside the unit of work that records an operation's result, so the
notification exists exactly when the result does. ``deliver_due`` sends what is due — no
database transaction open while it waits for a shop — to the merchant's configured URL at
the time of sending, and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ips.domain.audit import Actor, Subject
from ips.domain.errors import InvalidInput, NotFound
from ips.domain.merchants import Merchant, parse_callback_url
from ips.domain.notifications import (
    ALLOWED_PORTS,
    Attempt,
    Notification,
    NotificationStatus,
    Outcome,
)
from ips.domain.orders import Operation, OperationKind, Order
from ips.domain.states import OperationStatus
from ips.faults import fault
from ips.logs.context import about
from ips.metrics import Metrics
from ips.protocol.fields import notification_fields
from ips.protocol.notification import read_answer
from ips.services import audit
from ips.services.clock import Clock, utc_now
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
"""How long a claimed notification is left to its sender before another may take it."""
ANSWER_LIMIT = 2000


@dataclass(frozen=True)
class Reply:
    status: int
    body: str


class NotDelivered(Exception):
    """The shop's server could not be reached, or did not answer in time — or its host is,
    at the time of sending, at an address IPS may not connect to. All are tried again later:
    a name's addresses change (one that points into IPS's network now may be public again)."""


class CallbackSender(Protocol):
    async def post(self, url: str, fields: Mapping[str, str]) -> Reply:
        """A notification: the fields as a form."""
        ...

    async def post_json(self, url: str, body: str, headers: Mapping[str, str]) -> Reply:
        """A webhook (``services/webhooks.py``): ``body``, JSON, with ``headers``."""
        ...


async def enqueue(
    uow: UnitOfWork,
    merchant: Merchant,
    order: Order,
    operation: Operation,
    payment: Operation,
    now: datetime,
) -> None:
    """Adds the notification of ``operation``'s result, if the merchant asked for its kind."""
    if (
        not merchant.callback_url
        or operation.kind not in merchant.notify_kinds
        or operation.status not in (OperationStatus.SUCCESS, OperationStatus.DECLINED)
    ):
        return
    assert order.id is not None and operation.id is not None
    await uow.notifications.add(
        Notification(
            merchant_id=merchant.merchant_id,
            order_id=order.id,
            operation_id=operation.id,
            fields=notification_fields(merchant, order, operation, payment, now),
            created_at=now,
            next_attempt_at=now,
        )
    )
    if (
        operation.kind is OperationKind.PAYMENT
        and operation.status is OperationStatus.SUCCESS
        and operation.number > 1  # attempts before it may still be waiting to be told
    ):
        await uow.notifications.supersede_pending(order.id, operation.id)


async def send_again(
    notification_id: int, actor: Actor, uow_factory: UnitOfWorkFactory, clock: Clock = utc_now
) -> Notification:
    """An operator's "send again" of a notification given up or refused
    (``Notification.send_again``): due now, with its audit entry, in one commit; the workers
    deliver it at their next look, as any other."""
    async with uow_factory() as uow:
        notification = await uow.notifications.get(notification_id, lock=True)
        if notification is None:
            raise NotFound(f"no notification {notification_id}")
        order = await uow.orders.get_by_id(notification.order_id)
        assert order is not None
        before = notification.status.value
        now = clock()
        notification.send_again(now)
        await uow.notifications.save(notification)
        subject = Subject("notification", str(notification_id), order.merchant_id, order.billnumber)
        await audit.note(
            uow, actor, "notification.send_again", subject, now,
            before={"status": before}, after={"status": notification.status.value},
        )  # fmt: skip
        await uow.commit()
    return notification


@dataclass(frozen=True)
class Delivery:
    """What delivering notifications and webhooks needs."""

    uow_factory: UnitOfWorkFactory
    sender: CallbackSender
    clock: Clock = utc_now
    ports: frozenset[int] = ALLOWED_PORTS
    batch: int = 20
    metrics: Metrics | None = None
    """Where the attempts are counted."""


async def deliver_due(delivery: Delivery) -> int:
    """Sends the notifications that are due, at once; returns how many were tried."""
    async with delivery.uow_factory() as uow:
        due = await uow.notifications.claim_due(delivery.clock(), LEASE, delivery.batch)
        owners = {n.merchant_id for n in due}
        merchants = {m.merchant_id: m for m in await uow.merchants.many(owners)} if due else {}
        fault("notification.claim.committing")
        await uow.commit()
    fault("notification.claim.committed")
    await asyncio.gather(*(_deliver(n, merchants[n.merchant_id], delivery) for n in due))
    return len(due)


async def _deliver(notification: Notification, merchant: Merchant, delivery: Delivery) -> None:
    named = notification.fields.get("billnumber", "")  # a payment's is the order's, the
    billnumber, dot, number = named.partition(".")  # others' billnumber.n
    about(
        merchant_id=notification.merchant_id,
        billnumber=billnumber,
        operation=named if dot and number else None,
    )
    attempt = await _attempt(notification, merchant, delivery)
    fault("notification.sent")
    async with delivery.uow_factory() as uow:
        assert notification.id is not None
        current = await uow.notifications.get(notification.id, lock=True)
        if current is None or current.status is not NotificationStatus.PENDING:
            return
        status = current.record(attempt)
        await uow.notifications.save(current)
        fault("notification.record.committing")
        await uow.commit()
    fault("notification.record.committed")
    if delivery.metrics is not None:
        delivery.metrics.delivery_tried("notifications", attempt.outcome.value)
    said = (
        "notification %s of %s to merchant %s: %s (%s)",
        current.id,
        named,
        merchant.merchant_id,
        status.value,
        attempt.error or attempt.http_status,
    )
    if status is NotificationStatus.DELIVERED:
        log.info(*said)
    else:
        log.warning(*said)


async def _attempt(notification: Notification, merchant: Merchant, delivery: Delivery) -> Attempt:
    try:
        url = parse_callback_url(merchant.callback_url, delivery.ports)
    except InvalidInput as exc:
        return Attempt(delivery.clock(), Outcome.NO_ANSWER, error=exc.message)
    try:
        reply = await delivery.sender.post(url, notification.fields)
    except NotDelivered as exc:
        return Attempt(delivery.clock(), Outcome.NO_ANSWER, error=str(exc))
    return Attempt(
        delivery.clock(),
        read_answer(merchant.notify_answer, reply.status, reply.body),
        http_status=reply.status,
        answer=reply.body[:ANSWER_LIMIT],
    )
