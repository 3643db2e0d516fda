"""Money as integer minor units of an ISO 4217 currency.

An amount never passes through a float. ``Money.parse`` reads the decimal strings of the Assist
protocol (``100``, ``100.0``, ``100.00``: at most 15 digits, ``.`` as separator, no more
decimals than the currency's exponent) and ``Money.format`` writes them back with exactly
the exponent's decimals (``100.00``; ``100`` for JPY; ``1.000`` for BHD). The currencies
themselves are the table both IPS and the banks speak by (``paywire.currencies``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ips.domain.errors import InvalidAmount, UnknownCurrency
from paywire import currencies
from paywire.currencies import CURRENCIES as CURRENCIES
from paywire.currencies import Currency as Currency

MAX_DIGITS = 15


ALIASES = {"RUR": "RUB"}
"""Codes shops still send for a current currency: ``RUR``, the ruble's code before 1998, is
what several Assist modules send (and expect) for RUB."""


def currency(code: str) -> Currency:
    """The currency of an ISO 4217 letter code (or an alias of one), case-insensitive."""
    letters = code.strip().upper()
    try:
        return currencies.by_code(ALIASES.get(letters, letters))
    except currencies.UnknownCurrency:
        raise UnknownCurrency(code) from None


def currency_by_numeric(numeric: str) -> Currency:
    try:
        return currencies.by_numeric(numeric)
    except currencies.UnknownCurrency:
        raise UnknownCurrency(numeric) from None


_AMOUNT = re.compile(r"([0-9]+)(?:\.([0-9]*))?")


@dataclass(frozen=True)
class Money:
    minor: int
    currency: Currency

    def __post_init__(self) -> None:
        if self.minor < 0:
            raise ValueError("an amount cannot be negative")

    @classmethod
    def parse(cls, text: str, cur: Currency) -> Money:
        """Read a protocol amount; refuse anything that is not an exact positive decimal."""
        match = _AMOUNT.fullmatch(text.strip())
        if match is None:
            raise InvalidAmount(f"amount {text!r} is not a decimal number like 100.00")
        whole, fraction = match.group(1), (match.group(2) or "").rstrip("0")
        if len(whole.lstrip("0")) + len(fraction) > MAX_DIGITS:
            raise InvalidAmount(f"amount {text!r} has more than {MAX_DIGITS} digits")
        if len(fraction) > cur.exponent:
            raise InvalidAmount(
                f"amount {text!r} has more than {cur.exponent} decimals for {cur.code}"
            )
        minor = int(whole) * 10**cur.exponent + int(fraction.ljust(cur.exponent, "0") or 0)
        if minor == 0:
            raise InvalidAmount("the amount must be greater than zero")
        return cls(minor, cur)

    def format(self) -> str:
        exponent = self.currency.exponent
        if exponent == 0:
            return str(self.minor)
        whole, fraction = divmod(self.minor, 10**exponent)
        return f"{whole}.{fraction:0{exponent}d}"

    def __str__(self) -> str:
        return f"{self.format()} {self.currency.code}"

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")
