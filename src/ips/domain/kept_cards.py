"""Cards kept for a shop's customer: with the buyer's consent, a card paid with is kept (its
number sealed, never its CVC) for the customer the shop named in a signed payment request
(``CustomerNumber`` under the checkvalue), and offered on that customer's next orders of the
same shop, to pay by typing the CVC alone.

A customer number the checkvalue does not cover is the buyer's own claim: anyone could name
another customer's number, so such an order neither offers nor keeps cards.

The card of the first order of recurring payments (``domain/recurring.py``) is kept too, for
the shop to charge with ``rp.cfm`` — the buyer's agreement to the terms is the consent. Such a
card belongs to that first order, not to a customer: it is never offered on the card page nor
removed by the buyer, and it is kept until its expiry or the terms' last day, whichever comes
first (``recurring_card``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ips.domain.errors import NotFound, Refused
from ips.domain.orders import CardSummary, Order


@dataclass
class KeptCard:
    merchant_id: str
    customer_number: str | None
    """The shop's customer it is kept for; ``None`` for a card kept for recurring payments."""
    card: CardSummary
    sealed_pan: str = field(repr=False)
    pan_mac: str | None = field(repr=False)
    """A keyed hash of the number: the same card is kept once per customer (``None`` for a
    card kept for recurring payments: one per first order)."""
    created_at: datetime = field(repr=False)
    id: int | None = None
    recurring_order_id: int | None = None
    """The first order of the recurring payments it is kept for."""
    kept_until: date | None = None
    """For recurring payments: the day after their last (``RecurringMaxDate``); the card is
    kept no longer, even while it is still valid."""

    def expired(self, today: date) -> bool:
        return today >= self.valid_until

    @property
    def valid_until(self) -> date:
        """The first day it is no longer valid, or no longer kept."""
        ends = self.card.valid_thru.ends
        return ends if self.kept_until is None else min(ends, self.kept_until)

    def usable_for(self, order: Order, today: date) -> bool:
        """The order's customer's, at the order's shop, and not expired (a card kept for
        recurring payments is nobody's to choose on a page)."""
        return (
            self.recurring_order_id is None
            and bool(order.customer_number)
            and (self.merchant_id, self.customer_number)
            == (order.merchant_id, order.customer_number)
            and not self.expired(today)
        )


def recurring_card(
    first: Order, card: CardSummary, sealed_pan: str, now: datetime
) -> KeptCard | None:
    """The card a first order of recurring payments was paid with, kept for those payments
    until its expiry or the terms' last day; ``None`` for an order without terms."""
    if first.recurring is None or first.id is None:
        return None
    return KeptCard(
        first.merchant_id,
        None,
        card,
        sealed_pan,
        None,
        now,
        recurring_order_id=first.id,
        kept_until=first.recurring.max_date + timedelta(days=1),
    )


def charged_card(first: Order, card: KeptCard | None, today: date) -> KeptCard:
    """The card the shop charges for a recurring payment of ``first``; ``Refused`` when it is
    kept no longer (expired, or the terms ended, and then deleted by the janitor)."""
    if card is None or card.recurring_order_id != first.id or card.expired(today):
        raise Refused(
            "the card of the first order is no longer kept for recurring payments: it expired"
            " or the terms ended",
            field="recurring",
        )
    return card


def kept_card_for(order: Order, card: KeptCard | None, today: date) -> KeptCard:
    """The kept card the buyer of ``order`` chose; ``NotFound`` unless it is theirs to use
    (a card of another customer or shop, or removed, is not told apart from one that never
    was)."""
    if card is None or not card.usable_for(order, today):
        raise NotFound("no such kept card", field="kept_card")
    return card
