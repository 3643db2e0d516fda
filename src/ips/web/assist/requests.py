"""Assist protocol requests → service commands. Pure parsing: no storage, no rules of money."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime

from ips.domain import signed_fields
from ips.domain.errors import InvalidInput, MissingInput
from ips.domain.orders import Buyer, CancelReason, Language, PaymentMeans, ReturnUrls
from ips.domain.text import is_digits
from ips.services.cancellations import Cancel
from ips.services.confirmations import Confirm
from ips.services.merchants import Credentials
from ips.services.order_results import OrderResultQuery
from ips.services.orders import CreateOrder, OrderStateQuery, RecurringRequest, Window
from ips.services.recurring import RecurringPayment


def _flag(params: Mapping[str, str], name: str, field: str) -> bool:
    value = params.get(name, "0").strip() or "0"
    if value not in ("0", "1"):
        raise InvalidInput(f"{name} must be 0 or 1", field=field)
    return value == "1"


_LANGUAGES = {"RU": Language.RU, "RUS": Language.RU, "EN": Language.EN, "ENG": Language.EN}


def language(params: Mapping[str, str]) -> Language | None:
    """``Language``: ``RU``/``EN`` (also ``RUS``/``ENG``, any case); ``None`` when absent or
    unknown."""
    return _LANGUAGES.get(params.get("language", "").strip().upper())


def payment_request(params: Mapping[str, str]) -> CreateOrder:
    if not params.get("merchant_id", "").strip():
        raise MissingInput("Merchant_ID is required", field="merchant_id")
    buyer = Buyer(
        lastname=params.get("lastname", ""),
        firstname=params.get("firstname", ""),
        middlename=params.get("middlename", ""),
        email=params.get("email", ""),
        address=params.get("address", ""),
        home_phone=params.get("homephone", ""),
        work_phone=params.get("workphone", ""),
        mobile_phone=params.get("mobilephone", ""),
        fax=params.get("fax", ""),
        country=params.get("country", ""),
        state=params.get("state", ""),
        city=params.get("city", ""),
        zip=params.get("zip", ""),
        client_ip=params.get("clientip", ""),
    )
    return CreateOrder(
        merchant_id=params["merchant_id"],
        ordernumber=params.get("ordernumber", ""),
        amount=params.get("orderamount", ""),
        currency=params.get("ordercurrency", "").strip(),
        delay=_flag(params, "delay", "delay"),
        language=language(params),
        comment=params.get("ordercomment", ""),
        buyer=buyer,
        return_urls=ReturnUrls(
            ok=params.get("url_return_ok", "").strip(),
            no=params.get("url_return_no", "").strip(),
            default=params.get("url_return", "").strip(),
        ),
        checkvalue=params.get("checkvalue", "").strip(),
        signed_fields={name: params[name] for name in signed_fields.NAMES if name in params},
        recurring=_recurring(params),
        hidden_means=frozenset(
            means for flag, means in _MEANS_FLAGS.items() if params.get(flag, "").strip() == "0"
        ),
        disable_3ds=_flag(params, "disable3ds", "disable3ds"),
    )


_MEANS_FLAGS = {"cardpayment": PaymentMeans.CARD, "ympayment": PaymentMeans.WALLET}
"""The request's flags for the ways IPS offers (others, like ``QIWIPayment``, name ways it
does not offer, and are read as nothing to hide)."""


def _recurring(params: Mapping[str, str]) -> RecurringRequest | None:
    if not _flag(params, "recurringindicator", "recurring"):
        return None
    return RecurringRequest(
        min_amount=params.get("recurringminamount", ""),
        max_amount=params.get("recurringmaxamount", ""),
        period=params.get("recurringperiod", "") or params.get("recurringcount", ""),
        max_date=params.get("recurringmaxdate", ""),
    )


def recurring_payment(params: Mapping[str, str], client_ip: str) -> RecurringPayment:
    return RecurringPayment(
        billnumber=_billnumber(params),
        ordernumber=params.get("ordernumber", ""),
        amount=params.get("amount", ""),
        currency=params.get("currency", "").strip(),
        comment=params.get("ordercomment", ""),
        client_ip=params.get("clientip", "") or client_ip,
        delay=_flag(params, "delay", "delay"),
    )


def credentials(params: Mapping[str, str], source: str) -> Credentials:
    """The web-service login of a call from the address ``source``."""
    for name in ("merchant_id", "login", "password"):
        if not params.get(name, "").strip():
            raise MissingInput(f"{name.capitalize()} is required", field=name)
    return Credentials(params["merchant_id"], params["login"], params["password"], source)


_PARTS = ("year", "month", "day", "hour", "min")
MIN_YEAR, MAX_YEAR = 2000, 9998


def _moment(params: Mapping[str, str], prefix: str) -> datetime | None:
    """A GMT moment from ``StartYear StartMonth StartDay StartHour StartMin`` (or ``End…``),
    numbers with or without leading zeros. Parts left out, but the year, are the earliest of
    a start (January, the 1st, 00:00) and the latest of an end (December, the month's last
    day, 23:59:59): clients send a year and a month alone."""
    given = {part: params.get(prefix + part, "").strip() for part in _PARTS}
    if not any(given.values()):
        return None
    wrong = InvalidInput(f"the {prefix} of the period is not a valid date", field=prefix)
    if not given["year"] or not all(is_digits(v) and len(v) <= 4 for v in given.values() if v):
        raise wrong
    end = prefix == "end"
    year = int(given["year"])
    month = int(given["month"] or (12 if end else 1))
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        raise wrong
    day = int(given["day"] or (calendar.monthrange(year, month)[1] if end else 1))
    hour = int(given["hour"] or (23 if end else 0))
    minute = int(given["min"] or (59 if end else 0))
    try:
        return datetime(year, month, day, hour, minute, 59 if end else 0, tzinfo=UTC)
    except ValueError as exc:
        raise wrong from exc


def _window(params: Mapping[str, str]) -> Window:
    return Window(since=_moment(params, "start"), until=_moment(params, "end"))


def orderstate_query(params: Mapping[str, str], source: str) -> OrderStateQuery:
    return OrderStateQuery(
        credentials=credentials(params, source),
        ordernumber=params.get("ordernumber", ""),
        window=_window(params),
    )


def orderresult_query(params: Mapping[str, str], source: str) -> OrderResultQuery:
    return OrderResultQuery(
        credentials=credentials(params, source),
        ordernumber=params.get("ordernumber", ""),
        billnumber=params.get("billnumber", ""),
        window=_window(params),
    )


def confirm_request(params: Mapping[str, str], client_ip: str) -> Confirm:
    return Confirm(
        billnumber=_billnumber(params),
        amount=params.get("amount", ""),
        currency=params.get("currency", ""),
        auto_deposit=_flag(params, "autodeposit", "autodeposit"),
        client_ip=params.get("clientip", "") or client_ip,
    )


_SHOP_REASONS = {r.value for r in (CancelReason.SHOP, CancelReason.CUSTOMER, CancelReason.FRAUD)}


def cancel_request(params: Mapping[str, str], client_ip: str) -> Cancel:
    reason = params.get("cancelreason", "").strip() or CancelReason.SHOP.value
    if reason not in _SHOP_REASONS:
        raise InvalidInput("CancelReason is 1, 2 or 3", field="cancelreason")
    return Cancel(
        billnumber=_billnumber(params),
        amount=params.get("amount", ""),
        currency=params.get("currency", ""),
        reason=CancelReason(reason),
        external_id=params.get("externalrefundid", "").strip(),
        client_ip=params.get("clientip", "") or client_ip,
    )


def _billnumber(params: Mapping[str, str]) -> str:
    value = params.get("billnumber", "").strip()
    if not value:
        raise MissingInput("Billnumber is required", field="billnumber")
    return value
