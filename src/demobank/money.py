"""The bank's amounts: whole minor units of an ISO 4217 currency (``paywire.currencies``),
as field 4 and field 49 carry them and as the books keep them."""

from __future__ import annotations

from dataclasses import dataclass

from paywire.currencies import Currency, UnknownCurrency, by_code


def currency(code: str) -> Currency:
    """The currency of a letter code, in either case; ``UnknownCurrency`` for any other."""
    return by_code(code.strip().upper())


@dataclass(frozen=True)
class Money:
    minor: int
    currency: Currency

    def __post_init__(self) -> None:
        if self.minor < 0:
            raise ValueError("an amount cannot be negative")

    def format(self) -> str:
        """The amount with the currency's decimals: ``100.00``, ``100`` for JPY."""
        exponent = self.currency.exponent
        whole, fraction = divmod(self.minor, 10**exponent)
        return f"{whole}.{fraction:0{exponent}d}" if exponent else str(whole)

    def __str__(self) -> str:
        return f"{self.format()} {self.currency.code}"

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._of(other), self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._of(other), self.currency)

    def _of(self, other: Money) -> int:
        if other.currency != self.currency:
            raise ValueError(f"{self} and {other} are in different currencies")
        return other.minor


__all__ = ["Currency", "Money", "UnknownCurrency", "currency"]
