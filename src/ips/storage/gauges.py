"""The figures a scrape of the metrics reads (``domain/gauges.py``): a few aggregates, each
one statement.

The outboxes are counted through their partial indexes of pending rows
(``ix_notifications_due``, ``ix_webhook_deliveries_due``); batches and differences are small
tables. The open holds are found as the janitor finds those to release
(``OrderRepository.holding_since_before``), by the books of every order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.gauges import Count, Holds, Outbox
from ips.domain.notifications import NotificationStatus
from ips.domain.orders import OperationKind, PaymentMeans
from ips.domain.states import OperationStatus
from ips.domain.webhooks import DeliveryStatus
from ips.storage.tables import (
    notifications,
    operations,
    orders,
    reconciliation_differences,
    settlement_batches,
    webhook_deliveries,
)


class GaugeQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def notifications(self) -> Outbox:
        return await self._outbox(notifications, NotificationStatus.PENDING.value)

    async def webhooks(self) -> Outbox:
        return await self._outbox(webhook_deliveries, DeliveryStatus.PENDING.value)

    async def _outbox(self, table: Table, pending: str) -> Outbox:
        query = select(func.count(), func.min(table.c.created_at)).where(table.c.status == pending)
        count, oldest = (await self._conn.execute(query)).one()
        return Outbox(int(count), oldest)

    async def holds(self) -> list[Holds]:
        """By currency, of the orders whose books hold money not confirmed, released or
        cancelled; each hold placed when its payment ended."""
        o, op = orders.c, operations.c
        unconfirmed = o.held - o.confirmed - o.released - o.hold_cancelled
        payment = and_(
            op.order_id == o.id,
            op.kind == OperationKind.PAYMENT.value,
            op.status == OperationStatus.SUCCESS.value,
            op.means != PaymentMeans.POINTS.value,
        )
        query = (
            select(o.books_currency, func.count(), func.sum(unconfirmed), func.min(op.finished_at))
            .select_from(orders.join(operations, payment))
            .where(unconfirmed > 0)
            .group_by(o.books_currency)
            .order_by(o.books_currency)
        )
        return [
            Holds(currency, int(count), int(amount), oldest)
            for currency, count, amount, oldest in await self._conn.execute(query)
        ]

    async def batches(self) -> list[Count]:
        """By acquirer and status."""
        b = settlement_batches.c
        query = (
            select(b.acquirer, b.status, func.count())
            .group_by(b.acquirer, b.status)
            .order_by(b.acquirer, b.status)
        )
        return [Count((acquirer, state), n) for acquirer, state, n in await self._rows(query)]

    async def differences(self) -> list[Count]:
        """By acquirer, open or resolved."""
        d = reconciliation_differences.c
        state = case((d.resolved_at.is_(None), "open"), else_="resolved")
        query = (
            select(d.acquirer, state, func.count())
            .group_by(d.acquirer, state)
            .order_by(d.acquirer, state)
        )
        return [Count((acquirer, kind), n) for acquirer, kind, n in await self._rows(query)]

    async def _rows(self, query: Select[Any]) -> list[tuple[str, str, int]]:
        return [(str(a), str(b), int(n)) for a, b, n in await self._conn.execute(query)]
