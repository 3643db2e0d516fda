"""ISO 4217 currencies: the letter code, the numeric code of field 49 (and 50), and the
exponent by which an amount of field 4 is in minor units."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Currency:
    code: str
    numeric: str
    exponent: int

    def __str__(self) -> str:
        return self.code


class UnknownCurrency(LookupError):
    """A code that names no currency of the table."""


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


def by_code(code: str) -> Currency:
    """The currency of an ISO 4217 letter code, exactly as written (``RUB``)."""
    found = CURRENCIES.get(code)
    if found is None:
        raise UnknownCurrency(code)
    return found


def by_numeric(numeric: str) -> Currency:
    """The currency of an ISO 4217 numeric code (``643``)."""
    found = _BY_NUMERIC.get(numeric)
    if found is None:
        raise UnknownCurrency(numeric)
    return found
