"""Money as integer minor units of an ISO 4217 currency.

An amount never passes through a float. ``Money.parse`` reads the decimal strings of the Assist
protocol (``100``, ``100.0``, ``100.00``: at most 15 digits, ``.`` as separator, no more
decimals than the currency's exponent) and ``Money.format`` writes them back with exactly
the exponent's decimals (``100.00``; ``100`` for JPY; ``1.000`` for BHD).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ips.domain.errors import InvalidAmount, UnknownCurrency

MAX_DIGITS = 15


@dataclass(frozen=True)
class Currency:
    code: str
    numeric: str
    exponent: int

    def __str__(self) -> str:
        return self.code


_TABLE = """
AED 784 2  AMD 051 2  AUD 036 2  AZN 944 2  BHD 048 3  BYN 933 2  CAD 124 2  CHF 756 2
CLP 152 0  CNY 156 2  CZK 203 2  DKK 208 2  EUR 978 2  GBP 826 2  GEL 981 2  HKD 344 2
ILS 376 2  INR 356 2  ISK 352 0  JPY 392 0  KGS 417 2  KRW 410 0  KWD 414 3  KZT 398 2
MDL 498 2  NOK 578 2  PLN 985 2  RUB 643 2  SEK 752 2  SGD 702 2  TJS 972 2  TND 788 3
TRY 949 2  UAH 980 2  USD 840 2  UZS 860 2  VND 704 0
"""

CURRENCIES: dict[str, Currency] = {
    code: Currency(code, numeric, int(exponent))
    for code, numeric, exponent in re.findall(r"([A-Z]{3}) (\d{3}) (\d)", _TABLE)
}
_BY_NUMERIC = {c.numeric: c for c in CURRENCIES.values()}

ALIASES = {"RUR": "RUB"}
"""Codes shops still send for a current currency: ``RUR``, the ruble's code before 1998, is
what several Assist modules send (and expect) for RUB."""


def currency(code: str) -> Currency:
    """The currency of an ISO 4217 letter code (or an alias of one), case-insensitive."""
    letters = code.strip().upper()
    found = CURRENCIES.get(ALIASES.get(letters, letters))
    if found is None:
        raise UnknownCurrency(code)
    return found


def currency_by_numeric(numeric: str) -> Currency:
    found = _BY_NUMERIC.get(numeric)
    if found is None:
        raise UnknownCurrency(numeric)
    return found


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
