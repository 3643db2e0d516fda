"""Each day's points operations reported to the points program, and the differences it answers
kept (issue 13: "The points operations are not in the processing center's settlement
batches; they are reported to the program").

A day is a UTC day. IPS's points operations of a day are its exchanges with the program that
the program approved that day (``transactions.updated_at``, status ``approved``):

- a spend (``points_spend``): ``PointsOperation.SPEND`` under the reservation's reference,
  with the points of the points payment;
- a give-back (``points_give_back``): ``PointsOperation.GIVE_BACK`` under its own reference,
  with the points it gave back.

Each counts its money value over what one point of its order's points payment is worth (a
spend's value is the whole payment's: all its points). Releases move no points and are not
reported. Accruals and their reversals (``PointsOperation.ACCRUAL``, ``ACCRUAL_REVERSAL``) are
reported by the program's rules too, but IPS makes none yet: once it does, their exchanges
join ``REPORTED`` and ``PointsExchange.points`` (see there).

The merchants asked about: each with a spend or a give-back *under way or answered* that day
(its exchange made before the day's end and last changed after its start, approved or not),
so that an operation the program booked while IPS's books do not have it approved on that day
shows as a difference; and each with differences kept for that day, so that they go once the
books agree. Each merchant's report is one call; a merchant the program does not answer keeps
the differences it had, the others go on.

No unit of work is open while the program is asked: the day is read (one unit of work, one
query for its exchanges), the program asked merchant by merchant, and each answer written in a
unit of work of its own, replacing what was kept for that day and merchant
(``points_differences``) — so a report made again is the latest word, and a difference
resolved since is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ips.domain.audit import Actor, Subject
from ips.domain.orders import TransactionKind
from ips.domain.states import TransactionStatus
from ips.processing.loyalty import Difference, Loyalty, PointsOperation, ReportLine
from ips.processing.port import NoAnswer
from ips.services.audit import note
from ips.services.gateway import Gateway
from ips.services.points_exchanges import loyalty_of

log = logging.getLogger(__name__)

REPORTED = {
    TransactionKind.POINTS_SPEND: PointsOperation.SPEND,
    TransactionKind.POINTS_GIVE_BACK: PointsOperation.GIVE_BACK,
    TransactionKind.POINTS_ACCRUAL: PointsOperation.ACCRUAL,
    TransactionKind.POINTS_ACCRUAL_REVERSAL: PointsOperation.ACCRUAL_REVERSAL,
}
"""The exchanges with the program that a report names, and as what."""


@dataclass(frozen=True)
class PointsExchange:
    """A spend or give-back of points as IPS's books keep it (``uow.points``)."""

    merchant_id: str
    kind: TransactionKind
    reference: str
    status: TransactionStatus
    updated_at: datetime
    amount_minor: int
    """What the exchange moved, in money."""
    payment_minor: int | None
    payment_points: int | None
    """The order's points payment: what it was worth, and its points."""
    recorded: int | None = None
    """The points the program said it moved (an accrual's, its reversal's)."""

    @property
    def points(self) -> int:
        """The points it moved: as recorded, else its money over the worth of one point of
        the payment."""
        if self.recorded is not None:
            return self.recorded
        assert self.payment_minor and self.payment_points
        return self.amount_minor // (self.payment_minor // self.payment_points)

    def line(self) -> ReportLine:
        return ReportLine(self.reference, REPORTED[self.kind], self.points)


@dataclass(frozen=True)
class KeptDifference:
    """A difference the program answered for a day's report of a merchant, as kept."""

    day: date
    merchant_id: str
    difference: Difference
    reported_at: datetime


@dataclass(frozen=True)
class MerchantReport:
    merchant_id: str
    operations: int
    """The lines IPS reported."""
    differences: list[Difference] | None
    """What the program answered; ``None`` when it did not answer."""


@dataclass(frozen=True)
class ReportResult:
    day: date
    merchants: list[MerchantReport]
    """By merchant id."""

    @property
    def agreed(self) -> bool:
        """Every merchant reported and answered with no difference."""
        return all(m.differences == [] for m in self.merchants)


def day_span(day: date) -> tuple[datetime, datetime]:
    """The UTC day ``day`` as [start, end)."""
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


async def report_points(day: date, gateway: Gateway, *, actor: Actor | None = None) -> ReportResult:
    """Reports ``day``'s points operations to the program, merchant by merchant, and keeps
    the differences it answers (see the module). ``Refused`` when no program is connected.
    With ``actor``, the audit trail keeps each merchant's report that was answered."""
    loyalty = loyalty_of(gateway)
    start, end = day_span(day)
    async with gateway.uow_factory(readonly=True) as uow:
        exchanges = await uow.points.exchanges(start, end)
        kept = await uow.points.differences(day)
    lines = lines_by_merchant(exchanges, start, end)
    for difference in kept:
        lines.setdefault(difference.merchant_id, [])
    reports = [
        await _report(day, merchant_id, lines[merchant_id], loyalty, gateway, actor)
        for merchant_id in sorted(lines)
    ]
    return ReportResult(day, reports)


def lines_by_merchant(
    exchanges: Iterable[PointsExchange], start: datetime, end: datetime
) -> dict[str, list[ReportLine]]:
    """The lines of each merchant with an exchange among ``exchanges`` (none for a merchant
    whose exchanges were not approved within [start, end))."""
    lines: dict[str, list[ReportLine]] = {}
    for exchange in exchanges:
        of_merchant = lines.setdefault(exchange.merchant_id, [])
        if exchange.status is TransactionStatus.APPROVED and start <= exchange.updated_at < end:
            of_merchant.append(exchange.line())
    return lines


async def _report(
    day: date, merchant_id: str, lines: list[ReportLine], loyalty: Loyalty, gateway: Gateway,
    actor: Actor | None,
) -> MerchantReport:  # fmt: skip
    try:
        differences = await loyalty.report(day, merchant_id, lines)
    except NoAnswer as exc:
        log.warning("the report of merchant %s for %s: %s", merchant_id, day, exc)
        return MerchantReport(merchant_id, len(lines), None)
    async with gateway.uow_factory() as uow:
        now = gateway.clock()
        await uow.points.replace_differences(day, merchant_id, differences, now)
        if actor is not None:
            await note(
                uow, actor, "points.report", Subject("merchant", merchant_id, merchant_id), now,
                after={"day": day.isoformat(), "operations": len(lines),
                       "differences": len(differences)},
            )  # fmt: skip
        await uow.commit()
    if differences:
        log.warning(
            "the points program's books of %s differ from IPS's for merchant %s: %d",
            day,
            merchant_id,
            len(differences),
        )
    return MerchantReport(merchant_id, len(lines), differences)
