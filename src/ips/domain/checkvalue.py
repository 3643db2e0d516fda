"""The Assist checkvalue: the shop's proof that a request is its own, and ours for answers.

    checkvalue = UPPER(md5hex(UPPER(md5hex(SALT) + md5hex(X))))

SALT is the merchant's secret word. For a payment request, X is the values of the fields the
request carries, joined by ``;`` (what that proves is ``signed_fields``'s subject). For
answers and callbacks, X is merchant_id + ordernumber + orderamount + ordercurrency +
orderstate, concatenated with no separator.
"""

from __future__ import annotations

import hashlib
import hmac


def _md5hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def checkvalue(salt: str, x: str) -> str:
    return _md5hex((_md5hex(salt) + _md5hex(x)).upper()).upper()


def answer_checkvalue(
    salt: str, merchant_id: str, ordernumber: str, amount: str, currency: str, state: str
) -> str:
    return checkvalue(salt, merchant_id + ordernumber + amount + currency + state)


def matches(expected: str, given: str) -> bool:
    """Constant-time, case-insensitive; any text may come from outside, so bytes are compared
    (``compare_digest`` refuses non-ASCII ``str``)."""
    return hmac.compare_digest(expected.upper().encode(), given.strip().upper().encode())
