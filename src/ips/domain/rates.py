"""Exchange rates set by the operator, and the conversion of an order's amount with them.

A rate converts one unit of ``source`` into ``value`` units of ``target``. Conversion is
exact in decimals and rounds once, half up, to the target's minor unit:
``minor_target = round_half_up(minor_source × value × 10^(exp_target − exp_source))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ips.domain.errors import InvalidInput
from ips.domain.money import Currency, Money

MAX_DECIMALS = 10


def parse_rate(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(f"rate {text!r} is not a number", field="rate") from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput("a rate is a positive number", field="rate")
    if -value.as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]
        raise InvalidInput(f"a rate has at most {MAX_DECIMALS} decimals", field="rate")
    return value


@dataclass(frozen=True)
class Rate:
    source: Currency
    target: Currency
    value: Decimal
    valid_from: datetime

    def convert(self, money: Money) -> Money:
        if money.currency != self.source:
            raise ValueError(f"a {self.source} rate cannot convert {money.currency}")
        shift = Decimal(10) ** (self.target.exponent - self.source.exponent)
        exact = Decimal(money.minor) * self.value * shift
        return Money(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)), self.target)
