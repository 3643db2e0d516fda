"""The fields a payment request's checkvalue signs: each read to its own strict format, and
the signed text read back to see what the checkvalue really binds.

The checkvalue signs X, the *values* of the fields present, in the order of ``FIELDS``, joined
by ``;`` — no names. X alone does not say which field a value came from:
``111111;7;15.00;USD`` may be OrderCurrency ``USD``, or, with OrderCurrency left out,
CustomerNumber ``USD`` (a payment in the shop's default currency). So IPS reads X back every
way it can be split into the fields — a *reading*: Merchant_ID, OrderNumber and OrderAmount
first, then the optional fields in their order, each value in its field's format, and a
currency code right after the amount always OrderCurrency. No signed value may hold a ``;``
(it would let values slide between fields). A checkvalue proves only what every reading
agrees on:

- every reading must ask for the same OrderNumber and the same amount in the same currency,
  or the request is refused (``Ambiguous``);
- ``Disable3DS=1`` is honoured only when every reading has it: ``…;RUB;1`` may as well be
  OrderMaxPoints, CustomerNumber or Prepayment ``1``, so there 3-D Secure is not skipped.

Joined with no separator, as some shop modules sign, nearly every X reads many ways
(``12`` + ``1500.00`` is also ``121`` + ``500.00``): that form binds no value to its field,
and is accepted only from a merchant who opted in to it (``Merchant.checkvalue_legacy_concat``).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from ips.domain.checkvalue import checkvalue, matches
from ips.domain.errors import AuthenticationFailed, InvalidAmount, InvalidInput, MissingInput
from ips.domain.merchants import parse_merchant_id
from ips.domain.money import Currency, Money, currency
from ips.domain.orders import parse_ordernumber
from ips.domain.text import is_digits

SEPARATOR = ";"
MAX_POINTS_DIGITS = 12
MAX_CUSTOMER_NUMBER = 64
_TEXT = re.compile(r"[^;\x00-\x1f\x7f]+")


def _amount(value: str) -> str:
    """The amount's own format; its decimals are checked against its currency's exponent
    when it is read with the currency (``terms``)."""
    if not value.strip():
        raise MissingInput("OrderAmount is required", field="amount")
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value.strip()):
        raise InvalidAmount(f"amount {value!r} is not a decimal number like 100.00")
    return value


def _currency(value: str) -> str:
    if not value.strip():
        return value
    if not re.fullmatch(r"[A-Za-z]{3}", value.strip()):
        raise InvalidInput(f"OrderCurrency {value!r} is not an ISO 4217 code", field="currency")
    currency(value)
    return value


def _max_points(value: str) -> str:
    if value.strip() and not (is_digits(value.strip()) and len(value.strip()) <= MAX_POINTS_DIGITS):
        raise InvalidInput(
            f"OrderMaxPoints is a whole number of up to {MAX_POINTS_DIGITS} digits",
            field="ordermaxpoints",
        )
    return value


def _customer_number(value: str) -> str:
    if value and not (_TEXT.fullmatch(value) and len(value) <= MAX_CUSTOMER_NUMBER):
        raise InvalidInput(
            f"CustomerNumber is up to {MAX_CUSTOMER_NUMBER} characters, without ';'",
            field="customernumber",
        )
    return value


def _flag(label: str) -> Callable[[str], str]:
    def read(value: str) -> str:
        if value.strip() not in ("", "0", "1"):
            raise InvalidInput(f"{label} must be 0 or 1", field=label.lower())
        return value

    return read


@dataclass(frozen=True)
class Field:
    name: str
    """The lower-case name parameters are read by."""
    label: str
    """The name as the protocol spells it."""
    check: Callable[[str], str]
    """Raises ``InvalidInput`` unless the value is in the field's format."""


FIELDS = (
    Field("merchant_id", "Merchant_ID", parse_merchant_id),
    Field("ordernumber", "OrderNumber", parse_ordernumber),
    Field("orderamount", "OrderAmount", _amount),
    Field("ordercurrency", "OrderCurrency", _currency),
    Field("ordermaxpoints", "OrderMaxPoints", _max_points),
    Field("customernumber", "CustomerNumber", _customer_number),
    Field("disable3ds", "Disable3DS", _flag("Disable3DS")),
    Field("prepayment", "Prepayment", _flag("Prepayment")),
)
"""The signed fields, in the order their values are joined."""
NAMES = tuple(f.name for f in FIELDS)
_BY_NAME = {f.name: f for f in FIELDS}
_OPTIONAL = NAMES[3:]


def check_formats(values: Mapping[str, str]) -> None:
    """Refuses a field the request carries in another field's format (``InvalidInput``).
    Spaces around a value are let be; an optional field may be sent empty, which asks for
    nothing (but is part of the signed text, as sent)."""
    for name, value in values.items():
        _BY_NAME[name].check(value)


@dataclass(frozen=True)
class Terms:
    """What signed fields ask of IPS: an order number, an amount, whether 3-D Secure may be
    skipped, the shop's customer (whose kept cards the order may use; empty unless every
    reading of the fields names the same one), and the most points the order takes.
    (Prepayment asks nothing of IPS yet; a field that starts to matter joins these terms.)"""

    ordernumber: str
    amount: Money
    disable_3ds: bool
    customer_number: str = ""
    max_points: int | None = None


def terms(values: Mapping[str, str], default_currency: Currency) -> Terms:
    code = values.get("ordercurrency", "").strip()
    cur = currency(code) if code else default_currency
    return Terms(
        ordernumber=values["ordernumber"].strip(),
        amount=Money.parse(values["orderamount"], cur),
        disable_3ds=values.get("disable3ds", "").strip() == "1",
        customer_number=values.get("customernumber", "").strip(),
        max_points=int(points) if (points := values.get("ordermaxpoints", "").strip()) else None,
    )


class Ambiguous(AuthenticationFailed):
    """The signed text reads as another payment than the fields sent."""

    def __init__(self, other: Mapping[str, str]) -> None:
        reading = ", ".join(f"{_BY_NAME[name].label}={value}" for name, value in other.items())
        super().__init__(
            f"the checkvalue does not bind the fields to their names: the signed values also "
            f"read as {reading}",
            field="checkvalue",
        )


def signed_text(values: Mapping[str, str], separator: str = SEPARATOR) -> str:
    """X: the values present, in the fields' order, joined by ``separator``."""
    return separator.join(values[name] for name in NAMES if name in values)


def payment_request_checkvalue(
    salt: str, values: Mapping[str, str], separator: str = SEPARATOR
) -> str:
    """The checkvalue a shop sends with ``values`` (lower-case names, values as sent)."""
    return checkvalue(salt, signed_text(values, separator))


def verify(
    values: Mapping[str, str],
    given: str,
    words: Iterable[str],
    default_currency: Currency,
    *,
    legacy_concat: bool = False,
) -> Terms:
    """The terms that the checkvalue ``given``, made with one of the merchant's ``words``,
    proves of the fields sent (``check_formats`` passed)."""
    if SEPARATOR in values.get("ordernumber", ""):
        raise InvalidInput(
            "the OrderNumber of a signed request may not hold ';'", field="ordernumber"
        )
    words = list(words)
    if any(matches(payment_request_checkvalue(w, values), given) for w in words):
        return bound_terms(values, default_currency)
    if any(matches(payment_request_checkvalue(w, values, ""), given) for w in words):
        if legacy_concat:  # binds no value to its field: proves no customer, grants no points
            sent = terms(values, default_currency)
            points = None if sent.max_points is None else 0
            return dataclasses.replace(sent, customer_number="", max_points=points)
        raise AuthenticationFailed(
            "the checkvalue signs the fields joined without separators, which binds no value "
            "to its field: join them with ';' (or ask the operator to accept the older form)",
            field="checkvalue",
        )
    raise AuthenticationFailed("the checkvalue does not match the request", field="checkvalue")


def bound_terms(values: Mapping[str, str], default_currency: Currency) -> Terms:
    """The terms every reading of the ``;``-joined text of ``values`` agrees on; ``Ambiguous``
    when a reading asks for another order number or amount."""
    sent = terms(values, default_currency)
    disable_3ds, customer = sent.disable_3ds, sent.customer_number
    most = [sent.max_points] if sent.max_points is not None else []
    for reading in _readings(signed_text(values), default_currency):
        other = terms(reading, default_currency)
        if (other.ordernumber, other.amount) != (sent.ordernumber, sent.amount):
            raise Ambiguous(reading)
        disable_3ds = disable_3ds and other.disable_3ds
        if other.customer_number != customer:
            customer = ""
        if other.max_points is not None:
            most.append(other.max_points)
    return Terms(sent.ordernumber, sent.amount, disable_3ds, customer, min(most, default=None))


def _readings(text: str, default_currency: Currency) -> Iterator[dict[str, str]]:
    """Every split of ``text`` into the fields that is well formed."""
    tokens = text.split(SEPARATOR)
    head, rest = dict(zip(NAMES[:3], tokens[:3], strict=True)), tokens[3:]
    for names in itertools.combinations(_OPTIONAL, len(rest)):
        reading = head | dict(zip(names, rest, strict=True))
        if _well_formed(reading, default_currency):
            yield reading


def _well_formed(reading: Mapping[str, str], default_currency: Currency) -> bool:
    """Each value in its field's format, the amount in its currency's decimals, and a
    currency code right after the amount read as OrderCurrency."""
    try:
        check_formats(reading)
        after_amount = next((name for name in _OPTIONAL if name in reading), None)
        if after_amount not in (None, "ordercurrency") and _is_currency(reading[after_amount]):
            return False
        terms(reading, default_currency)
    except InvalidInput:
        return False
    return True


def _is_currency(value: str) -> bool:
    try:
        _currency(value)
    except InvalidInput:
        return False
    return True
