"""Settlement batches: the financial transactions of successful payments, sent together.

A batch holds the debits (paid or confirmed amounts) and credits (refunds) of one acquirer
and currency that were still unsent when it was closed. It is ``closing`` while its advices and its
totals are being sent, ``accepted`` once the processing center found the totals in balance
and posted them, ``out_of_balance`` when it did not after a resend (an operator looks, and
may send it again: ``SettlementBatch.send_again``).

A settlement period is named by the day of its acquirer's cut-off (in UTC;
``IPS_SETTLEMENT_CUTOFF`` for the default acquirer): the period of 1 December closes at the
cut-off of 1 December, with the transactions made before it. The schedule closes each
acquirer's period once, into one batch per currency; a batch closed
by hand (``ips settle``) belongs to no period.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ips.domain.acquirers import DEFAULT_ACQUIRER
from ips.domain.errors import Refused
from ips.domain.money import Currency


class BatchStatus(enum.Enum):
    CLOSING = "closing"
    ACCEPTED = "accepted"
    OUT_OF_BALANCE = "out_of_balance"


@dataclass
class SettlementBatch:
    currency: Currency
    created_at: datetime
    debits: int = 0
    debit_total: int = 0
    credits: int = 0
    credit_total: int = 0
    status: BatchStatus = BatchStatus.CLOSING
    attempts: int = 0
    updated_at: datetime | None = None
    period: date | None = None
    """The settlement period it closes; None when it was closed by hand."""
    acquirer: str = DEFAULT_ACQUIRER
    id: int | None = None

    def add(self, amount: int, *, credit: bool) -> None:
        if credit:
            self.credits += 1
            self.credit_total += amount
        else:
            self.debits += 1
            self.debit_total += amount

    def send_again(self, now: datetime) -> None:
        """An operator's "resend" of a batch left out of balance: it is ``closing`` again,
        and the settlement schedule sends it whole, as repeats (its advices are kept once
        by the processing center, which changed nothing when it refused the totals). A batch
        still ``closing`` is sent again by the schedule anyway; an accepted one never."""
        if self.status is not BatchStatus.OUT_OF_BALANCE:
            raise Refused(
                "the batch is accepted: it is never sent again"
                if self.status is BatchStatus.ACCEPTED
                else "the batch is being sent: the workers send it until it is answered"
            )
        self.status, self.updated_at = BatchStatus.CLOSING, now


def due_period(now: datetime, cutoff: time) -> date:
    """The latest period whose cut-off is at or before ``now``."""
    today = now.astimezone(UTC).date()
    return today if now >= closes_at(today, cutoff) else today - timedelta(days=1)


def closes_at(period: date, cutoff: time) -> datetime:
    """The moment the period ends: its day's cut-off."""
    return datetime.combine(period, cutoff, tzinfo=UTC)
