"""The points report's reads and writes (``services/points_report.py``): a day's spends and
give-backs of points in one query, and the differences the program answered
(``points_differences``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.orders import OperationKind, PaymentMeans, TransactionKind
from ips.domain.states import OperationStatus, TransactionStatus
from ips.processing.loyalty import Difference, PointsOperation
from ips.services.points_report import REPORTED, KeptDifference, PointsExchange
from ips.storage.tables import operations, orders, points_differences, transactions

_t, _p, _d = transactions.c, operations.c, points_differences.c


class PointsQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def exchanges(self, start: datetime, end: datetime) -> list[PointsExchange]:
        """The spends and give-backs under way or answered in [start, end) — made before
        ``end``, last changed at or after ``start`` — whatever their status, each with its
        order's merchant and points payment; by merchant, then as they were last changed."""
        payment = operations.alias("payment")
        rows = await self._conn.execute(
            select(
                orders.c.merchant_id,
                _t.kind,
                _t.reference,
                _t.status,
                _t.updated_at,
                _t.amount_minor,
                payment.c.amount_minor.label("payment_minor"),
                payment.c.points.label("payment_points"),
                _t.points,
            )
            .select_from(transactions)
            .join(orders, orders.c.id == _t.order_id)
            .outerjoin(
                payment,
                and_(
                    payment.c.order_id == _t.order_id,
                    payment.c.kind == OperationKind.PAYMENT.value,
                    payment.c.means == PaymentMeans.POINTS.value,
                    payment.c.status == OperationStatus.SUCCESS.value,
                ),
            )
            .where(
                # literal kinds: only a query naming them can use the partial index
                _t.kind.in_(bindparam("kinds", [k.value for k in REPORTED], literal_execute=True)),
                _t.updated_at >= start,
                _t.created_at < end,
            )
            .order_by(orders.c.merchant_id, _t.updated_at, _t.id)
        )
        return [_exchange(row) for row in rows]

    async def differences(self, day: date) -> list[KeptDifference]:
        """The differences kept for ``day``, by merchant, then as the program answered them."""
        rows = await self._conn.execute(
            select(points_differences).where(_d.day == day).order_by(_d.merchant_id, _d.id)
        )
        return [_kept(row) for row in rows]

    async def replace_differences(
        self,
        day: date,
        merchant_id: str,
        differences: Sequence[Difference],
        reported_at: datetime,
    ) -> None:
        """The differences of ``day`` and ``merchant_id`` are now ``differences``."""
        await self._conn.execute(
            delete(points_differences).where(_d.day == day, _d.merchant_id == merchant_id)
        )
        if differences:
            await self._conn.execute(
                insert(points_differences),
                [
                    {
                        "day": day,
                        "merchant_id": merchant_id,
                        "reference": d.reference,
                        "kind": d.kind.value,
                        "ips_points": d.ips_points,
                        "program_points": d.program_points,
                        "reported_at": reported_at,
                    }
                    for d in differences
                ],
            )


def _exchange(row: Any) -> PointsExchange:
    return PointsExchange(
        merchant_id=row.merchant_id,
        kind=TransactionKind(row.kind),
        reference=row.reference,
        status=TransactionStatus(row.status),
        updated_at=row.updated_at,
        amount_minor=row.amount_minor,
        payment_minor=row.payment_minor,
        payment_points=row.payment_points,
        recorded=row.points,
    )


def _kept(row: Row[Any]) -> KeptDifference:
    return KeptDifference(
        day=row.day,
        merchant_id=row.merchant_id,
        difference=Difference(
            reference=row.reference,
            kind=PointsOperation(row.kind),
            ips_points=row.ips_points,
            program_points=row.program_points,
        ),
        reported_at=row.reported_at,
    )
