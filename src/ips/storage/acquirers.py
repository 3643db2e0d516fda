"""The acquirers the operator added, in the database (``domain/acquirers.py``)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.acquirers import Acquirer, Rules
from ips.domain.money import currency
from ips.storage.tables import acquirers


class AcquirerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def all(self) -> list[Acquirer]:
        rows = await self._conn.execute(select(acquirers).order_by(acquirers.c.name))
        return [_acquirer(row) for row in rows]

    async def get(self, name: str, *, lock: bool = False) -> Acquirer | None:
        query = select(acquirers).where(acquirers.c.name == name)
        row = (await self._conn.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else _acquirer(row)

    async def add(self, acquirer: Acquirer, now: datetime) -> None:
        await self._conn.execute(
            insert(acquirers).values(name=acquirer.name, created_at=now, **_values(acquirer))
        )

    async def save(self, acquirer: Acquirer) -> None:
        await self._conn.execute(
            update(acquirers).where(acquirers.c.name == acquirer.name).values(**_values(acquirer))
        )


def _values(acquirer: Acquirer) -> dict[str, Any]:
    rules = acquirer.rules
    return {
        "processing": acquirer.processing,
        "processing_http": acquirer.processing_http,
        "terminal_id": acquirer.terminal_id,
        "terminal_pool": ",".join(acquirer.terminal_pool),
        "acquirer_id": acquirer.acquirer_id,
        "currencies": ",".join(c.code for c in rules.currencies),
        "double_stage": rules.double_stage,
        "stored_card_double_stage": rules.stored_card_double_stage,
        "card_on_file": rules.card_on_file,
        "require_3ds": rules.require_3ds,
        "settlement_cutoff": acquirer.settlement_cutoff.isoformat(),
        "disabled": acquirer.disabled,
    }


def _acquirer(row: Row[Any]) -> Acquirer:
    return Acquirer(
        name=row.name,
        processing=row.processing,
        processing_http=row.processing_http,
        terminal_id=row.terminal_id,
        terminal_pool=tuple(t for t in row.terminal_pool.split(",") if t),
        acquirer_id=row.acquirer_id,
        rules=Rules(
            double_stage=row.double_stage,
            stored_card_double_stage=row.stored_card_double_stage,
            card_on_file=row.card_on_file,
            require_3ds=row.require_3ds,
            currencies=tuple(currency(c) for c in row.currencies.split(",") if c),
        ),
        settlement_cutoff=time.fromisoformat(row.settlement_cutoff),
        disabled=row.disabled,
    )
