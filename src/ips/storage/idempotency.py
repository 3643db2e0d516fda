"""The JSON API's idempotency keys in the database (``services/idempotency.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.idempotency import Remembered
from ips.storage.database import dialect_insert
from ips.storage.tables import idempotency_keys as keys


class IdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(self, merchant_id: str, key: str, fingerprint: str, now: datetime) -> bool:
        """Records the key as in flight unless the merchant used it already; whether it did."""
        added = await self._conn.execute(
            dialect_insert(self._conn)(keys)
            .values(merchant_id=merchant_id, key=key, fingerprint=fingerprint, created_at=now)
            .on_conflict_do_nothing(index_elements=[keys.c.merchant_id, keys.c.key])
        )
        return bool(added.rowcount)

    async def get(self, merchant_id: str, key: str) -> Remembered | None:
        row = (
            await self._conn.execute(
                select(keys).where(keys.c.merchant_id == merchant_id, keys.c.key == key)
            )
        ).first()
        if row is None:
            return None
        return Remembered(row.fingerprint, row.created_at, row.status, row.body)

    async def take_over(
        self, merchant_id: str, key: str, begun_before: datetime, now: datetime
    ) -> bool:
        """Takes over a key whose request has been in flight since before ``begun_before``
        (its node died); whether it did."""
        taken = await self._conn.execute(
            update(keys)
            .where(
                keys.c.merchant_id == merchant_id,
                keys.c.key == key,
                keys.c.status.is_(None),
                keys.c.created_at < begun_before,
            )
            .values(created_at=now)
        )
        return bool(taken.rowcount)

    async def answer(
        self, merchant_id: str, key: str, status: int, body: str, now: datetime
    ) -> None:
        await self._conn.execute(
            update(keys)
            .where(keys.c.merchant_id == merchant_id, keys.c.key == key)
            .values(status=status, body=body, finished_at=now)
        )

    async def forget(self, merchant_id: str, key: str) -> None:
        """Forgets a key still in flight (its request failed: it may be sent again)."""
        await self._conn.execute(
            delete(keys).where(
                keys.c.merchant_id == merchant_id, keys.c.key == key, keys.c.status.is_(None)
            )
        )

    async def forget_before(self, moment: datetime) -> int:
        gone = await self._conn.execute(delete(keys).where(keys.c.created_at < moment))
        return gone.rowcount or 0
