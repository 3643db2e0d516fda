"""The audit trail's entries, in the database: added, read, never changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.audit import Actor, ActorKind, AuditEntry, Subject
from ips.storage.tables import audit_records as records


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        Actor(ActorKind(row.actor_kind), row.actor, row.source, row.actor_merchant_id),
        row.action,
        Subject(row.subject_kind, row.subject_key, row.merchant_id, row.billnumber),
        row.at,
        row.before,
        row.after,
        row.id,
    )


class AuditRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, entry: AuditEntry) -> None:
        await self._conn.execute(
            insert(records).values(
                at=entry.at,
                actor_kind=entry.actor.kind.value,
                actor=entry.actor.name,
                actor_merchant_id=entry.actor.merchant_id,
                source=entry.actor.source,
                action=entry.action,
                subject_kind=entry.subject.kind,
                subject_key=entry.subject.key,
                merchant_id=entry.subject.merchant_id,
                billnumber=entry.subject.billnumber,
                before=dict(entry.before) if entry.before is not None else None,
                after=dict(entry.after) if entry.after is not None else None,
            )
        )

    async def latest(
        self,
        limit: int,
        *,
        before_id: int | None = None,
        merchant_id: str | None = None,
        billnumber: str | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        """The newest entries first, those older than ``before_id`` when it is given, of the
        merchant, order, actor or action asked for."""
        query = select(records).order_by(records.c.id.desc()).limit(limit)
        for column, value in (
            (records.c.merchant_id, merchant_id),
            (records.c.billnumber, billnumber),
            (records.c.actor, actor),
            (records.c.action, action),
        ):
            if value is not None:
                query = query.where(column == value)
        if before_id is not None:
            query = query.where(records.c.id < before_id)
        return [_entry(row) for row in await self._conn.execute(query)]
