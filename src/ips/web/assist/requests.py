"""Assist protocol requests → service commands. Pure parsing: no storage, no rules of money."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from ips.domain.checkvalue import PAYMENT_REQUEST_FIELDS
from ips.domain.errors import InvalidInput, MissingInput
from ips.domain.orders import Buyer, CancelReason, Language, ReturnUrls
from ips.domain.text import is_digits
from ips.services.cancellations import Cancel
from ips.services.confirmations import Confirm
from ips.services.merchants import Credentials
from ips.services.orders import CreateOrder, OrderStateQuery


def _flag(params: Mapping[str, str], name: str, field: str) -> bool:
    value = params.get(name, "0").strip() or "0"
    if value not in ("0", "1"):
        raise InvalidInput(f"{name} must be 0 or 1", field=field)
    return value == "1"


def language(params: Mapping[str, str]) -> Language:
    value = params.get("language", "").strip().upper()
    return Language(value) if value in Language.__members__ else Language.RU


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
        signed_fields={name: params[name] for name in PAYMENT_REQUEST_FIELDS if name in params},
    )


def credentials(params: Mapping[str, str]) -> Credentials:
    for name in ("merchant_id", "login", "password"):
        if not params.get(name, "").strip():
            raise MissingInput(f"{name.capitalize()} is required", field=name)
    return Credentials(params["merchant_id"], params["login"], params["password"])


_PARTS = ("year", "month", "day", "hour", "min")
MIN_YEAR, MAX_YEAR = 2000, 9998


def _moment(params: Mapping[str, str], prefix: str) -> datetime | None:
    """A GMT moment from ``StartYear StartMonth StartDay StartHour StartMin`` (or End…)."""
    given = {part: params.get(prefix + part, "").strip() for part in _PARTS}
    if not any(given.values()):
        return None
    defaults = {"year": "", "month": "1", "day": "1", "hour": "0", "min": "0"}
    if prefix == "end":
        defaults.update(hour="23", min="59")
    values = [given[part] or defaults[part] for part in _PARTS]
    wrong = InvalidInput(f"the {prefix} of the period is not a valid date", field=prefix)
    if not all(is_digits(value) and len(value) <= 4 for value in values):
        raise wrong
    year, month, day, hour, minute = (int(value) for value in values)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise wrong
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError as exc:
        raise wrong from exc
    return moment.replace(second=59) if prefix == "end" else moment


def orderstate_query(params: Mapping[str, str]) -> OrderStateQuery:
    return OrderStateQuery(
        credentials=credentials(params),
        ordernumber=params.get("ordernumber", ""),
        since=_moment(params, "start"),
        until=_moment(params, "end"),
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
    if reason not in {
        r.value for r in (CancelReason.SHOP, CancelReason.CUSTOMER, CancelReason.FRAUD)
    }:
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
