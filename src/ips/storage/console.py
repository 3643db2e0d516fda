"""The operator console's reads across merchants (``uow.console``): settlement batches by day
with their totals summed in SQL, orders left in process, and the look-ups that find an
order by what an operator is told of a payment (an approval code, an RRN).

Unlike the Order Monitor's, these statements are not scoped by a merchant: the console is
the operator's own staff's. Its lists are short and read by people, a few times an hour;
those that no index serves (orders in process by age, an approval code) read the table as
the janitor's sweep does, and stop at their limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.money import Money, currency
from ips.domain.settlement import BatchStatus
from ips.domain.states import OrderState
from ips.services.batches import BatchFilter, BatchRow, BatchTotal
from ips.storage.repositories import batch_of
from ips.storage.tables import operations, orders, settlement_batches, transactions

_b = settlement_batches.c


def _batch_where(filter: BatchFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filter.day is not None:
        start = datetime.combine(filter.day, time(), UTC)
        by_hand = and_(
            _b.period.is_(None), _b.created_at >= start, _b.created_at < start + timedelta(days=1)
        )
        conditions.append(or_(_b.period == filter.day, by_hand))
    if filter.status is not None:
        conditions.append(_b.status == filter.status.value)
    if filter.acquirer:
        conditions.append(_b.acquirer == filter.acquirer)
    return conditions


def _batch_row(row: Any) -> BatchRow:
    return BatchRow(batch_of(row), row.claimed_until)


class ConsoleQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def batches(self, filter: BatchFilter, limit: int) -> list[BatchRow]:
        query = (
            select(settlement_batches)
            .where(*_batch_where(filter))
            .order_by(_b.created_at.desc(), _b.id.desc())
            .limit(limit)
        )
        return [_batch_row(row) for row in await self._conn.execute(query)]

    async def batch(self, batch_id: int) -> BatchRow | None:
        query = select(settlement_batches).where(_b.id == batch_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _batch_row(row)

    async def batch_totals(self, filter: BatchFilter) -> list[BatchTotal]:
        out_of_balance = case((_b.status == BatchStatus.OUT_OF_BALANCE.value, 1), else_=0)
        query = (
            select(
                _b.acquirer,
                _b.currency,
                func.count(),
                func.sum(out_of_balance),
                func.sum(_b.debits),
                func.sum(_b.debit_total),
                func.sum(_b.credits),
                func.sum(_b.credit_total),
            )
            .where(*_batch_where(filter))
            .group_by(_b.acquirer, _b.currency)
            .order_by(_b.acquirer, _b.currency)
        )
        return [_total(row) for row in await self._conn.execute(query)]

    async def in_process_since_before(self, moment: datetime, limit: int) -> list[int]:
        """Ids of orders still ``In Process`` created before ``moment``, oldest first."""
        query = (
            select(orders.c.id)
            .where(orders.c.state == OrderState.IN_PROCESS.value, orders.c.created_at < moment)
            .order_by(orders.c.created_at, orders.c.id)
            .limit(limit)
        )
        return list((await self._conn.execute(query)).scalars())

    async def orders_of_approval_code(self, code: str, limit: int) -> list[int]:
        """Ids of the orders an operation of which the issuer approved with ``code``."""
        query = (
            select(operations.c.order_id)
            .where(operations.c.approval_code == code)
            .distinct()
            .order_by(operations.c.order_id.desc())
            .limit(limit)
        )
        return list((await self._conn.execute(query)).scalars())

    async def highest_transaction_id(self) -> int:
        query = select(func.max(transactions.c.id))
        highest: int | None = (await self._conn.execute(query)).scalar()
        return highest or 0


def _total(row: Sequence[Any]) -> BatchTotal:
    acquirer, code, count, out_of_balance, debits, debit_total, credits, credit_total = row
    cur = currency(code)
    return BatchTotal(
        acquirer,
        cur,
        count,
        int(out_of_balance),
        int(debits),
        Money(int(debit_total), cur),
        int(credits),
        Money(int(credit_total), cur),
    )
