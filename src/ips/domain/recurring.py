"""Recurring payments: the terms a buyer agreed to on a first order, and their check.

The first order carries ``RecurringIndicator=1`` with the least and the greatest amount of a
later payment, the least number of days between two of them, and the last day they may be
made. Each later payment (``/recurrent/rp.cfm``) is a new order paid with the first order's
card, the merchant initiating it: no CVC, no buyer on the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ips.domain.errors import InvalidInput, LimitExceeded, Refused, WrongValue
from ips.domain.money import Currency, Money

MAX_PERIOD_DAYS = 366
_DATE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")


@dataclass(frozen=True)
class RecurringTerms:
    min_amount: Money
    max_amount: Money
    period_days: int
    max_date: date

    @classmethod
    def parse(
        cls,
        min_amount: str,
        max_amount: str,
        period: str,
        max_date: str,
        cur: Currency,
        today: date,
    ) -> RecurringTerms:
        least = Money.parse(min_amount, cur) if min_amount.strip() else None
        most = Money.parse(max_amount, cur) if max_amount.strip() else None
        if least is None or most is None:
            raise InvalidInput(
                "RecurringMinAmount and RecurringMaxAmount are required", field="recurring"
            )
        if least.minor > most.minor:
            raise InvalidInput("RecurringMinAmount is above RecurringMaxAmount", field="recurring")
        if not re.fullmatch(r"[0-9]{1,3}", period.strip()) or not (
            1 <= int(period) <= MAX_PERIOD_DAYS
        ):
            raise InvalidInput(
                f"RecurringPeriod is a number of days, 1 to {MAX_PERIOD_DAYS}", field="recurring"
            )
        match = _DATE.fullmatch(max_date.strip())
        try:
            until = date(int(match[3]), int(match[2]), int(match[1])) if match else None
        except ValueError:
            until = None
        if until is None:
            raise InvalidInput("RecurringMaxDate is a date like 31.12.2027", field="recurring")
        if until < today:
            raise InvalidInput("RecurringMaxDate has passed", field="recurring")
        return cls(least, most, int(period), until)

    def check(self, amount: Money, now: datetime, last_paid: datetime | None) -> None:
        """Refuses a payment the terms do not allow now."""
        if amount.currency != self.min_amount.currency:
            raise WrongValue(
                f"recurring payments are in {self.min_amount.currency}", field="currency"
            )
        if not self.min_amount.minor <= amount.minor <= self.max_amount.minor:
            raise LimitExceeded(
                f"a recurring payment is {self.min_amount} to {self.max_amount}", field="amount"
            )
        if now.date() > self.max_date:
            raise Refused(
                f"recurring payments ended on {self.max_date:%d.%m.%Y}", field="recurring"
            )
        if last_paid is not None and now < last_paid + timedelta(days=self.period_days):
            next_day = last_paid + timedelta(days=self.period_days)
            raise Refused(
                f"the next recurring payment is possible from {next_day:%d.%m.%Y %H:%M} GMT",
                field="recurring",
            )
