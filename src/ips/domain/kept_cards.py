"""Cards kept for a shop's customer: with the buyer's consent, a card paid with is kept (its
number sealed, never its CVC) for the customer the shop named in a signed payment request
(``CustomerNumber`` under the checkvalue), and offered on that customer's next orders of the
same shop, to pay by typing the CVC alone.

A customer number the checkvalue does not cover is the buyer's own claim: anyone could name
another customer's number, so such an order neither offers nor keeps cards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ips.domain.errors import NotFound
from ips.domain.orders import CardSummary, Order


@dataclass
class KeptCard:
    merchant_id: str
    customer_number: str
    card: CardSummary
    sealed_pan: str = field(repr=False)
    pan_mac: str = field(repr=False)
    """A keyed hash of the number: the same card is kept once per customer."""
    created_at: datetime = field(repr=False)
    id: int | None = None

    def expired(self, today: date) -> bool:
        return self.card.valid_thru.is_expired(today)

    @property
    def valid_until(self) -> date:
        """The first day it is no longer valid."""
        return self.card.valid_thru.ends

    def usable_for(self, order: Order, today: date) -> bool:
        """The order's customer's, at the order's shop, and not expired."""
        return (
            bool(order.customer_number)
            and (self.merchant_id, self.customer_number)
            == (order.merchant_id, order.customer_number)
            and not self.expired(today)
        )


def kept_card_for(order: Order, card: KeptCard | None, today: date) -> KeptCard:
    """The kept card the buyer of ``order`` chose; ``NotFound`` unless it is theirs to use
    (a card of another customer or shop, or removed, is not told apart from one that never
    was)."""
    if card is None or not card.usable_for(order, today):
        raise NotFound("no such kept card", field="kept_card")
    return card
