"""Settlement batches as the operator console shows them: those of a business day, by state
and acquirer, with their totals; one batch with its members.

A batch's day is its settlement period (the day of its acquirer's cut-off, UTC), or for a
batch closed by hand (``ips settle``), which has none, the UTC day it was closed on. So the
batch of yesterday's period is yesterday's even when a node that was down closed it this
morning.

The totals are summed by the database, per acquirer and currency, over the same batches
as the list (``uow.console``); an out-of-balance batch is counted apart, for an operator to
send again (``settlement.send_again``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ips.domain.errors import NotFound
from ips.domain.money import Currency, Money
from ips.domain.orders import Transaction, TransactionKind
from ips.domain.settlement import BatchStatus, SettlementBatch
from ips.services.unit_of_work import UnitOfWorkFactory

LIMIT = 500
"""The most batches one list shows: a day has a batch per acquirer and currency."""


@dataclass(frozen=True)
class BatchFilter:
    day: date | None = None
    """Of this business day; None: of any day (then ``status`` names the state wanted)."""
    status: BatchStatus | None = None
    acquirer: str = ""


@dataclass(frozen=True)
class BatchRow:
    batch: SettlementBatch
    sending_until: datetime | None
    """While a node sends it: when its lease ends."""

    @property
    def day(self) -> date:
        return self.batch.period or self.batch.created_at.date()

    def money(self, minor: int) -> Money:
        return Money(minor, self.batch.currency)


@dataclass(frozen=True)
class BatchTotal:
    """The batches of one acquirer and currency: how many, how many out of balance, and
    what they carry."""

    acquirer: str
    currency: Currency
    batches: int
    out_of_balance: int
    debits: int
    debit_total: Money
    credits: int
    credit_total: Money


@dataclass(frozen=True)
class BatchList:
    rows: list[BatchRow]
    totals: list[BatchTotal]


@dataclass(frozen=True)
class Member:
    """A debit or credit of a batch, and the order it belongs to."""

    transaction: Transaction
    billnumber: str
    merchant_id: str

    @property
    def credit(self) -> bool:
        return self.transaction.kind is TransactionKind.REFUND


@dataclass(frozen=True)
class BatchDetails:
    row: BatchRow
    members: list[Member]


async def batches(filter: BatchFilter, uow_factory: UnitOfWorkFactory) -> BatchList:
    """The batches of the filter, newest first, and their totals."""
    async with uow_factory(readonly=True) as uow:
        rows = await uow.console.batches(filter, LIMIT)
        totals = await uow.console.batch_totals(filter)
    return BatchList(rows, totals)


async def batch_details(batch_id: int, uow_factory: UnitOfWorkFactory) -> BatchDetails:
    async with uow_factory(readonly=True) as uow:
        row = await uow.console.batch(batch_id)
        if row is None:
            raise NotFound(f"no batch {batch_id}")
        members = await uow.transactions.of_batch(batch_id)
        orders = {o.id: o for o in await uow.orders.many({t.order_id for t in members})}
    return BatchDetails(
        row,
        [Member(t, orders[t.order_id].billnumber, orders[t.order_id].merchant_id) for t in members],
    )
