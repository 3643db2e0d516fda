"""The outbox of payment notifications and the record of their attempts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.notifications import (
    SENT_AGAIN_FROM,
    Attempt,
    Notification,
    NotificationStatus,
    Outcome,
)
from ips.storage.tables import notification_attempts, notifications


def _notification(row: Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        merchant_id=row.merchant_id,
        order_id=row.order_id,
        operation_id=row.operation_id,
        fields=row.fields,
        created_at=row.created_at,
        status=NotificationStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
    )


class NotificationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, notification: Notification) -> None:
        result = await self._conn.execute(
            insert(notifications)
            .values(
                merchant_id=notification.merchant_id,
                order_id=notification.order_id,
                operation_id=notification.operation_id,
                fields=notification.fields,
                status=notification.status.value,
                attempts=notification.attempts,
                next_attempt_at=notification.next_attempt_at,
                created_at=notification.created_at,
            )
            .returning(notifications.c.id)
        )
        notification.id = result.scalar_one()

    async def supersede_pending(self, order_id: int, succeeded_id: int) -> None:
        await self._conn.execute(
            update(notifications)
            .where(
                notifications.c.order_id == order_id,
                notifications.c.operation_id != succeeded_id,
                notifications.c.status == NotificationStatus.PENDING.value,
            )
            .values(status=NotificationStatus.SUPERSEDED.value, next_attempt_at=None)
        )

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Notification]:
        """Due notifications, put aside for ``lease`` so that no other worker takes them
        while they are being sent (rows another worker holds are skipped)."""
        rows = await self._conn.execute(
            select(notifications)
            .where(
                notifications.c.status == NotificationStatus.PENDING.value,
                notifications.c.next_attempt_at <= now,
            )
            .order_by(notifications.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        due = [_notification(row) for row in rows]
        if due:
            await self._conn.execute(
                update(notifications)
                .where(notifications.c.id.in_([n.id for n in due]))
                .values(next_attempt_at=now + lease)
            )
        return due

    async def get(self, notification_id: int, *, lock: bool = False) -> Notification | None:
        query = select(notifications).where(notifications.c.id == notification_id)
        row = (await self._conn.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else _notification(row)

    async def save(self, notification: Notification) -> None:
        """Writes the notification's state and the attempts recorded since it was read."""
        await self._conn.execute(
            update(notifications)
            .where(notifications.c.id == notification.id)
            .values(
                status=notification.status.value,
                attempts=notification.attempts,
                next_attempt_at=notification.next_attempt_at,
            )
        )
        if notification.history:
            await self._conn.execute(
                insert(notification_attempts),
                [
                    {
                        "notification_id": notification.id,
                        "at": attempt.at,
                        "outcome": attempt.outcome.value,
                        "http_status": attempt.http_status,
                        "answer": attempt.answer,
                        "error": attempt.error,
                    }
                    for attempt in notification.history
                ],
            )
            notification.history.clear()

    async def of_order(self, order_id: int) -> list[Notification]:
        rows = await self._conn.execute(
            select(notifications)
            .where(notifications.c.order_id == order_id)
            .order_by(notifications.c.id)
        )
        return await self._with_attempts([_notification(row) for row in rows])

    async def ended_undelivered(self, limit: int) -> list[Notification]:
        """The latest notifications of any merchant that ended without reaching the shop
        (given up or refused), newest first, each with its attempts. No index leads to them:
        they are few, and read from the table."""
        rows = await self._conn.execute(
            select(notifications)
            .where(notifications.c.status.in_(sorted(s.value for s in SENT_AGAIN_FROM)))
            .order_by(notifications.c.id.desc())
            .limit(limit)
        )
        return await self._with_attempts([_notification(row) for row in rows])

    async def _with_attempts(self, found: list[Notification]) -> list[Notification]:
        if not found:
            return found
        attempts = await self._conn.execute(
            select(notification_attempts)
            .where(notification_attempts.c.notification_id.in_([n.id for n in found]))
            .order_by(notification_attempts.c.id)
        )
        by_id = {n.id: n for n in found}
        for row in attempts:
            by_id[row.notification_id].history.append(
                Attempt(row.at, Outcome(row.outcome), row.http_status, row.answer, row.error)
            )
        return found
