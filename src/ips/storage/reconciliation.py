"""The differences reconciliation keeps, in the database (``services/reconciliation.py``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.reconciliation import Difference
from ips.storage.tables import reconciliation_differences as differences


class DifferenceRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def open(self, acquirer: str, *, lock: bool = False) -> dict[int, Difference]:
        """The acquirer's differences not resolved yet, by id."""
        query = (
            select(differences)
            .where(differences.c.acquirer == acquirer, differences.c.resolved_at.is_(None))
            .order_by(differences.c.terminal_id, differences.c.rrn, differences.c.what)
        )
        rows = await self._conn.execute(query.with_for_update() if lock else query)
        return {
            row.id: Difference(row.terminal_id, row.rrn, row.what, row.ips, row.bank, row.found_at)
            for row in rows
        }

    async def add(self, acquirer: str, found: Collection[Difference], now: datetime) -> None:
        if found:
            await self._conn.execute(
                insert(differences),
                [
                    {
                        "acquirer": acquirer,
                        "terminal_id": d.terminal_id,
                        "rrn": d.rrn,
                        "what": d.what,
                        "ips": d.ips,
                        "bank": d.bank,
                        "found_at": now,
                        "seen_at": now,
                    }
                    for d in found
                ],
            )

    async def seen(self, ids: Collection[int], now: datetime) -> None:
        if ids:
            await self._conn.execute(
                update(differences).where(differences.c.id.in_(ids)).values(seen_at=now)
            )

    async def resolve(self, ids: Collection[int], now: datetime) -> None:
        if ids:
            await self._conn.execute(
                update(differences).where(differences.c.id.in_(ids)).values(resolved_at=now)
            )
