"""The Order Monitor's filters, read from the query string of the list (and of its export).

Dates are whole days in UTC: ``from`` is the first day shown, ``to`` the last. An amount
range is read in the currency chosen beside it (the merchant's default one when none is), with
a decimal point or a decimal comma.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from starlette.datastructures import QueryParams

from ips.domain.errors import InvalidInput
from ips.domain.merchants import Merchant
from ips.domain.money import Currency, Money, currency
from ips.domain.orders import PaymentMeans
from ips.domain.states import OrderState
from ips.domain.text import is_digits
from ips.services.monitor import OrderFilter

_LAST4 = re.compile(r"[0-9]{4}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_FIELD = 128
FIELDS = ("from", "to", "state", "ordernumber", "billnumber", "amount_min", "amount_max",
          "currency", "means", "last4")  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """What the user asked for, as typed (shown back in the form), and the filter of it."""

    typed: dict[str, str]
    states: frozenset[OrderState]
    filter: OrderFilter

    def query(self) -> list[tuple[str, str]]:
        """The filters as a query string's items (for the export link and the next page)."""
        items = [(k, v) for k, v in self.typed.items() if v and k != "state"]
        return items + [("state", s.value) for s in sorted(self.states, key=lambda s: s.value)]


def read_filters(params: QueryParams, merchant: Merchant) -> Filters:
    typed = {name: params.get(name, "").strip() for name in FIELDS if name != "state"}
    for name, value in typed.items():
        if _CONTROL.search(value) or len(value) > MAX_FIELD:
            raise InvalidInput("this field holds what no order has", field=name)
    states = frozenset(_state(value) for value in params.getlist("state") if value)
    since = _day(typed["from"], "from")
    until = _day(typed["to"], "to")
    if since and until and until < since:
        raise InvalidInput("the period ends before it begins", field="to")
    cur = merchant.default_currency
    if typed["currency"]:
        try:
            cur = currency(typed["currency"])
        except InvalidInput as exc:
            raise InvalidInput("unknown currency", field="currency") from exc
    amount_min = _amount(typed["amount_min"], cur, "amount_min")
    amount_max = _amount(typed["amount_max"], cur, "amount_max")
    if amount_min and amount_max and amount_max.minor < amount_min.minor:
        raise InvalidInput("the amount range ends below where it begins", field="amount_max")
    if typed["last4"] and not _LAST4.fullmatch(typed["last4"]):
        raise InvalidInput("give the last four digits of the card", field="last4")
    if typed["billnumber"] and not is_digits(typed["billnumber"]):
        raise InvalidInput("a billnumber is digits only", field="billnumber")
    return Filters(
        typed,
        states,
        OrderFilter(
            merchant_id=merchant.merchant_id,
            since=datetime.combine(since, time(), UTC) if since else None,
            until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
            states=states,
            ordernumber=typed["ordernumber"],
            billnumber=typed["billnumber"],
            amount_min=amount_min,
            amount_max=amount_max,
            means=_means(typed["means"]),
            card_last4=typed["last4"],
        ),
    )


def _state(value: str) -> OrderState:
    try:
        return OrderState(value)
    except ValueError:
        raise InvalidInput("unknown order state", field="state") from None


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("give the date as YYYY-MM-DD", field=name) from None
    if not date(2000, 1, 1) <= day < date(3000, 1, 1):
        raise InvalidInput("give a date of this millennium", field=name)
    return day


def _amount(value: str, cur: Currency, name: str) -> Money | None:
    if not value:
        return None
    try:
        return Money.parse(value.replace(",", "."), cur)
    except InvalidInput:
        raise InvalidInput(
            "give the amount as a number, with no more decimals than its currency has",
            field=name,
        ) from None


def _means(value: str) -> PaymentMeans | None:
    if not value:
        return None
    try:
        return PaymentMeans(value)
    except ValueError:
        raise InvalidInput("unknown way of payment", field="means") from None
