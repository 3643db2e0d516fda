"""An order's books: where its money is, in the payment's currency and minor units.

Every successful operation moves amounts between these accounts; nothing else touches them.
The database repeats the same rules as check constraints (``storage/tables.py``).

    held          authorized at the processing center by the payment
    confirmed     charged: the payment itself when single-stage, else the confirmations
    released      unconfirmed hold given back without a cancel (``AutoDeposit=1``)
    hold_cancelled  unconfirmed hold given back by a cancel (or by its expiry)
    reversed      charged money cancelled before it was presented: a smaller presentment
    presented     charged money put into settlement batches (debits)
    refunded      presented money given back: credits
    in_points     of ``held``, what bonus points paid: charged and presented at once (the
                  points program settles them, not a batch)
    points_returned  of ``refunded``, what was given back as points

Rules: ``confirmed + released + hold_cancelled <= held``; ``reversed + presented <=
confirmed``; ``refunded <= presented``; ``points_returned <= in_points <= presented``;
``points_returned <= refunded``; nothing negative.

A cancel gives back points and money in the shares they paid (``split_cancel``). The money's
share takes, in this order, from the unconfirmed hold, from charged money not yet presented
(both by a reversal of the authorization), and from presented money (a refund): IPS chooses
the cheapest transaction, the shop only says how much.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ips.domain.errors import LimitExceeded, Refused
from ips.domain.money import Currency, Money
from ips.domain.states import OrderState


@dataclass(frozen=True)
class CancelSplit:
    """How a cancel is carried out."""

    from_hold: int
    from_unpresented: int
    refund: int
    """Presented money given back: by the card's (or wallet's) refund, and ``in_points``."""
    in_points: int = 0
    """Of ``refund``, what goes back to the buyer as points: whole points only."""

    @property
    def money_refund(self) -> int:
        return self.refund - self.in_points

    @property
    def reversal(self) -> int:
        """What the reversal of the authorization releases at the processing center."""
        return self.from_hold + self.from_unpresented


@dataclass(frozen=True)
class Books:
    currency: Currency
    held: int = 0
    confirmed: int = 0
    released: int = 0
    hold_cancelled: int = 0
    reversed: int = 0
    presented: int = 0
    refunded: int = 0
    in_points: int = 0
    points_returned: int = 0

    def __post_init__(self) -> None:
        amounts = (
            self.held,
            self.confirmed,
            self.released,
            self.hold_cancelled,
            self.reversed,
            self.presented,
            self.refunded,
            self.in_points,
            self.points_returned,
        )
        if (
            min(amounts) < 0
            or self.confirmed + self.released + self.hold_cancelled > self.held
            or self.reversed + self.presented > self.confirmed
            or self.refunded > self.presented
            or not self.points_returned <= self.in_points <= self.presented
            or self.points_returned > self.refunded
        ):
            raise Refused("the operation would leave the order's books out of balance")

    @property
    def unconfirmed(self) -> int:
        """Still held, neither confirmed nor given back."""
        return self.held - self.confirmed - self.released - self.hold_cancelled

    @property
    def unpresented(self) -> int:
        """Charged, not cancelled, not yet in a settlement batch."""
        return self.confirmed - self.reversed - self.presented

    @property
    def refundable(self) -> int:
        return self.presented - self.refunded

    @property
    def cancellable(self) -> int:
        return self.unconfirmed + self.unpresented + self.refundable

    @property
    def cancelled(self) -> int:
        return self.hold_cancelled + self.reversed + self.refunded

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    def state(self) -> OrderState:
        """The order state these books mean (once the order was paid)."""
        if self.cancelled:
            live = self.unconfirmed + self.confirmed - self.reversed - self.refunded
            return OrderState.PARTIAL_CANCELED if live else OrderState.CANCELED
        if self.unconfirmed:
            return OrderState.PARTIAL_DELAYED if self.confirmed else OrderState.DELAYED
        return OrderState.APPROVED

    @property
    def points_left(self) -> int:
        """What points paid and are not given back."""
        return self.in_points - self.points_returned

    def pay(self, amount: int, *, delay: bool) -> Books:
        """The payment is authorized: held, and charged at once unless double-stage."""
        if self.held:
            raise Refused("the order is already paid")
        return replace(self, held=amount, confirmed=0 if delay else amount)

    def add_points(self, amount: int) -> Books:
        """Points paid ``amount`` beside the payment: charged and presented at once."""
        if self.in_points:
            raise Refused("points already paid the order", field="points")
        if self.unconfirmed:
            raise Refused("points pay no double-stage payment", field="points")
        return replace(
            self,
            held=self.held + amount,
            confirmed=self.confirmed + amount,
            presented=self.presented + amount,
            in_points=amount,
        )

    def confirm(self, amount: int | None, *, release_rest: bool) -> Books:
        """Charges ``amount`` of the hold (all of it when ``None``); ``release_rest`` gives
        back what is left unconfirmed."""
        if not self.unconfirmed:
            raise Refused("nothing is held to be confirmed", field="confirmation")
        amount = self.unconfirmed if amount is None else amount
        if amount > self.unconfirmed:
            raise LimitExceeded(
                f"at most {self.money(self.unconfirmed)} can be confirmed", field="amount"
            )
        confirmed = replace(self, confirmed=self.confirmed + amount)
        if release_rest:
            confirmed = replace(confirmed, released=confirmed.released + confirmed.unconfirmed)
        return confirmed

    def split_cancel(self, amount: int | None, point: int = 1) -> CancelSplit:
        """How a cancel of ``amount`` (all that is left when ``None``) is carried out. What
        points paid goes back in its share of what is left — whole points of ``point`` minor
        units each, rounded down, unless the money's part could not take the rest."""
        if not self.cancellable:
            raise Refused("nothing is left to cancel", field="cancel")
        amount = self.cancellable if amount is None else amount
        if amount > self.cancellable:
            raise LimitExceeded(
                f"at most {self.money(self.cancellable)} can be cancelled", field="amount"
            )
        in_points = amount * self.points_left // self.cancellable // point * point
        money_left = self.cancellable - self.points_left
        if amount - in_points > money_left:
            in_points = -(-(amount - money_left) // point) * point
            if in_points > amount:
                raise Refused(
                    f"the rest was paid with points: cancel a multiple of {self.money(point)}",
                    field="amount",
                )
        money = amount - in_points
        from_hold = min(money, self.unconfirmed)
        from_unpresented = min(money - from_hold, self.unpresented)
        refund = amount - from_hold - from_unpresented
        return CancelSplit(from_hold, from_unpresented, refund, in_points)

    def cancel(self, split: CancelSplit) -> Books:
        return replace(
            self,
            hold_cancelled=self.hold_cancelled + split.from_hold,
            reversed=self.reversed + split.from_unpresented,
            refunded=self.refunded + split.refund,
            points_returned=self.points_returned + split.in_points,
        )

    def present(self, amount: int) -> Books:
        return replace(self, presented=self.presented + amount)
