"""The Assist checkvalue: the shop's proof that a request is its own, and ours for answers.

    checkvalue = UPPER(md5hex(UPPER(md5hex(SALT) + md5hex(X))))

SALT is the merchant's secret word. For a payment request, X is the fields the request
carries, each exactly as sent, in the order of ``PAYMENT_REQUEST_FIELDS``, joined by ``;`` —
or, as some shop modules (CS-Cart, WooCommerce, HostCMS) compute it, with no separator; both
are accepted. For answers and callbacks, X is merchant_id + ordernumber + orderamount +
ordercurrency + orderstate, concatenated with no separator.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

PAYMENT_REQUEST_FIELDS = (
    "merchant_id",
    "ordernumber",
    "orderamount",
    "ordercurrency",
    "ordermaxpoints",
    "customernumber",
    "disable3ds",
    "prepayment",
)


def _md5hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def checkvalue(salt: str, x: str) -> str:
    return _md5hex((_md5hex(salt) + _md5hex(x)).upper()).upper()


def payment_request_checkvalue(salt: str, params: Mapping[str, str], separator: str = ";") -> str:
    """``params`` keyed by lower-case field name, values exactly as the shop sent them."""
    present = [params[name] for name in PAYMENT_REQUEST_FIELDS if name in params]
    return checkvalue(salt, separator.join(present))


def payment_request_matches(salt: str, params: Mapping[str, str], given: str) -> bool:
    """Whether ``given`` is the request's checkvalue, its fields joined by ``;`` or by nothing."""
    return any(
        matches(payment_request_checkvalue(salt, params, separator), given)
        for separator in (";", "")
    )


def answer_checkvalue(
    salt: str, merchant_id: str, ordernumber: str, amount: str, currency: str, state: str
) -> str:
    return checkvalue(salt, merchant_id + ordernumber + amount + currency + state)


def matches(expected: str, given: str) -> bool:
    """Constant-time, case-insensitive; any text may come from outside, so bytes are compared
    (``compare_digest`` refuses non-ASCII ``str``)."""
    return hmac.compare_digest(expected.upper().encode(), given.strip().upper().encode())
