"""One bank's own rules: its name, the acquiring institution id it issued, and what it takes.

A request is refused before the books are looked at (nothing is held, released or staged):

- ``92`` (no such institution to route to) when the bank issued an acquirer id and the
  request's field 32 names another, or none; an 0800 carries no field 32 and is never refused;
- ``58`` (not permitted to the terminal) for an authorization in a currency the bank does not
  take, or a pre-authorization (field 25 ``06``: a double-stage payment's hold) where it takes
  none, or takes none of a stored card (field 22 ``102``).

A bank without an acquirer id takes any; one without currencies takes every currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from paywire import currencies
from paywire.messages import (
    AUTHORIZATION,
    NETWORK,
    PREAUTHORIZATION,
    STORED_CARD_ENTRY,
    acquirer,
)

NOT_ROUTED = "92"
NOT_PERMITTED = "58"


@dataclass(frozen=True)
class Rules:
    """``name`` 1 to 32 printable ASCII characters; ``acquirer_id`` 1 to 11 digits, ``None``:
    any."""

    name: str = "DEMOBANK"
    acquirer_id: str | None = None
    double_stage: bool = True
    stored_card_double_stage: bool = True
    currencies: frozenset[str] | None = None
    """ISO 4217 letter codes; ``None``: every currency."""

    def __post_init__(self) -> None:
        if not (self.name.isascii() and self.name.isprintable() and 0 < len(self.name) <= 32):
            raise ValueError("a bank's name is 1 to 32 printable ASCII characters")
        if self.acquirer_id is not None:
            acquirer(self.acquirer_id)

    def refusal(self, request: Mapping[str, str]) -> str | None:
        """The response code that refuses ``request``; ``None`` when the rules let it in."""
        mti = request.get("t", "")
        if self.acquirer_id not in (None, request.get("32")) and mti != NETWORK:
            return NOT_ROUTED
        if mti != AUTHORIZATION:
            return None
        if self.currencies is not None:
            try:
                code = currencies.by_numeric(request.get("49", "")).code
            except currencies.UnknownCurrency:
                return None  # answered 30 as any unreadable field
            if code not in self.currencies:
                return NOT_PERMITTED
        if request.get("25") == PREAUTHORIZATION:
            stored = request.get("22") == STORED_CARD_ENTRY
            if not self.double_stage or (stored and not self.stored_card_double_stage):
                return NOT_PERMITTED
        return None


ANY_RULES = Rules()
"""A bank that takes everything: any acquirer id, every currency, double-stage payments."""


def currency_list(text: str) -> frozenset[str] | None:
    """``RUB,USD`` as the rules keep them; ``""``: every currency. ``ValueError`` for a code
    that names no currency."""
    codes = frozenset(part.strip().upper() for part in text.split(",") if part.strip())
    for code in codes:
        try:
            currencies.by_code(code)
        except currencies.UnknownCurrency:
            raise ValueError(f"{code} is not an ISO 4217 currency") from None
    return codes or None
