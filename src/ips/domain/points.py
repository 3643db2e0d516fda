"""Paying part of an order with bonus points — the seed's one exception to "one successful
payment per order".

The buyer pays at most the merchant's share of the order in points (``Merchant.points_share``,
percent) and at most ``OrderMaxPoints`` when the shop's checkvalue covers it, never all of it:
the rest is paid by card or wallet, as a payment operation of its own. A point is worth what
the program says in the order's currency (``Loyalty.rate``). Points pay no double-stage order,
and no order whose payment is converted to another currency. Both payments succeed or neither
does: the points are reserved first, spent once the rest is paid, released when it is not
(``services/points.py``); cancels give back points and money in their shares
(``Books.split_cancel``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ips.domain.errors import InvalidInput, LimitExceeded, MissingInput
from ips.domain.money import Money
from ips.domain.text import is_digits

DEFAULT_POINTS_SHARE = 50
"""Percent of an order points may pay unless the merchant says otherwise."""
ACCOUNT_DIGITS = (6, 32)
PIN_DIGITS = (4, 12)


@dataclass(frozen=True)
class PointsOffer:
    """What points may pay of an order: up to ``most`` points of ``point`` each."""

    point: Money
    most: int

    def value(self, points: int) -> Money:
        return Money(points * self.point.minor, self.point.currency)

    def check(self, points: int) -> None:
        if not 1 <= points <= self.most:
            raise LimitExceeded(f"at most {self.most} points pay this order", field="points")


def points_offer(
    amount: Money, share: int, order_max: int | None, point_minor: int
) -> PointsOffer | None:
    """Points for ``amount``: at most ``share`` percent of it and less than all of it, at most
    ``order_max`` (the shop's ``OrderMaxPoints``); ``None`` when not one point fits."""
    cap = min(amount.minor * share // 100, amount.minor - 1)
    most = cap // point_minor if point_minor > 0 else 0
    if order_max is not None:
        most = min(most, order_max)
    return PointsOffer(Money(point_minor, amount.currency), most) if most > 0 else None


def parse_points(text: str) -> int:
    """The points the buyer asked to pay with; 0 when none."""
    text = text.strip()
    if not text or text == "0":
        return 0
    if not (is_digits(text) and len(text) <= 12):
        raise InvalidInput("points are a whole number", field="points")
    return int(text)


def parse_account(number: str, pin: str) -> tuple[str, str]:
    """A points account's number and PIN as the buyer typed them, spaces dropped."""
    number, pin = parse_account_number(number), pin.strip()
    if not number:
        raise MissingInput("the points account's number is required", field="points_account")
    if not (is_digits(pin) and PIN_DIGITS[0] <= len(pin) <= PIN_DIGITS[1]):
        raise InvalidInput("the PIN is 4 to 12 digits", field="points_pin")
    return number, pin


def parse_account_number(number: str) -> str:
    """A points account's number as the buyer typed it, spaces dropped; empty when none."""
    number = number.replace(" ", "")
    if number and not (is_digits(number) and ACCOUNT_DIGITS[0] <= len(number) <= ACCOUNT_DIGITS[1]):
        raise InvalidInput("the points account's number is not valid", field="points_account")
    return number


def masked_account(number: str) -> str:
    """An account as pages and answers show it: its last four digits."""
    return f"****{number[-4:]}"
