"""Settlement batches: the financial transactions of successful payments, sent together.

A batch holds the debits (paid or confirmed amounts) and credits (refunds) of one currency
that were still unsent when it was closed. It is ``closing`` while its advices and its
totals are being sent, ``accepted`` once the processing center found the totals in balance
and posted them, ``out_of_balance`` when it did not after a resend (an operator looks).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

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
    id: int | None = None

    def add(self, amount: int, *, credit: bool) -> None:
        if credit:
            self.credits += 1
            self.credit_total += amount
        else:
            self.debits += 1
            self.debit_total += amount
