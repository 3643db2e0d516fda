"""Webhooks in the database: the endpoints (secrets sealed with the key ring), the events
written with the changes they tell of (``write_events``, from the unit of work's commit), and
the outbox of deliveries with every attempt."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.crypto.keyring import KeyRing
from ips.domain.orders import (
    Operation,
    OperationKind,
    Order,
    Transaction,
    TransactionKind,
    return_method,
)
from ips.domain.states import OperationStatus, OrderState
from ips.domain.webhooks import (
    ORDER_EVENTS,
    Attempt,
    DeliveryStatus,
    Due,
    Endpoint,
    Event,
    WebhookDelivery,
    events_of,
    new_delivery,
)
from ips.storage.repositories import OrderRepository
from ips.storage.tables import (
    orders,
    transactions,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)


def _context(endpoint_id: str) -> str:
    return f"webhook secret of endpoint {endpoint_id}"


class WebhookRepository:
    def __init__(self, conn: AsyncConnection, keyring: KeyRing) -> None:
        self._conn = conn
        self._keyring = keyring

    # endpoints

    async def add_endpoint(self, endpoint: Endpoint) -> None:
        await self._conn.execute(
            insert(webhook_endpoints).values(
                endpoint_id=endpoint.endpoint_id,
                merchant_id=endpoint.merchant_id,
                url=endpoint.url,
                event_types=list(endpoint.event_types),
                created_at=endpoint.created_at,
                **self._sealed(endpoint),
            )
        )

    async def endpoints_of(self, merchant_id: str) -> list[Endpoint]:
        """The merchant's endpoints not removed, oldest first."""
        rows = await self._conn.execute(
            select(webhook_endpoints)
            .where(
                webhook_endpoints.c.merchant_id == merchant_id,
                webhook_endpoints.c.removed_at.is_(None),
            )
            .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.endpoint_id)
        )
        return [self._endpoint(row) for row in rows]

    async def endpoint(self, merchant_id: str, endpoint_id: str) -> Endpoint | None:
        """The merchant's endpoint, not removed, locked for a change."""
        row = (
            await self._conn.execute(
                select(webhook_endpoints)
                .where(
                    webhook_endpoints.c.endpoint_id == endpoint_id,
                    webhook_endpoints.c.merchant_id == merchant_id,
                    webhook_endpoints.c.removed_at.is_(None),
                )
                .with_for_update()
            )
        ).first()
        return None if row is None else self._endpoint(row)

    async def save_secrets(self, endpoint: Endpoint) -> None:
        await self._conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.endpoint_id == endpoint.endpoint_id)
            .values(**self._sealed(endpoint))
        )

    async def remove_endpoint(self, endpoint: Endpoint, now: datetime) -> None:
        """Removes it; what it still had to deliver is canceled."""
        await self._conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.endpoint_id == endpoint.endpoint_id)
            .values(removed_at=now, sealed_previous_secret=None, previous_until=None)
        )
        await self._conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.endpoint_id == endpoint.endpoint_id,
                webhook_deliveries.c.status == DeliveryStatus.PENDING.value,
            )
            .values(status=DeliveryStatus.CANCELED.value, next_attempt_at=None)
        )

    def _sealed(self, endpoint: Endpoint) -> dict[str, Any]:
        context = _context(endpoint.endpoint_id)
        previous = endpoint.previous_secret
        return {
            "sealed_secret": self._keyring.seal(endpoint.secret, context),
            "sealed_previous_secret": self._keyring.seal(previous, context) if previous else None,
            "previous_until": endpoint.previous_until,
        }

    def _endpoint(self, row: Row[Any]) -> Endpoint:
        context = _context(row.endpoint_id)
        previous = row.sealed_previous_secret
        return Endpoint(
            endpoint_id=row.endpoint_id,
            merchant_id=row.merchant_id,
            url=row.url,
            event_types=tuple(row.event_types),
            secret=self._keyring.open(row.sealed_secret, context),
            created_at=row.created_at,
            previous_secret=self._keyring.open(previous, context) if previous else None,
            previous_until=row.previous_until,
            removed_at=row.removed_at,
        )

    # deliveries

    async def claim_due(
        self, now: datetime, lease: timedelta, limit: int, claimant: str
    ) -> list[Due]:
        """Due deliveries, claimed by ``claimant`` for ``lease``: no other worker takes them
        until it ends (rows another worker is claiming are skipped)."""
        rows = (
            await self._conn.execute(
                select(webhook_deliveries)
                .where(
                    webhook_deliveries.c.status == DeliveryStatus.PENDING.value,
                    webhook_deliveries.c.next_attempt_at <= now,
                )
                .order_by(webhook_deliveries.c.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return []
        await self._conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id.in_([row.id for row in rows]))
            .values(next_attempt_at=now + lease, claimed_by=claimant, claimed_until=now + lease)
        )
        events = await self._events({row.event_id for row in rows})
        ends = await self._conn.execute(
            select(webhook_endpoints).where(
                webhook_endpoints.c.endpoint_id.in_({row.endpoint_id for row in rows})
            )
        )
        endpoints = {e.endpoint_id: e for e in map(self._endpoint, ends)}
        return [
            Due(_delivery(row), events[row.event_id], endpoints[row.endpoint_id]) for row in rows
        ]

    async def _events(self, event_ids: Collection[str]) -> dict[str, Event]:
        rows = await self._conn.execute(
            select(webhook_events).where(webhook_events.c.event_id.in_(event_ids))
        )
        return {
            row.event_id: Event(
                row.event_id, row.merchant_id, row.order_id, row.type, row.created_at, row.body
            )
            for row in rows
        }

    async def record(self, delivery: WebhookDelivery, attempt: Attempt, claimant: str) -> None:
        """Keeps the attempt; moves the delivery on by it while ``claimant`` still holds it
        (a claim that ran out and was taken by another worker is that worker's now)."""
        assert delivery.id is not None
        row = (
            await self._conn.execute(
                select(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery.id)
                .with_for_update()
            )
        ).one()
        await self._conn.execute(insert(webhook_attempts), [_attempt_row(delivery.id, attempt)])
        if row.claimed_by != claimant or row.status != DeliveryStatus.PENDING.value:
            return
        current = _delivery(row)
        current.record(attempt)
        await self._conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery.id)
            .values(
                status=current.status.value,
                attempts=current.attempts,
                next_attempt_at=current.next_attempt_at,
                claimed_by=None,
                claimed_until=None,
            )
        )

    async def send_again(self, merchant_id: str, delivery_id: int, now: datetime) -> bool:
        """Makes the merchant's delivery due now, unless it is being sent; whether it did."""
        row = (
            await self._conn.execute(
                select(webhook_deliveries)
                .where(
                    webhook_deliveries.c.id == delivery_id,
                    webhook_deliveries.c.merchant_id == merchant_id,
                    webhook_deliveries.c.status != DeliveryStatus.CANCELED.value,
                    or_(
                        webhook_deliveries.c.claimed_until.is_(None),
                        webhook_deliveries.c.claimed_until <= now,
                    ),
                )
                .with_for_update()
            )
        ).first()
        if row is None:
            return False
        delivery = _delivery(row)
        delivery.send_again(now)
        await self._conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery_id)
            .values(
                status=delivery.status.value,
                next_attempt_at=delivery.next_attempt_at,
                give_up_at=delivery.give_up_at,
            )
        )
        return True

    async def deliveries_of(
        self, merchant_id: str, limit: int, order_id: int | None = None
    ) -> list[WebhookDelivery]:
        """The merchant's latest deliveries (of one order), newest first, with attempts."""
        where = [webhook_deliveries.c.merchant_id == merchant_id]
        if order_id is not None:
            where.append(webhook_events.c.order_id == order_id)
        return await self._deliveries(where, limit)

    async def failed(self, limit: int) -> list[WebhookDelivery]:
        """The latest deliveries of any merchant given up, newest first, with attempts (for
        the operator console; no index leads to them: they are few, read from the table)."""
        return await self._deliveries(
            [webhook_deliveries.c.status == DeliveryStatus.FAILED.value], limit
        )

    async def delivery(self, delivery_id: int) -> WebhookDelivery | None:
        """The delivery, of any merchant, with its event's type and order."""
        found = await self._deliveries([webhook_deliveries.c.id == delivery_id], 1)
        return found[0] if found else None

    async def _deliveries(
        self, where: list[ColumnElement[bool]], limit: int
    ) -> list[WebhookDelivery]:
        query = (
            select(webhook_deliveries, webhook_events.c.type, orders.c.billnumber)
            .join(webhook_events, webhook_events.c.event_id == webhook_deliveries.c.event_id)
            .join(orders, orders.c.id == webhook_events.c.order_id)
            .where(*where)
            .order_by(webhook_deliveries.c.id.desc())
            .limit(limit)
        )
        found = []
        for row in await self._conn.execute(query):
            delivery = _delivery(row)
            delivery.event_type, delivery.billnumber = row.type, row.billnumber
            found.append(delivery)
        if found:
            attempts = await self._conn.execute(
                select(webhook_attempts)
                .where(webhook_attempts.c.delivery_id.in_([d.id for d in found]))
                .order_by(webhook_attempts.c.id)
            )
            by_id = {d.id: d for d in found}
            for a in attempts:
                by_id[a.delivery_id].history.append(
                    Attempt(a.at, a.http_status, a.duration_ms, a.error, a.answer)
                )
        return found


def _delivery(row: Row[Any]) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        event_id=row.event_id,
        endpoint_id=row.endpoint_id,
        merchant_id=row.merchant_id,
        created_at=row.created_at,
        give_up_at=row.give_up_at,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
    )


def _attempt_row(delivery_id: int, attempt: Attempt) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "at": attempt.at,
        "http_status": attempt.http_status,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "answer": attempt.answer,
    }


async def write_events(
    conn: AsyncConnection, entities: Iterable[Order | Operation | Transaction]
) -> None:
    """Writes the webhook events of the changes the commit records, with a delivery to each
    endpoint that wants one — in the commit itself. A commit that changes no order's state and
    ends no operation reads nothing; one of a merchant without endpoints reads its endpoints."""
    seen = list(entities)
    changed: dict[int, Order] = {}
    changes: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    ended: dict[int, list[Operation]] = defaultdict(list)
    for entity in seen:
        if isinstance(entity, Order) and entity.id is not None:
            changed[entity.id] = entity
            changes[entity.id] += [
                (e.new, e.at) for e in entity.events if OrderState(e.new) in ORDER_EVENTS
            ]
        elif (
            isinstance(entity, Operation)
            and entity.events
            and entity.status is not OperationStatus.IN_PROCESS
        ):
            ended[entity.order_id].append(entity)
    wanted = {i for i, made in changes.items() if made} | set(ended)
    if not wanted:
        return
    missing = wanted - changed.keys()
    if missing:
        for order in await OrderRepository(conn, lambda _: None).many(missing):
            assert order.id is not None
            changed[order.id] = order
    merchants = {changed[i].merchant_id for i in wanted}
    endpoints = [
        Endpoint(row.endpoint_id, row.merchant_id, "", tuple(row.event_types), "", row.created_at)
        for row in await conn.execute(
            select(
                webhook_endpoints.c.endpoint_id,
                webhook_endpoints.c.merchant_id,
                webhook_endpoints.c.event_types,
                webhook_endpoints.c.created_at,
            ).where(
                webhook_endpoints.c.merchant_id.in_(merchants),
                webhook_endpoints.c.removed_at.is_(None),
            )
        )
    ]
    if not endpoints:
        return
    methods = await _return_methods(conn, [op for ops in ended.values() for op in ops])
    events = [
        event
        for i in sorted(wanted)
        for event in events_of(changed[i], changes[i], ended[i], methods)
    ]
    deliveries = [
        new_delivery(event, endpoint)
        for event in events
        for endpoint in endpoints
        if endpoint.merchant_id == event.merchant_id and endpoint.wants(event.type)
    ]
    if not deliveries:
        return
    sent = {d.event_id for d in deliveries}
    await conn.execute(
        insert(webhook_events),
        [
            {
                "event_id": e.event_id,
                "merchant_id": e.merchant_id,
                "order_id": e.order_id,
                "type": e.type,
                "body": e.body,
                "created_at": e.created_at,
            }
            for e in events
            if e.event_id in sent
        ],
    )
    await conn.execute(
        insert(webhook_deliveries),
        [
            {
                "event_id": d.event_id,
                "endpoint_id": d.endpoint_id,
                "merchant_id": d.merchant_id,
                "status": d.status.value,
                "attempts": 0,
                "next_attempt_at": d.next_attempt_at,
                "give_up_at": d.give_up_at,
                "created_at": d.created_at,
            }
            for d in deliveries
        ],
    )


async def _return_methods(
    conn: AsyncConnection, operations: Collection[Operation]
) -> dict[int, str | None]:
    """How each successful cancel among ``operations`` gave the money back."""
    cancels = [op.id for op in operations if op.id is not None and op.kind is OperationKind.CANCEL]
    if not cancels:
        return {}
    kinds: dict[int, set[TransactionKind]] = defaultdict(set)
    rows = await conn.execute(
        select(transactions.c.operation_id, transactions.c.kind).where(
            transactions.c.operation_id.in_(cancels)
        )
    )
    for row in rows:
        kinds[row.operation_id].add(TransactionKind(row.kind))
    return {op_id: return_method(kinds[op_id]) for op_id in cancels}
