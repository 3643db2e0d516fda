"""The CVCs kept across 3-D Secure (``services/cvc.py``), sealed: written, taken, purged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.storage.tables import kept_cvcs


class CvcRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def keep(self, payment_id: int, sealed: str, until: datetime) -> None:
        await self._conn.execute(
            insert(kept_cvcs).values(operation_id=payment_id, sealed=sealed, until=until)
        )

    async def take(self, payment_id: int, now: datetime) -> str | None:
        """Deletes the payment's CVC and returns it, in one statement; ``None`` when there was
        none, or its time was up at ``now`` (it is deleted all the same)."""
        taken = await self._conn.execute(
            delete(kept_cvcs)
            .where(kept_cvcs.c.operation_id == payment_id)
            .returning(kept_cvcs.c.sealed, kept_cvcs.c.until)
        )
        row = taken.first()
        return row.sealed if row is not None and row.until > now else None

    async def purge(self, now: datetime) -> int:
        """Deletes the CVCs whose time is up at ``now``; how many."""
        purged = await self._conn.execute(delete(kept_cvcs).where(kept_cvcs.c.until <= now))
        return purged.rowcount
