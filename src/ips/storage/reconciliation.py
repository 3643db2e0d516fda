"""The differences reconciliation keeps, in the database (``services/reconciliation.py``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.reconciliation import Difference, KeptDifference
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

    async def listed(
        self, *, resolved: bool, acquirer: str = "", limit: int
    ) -> list[KeptDifference]:
        """The open (or the resolved) differences, of ``acquirer`` or of all, latest found
        (or resolved) first."""
        c = differences.c
        latest = c.resolved_at if resolved else c.found_at
        query = (
            select(differences)
            .where(c.resolved_at.is_not(None) if resolved else c.resolved_at.is_(None))
            .order_by(latest.desc(), c.id.desc())
            .limit(limit)
        )
        if acquirer:
            query = query.where(c.acquirer == acquirer)
        return [
            KeptDifference(
                row.id,
                row.acquirer,
                Difference(row.terminal_id, row.rrn, row.what, row.ips, row.bank, row.found_at),
                row.seen_at,
                row.resolved_at,
            )
            for row in await self._conn.execute(query)
        ]

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
