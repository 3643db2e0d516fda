"""The merchant (the shop, the enterprise): who may create orders and use the web services."""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ips.domain.acquirers import Route
from ips.domain.cards import Secret
from ips.domain.errors import InvalidInput
from ips.domain.money import Currency
from ips.domain.notifications import ALLOWED_PORTS, AnswerMode
from ips.domain.orders import DEFAULT_PAYMENT_ATTEMPTS, OperationKind, PaymentMeans
from ips.domain.points import DEFAULT_POINTS_SHARE

_MERCHANT_ID = re.compile(r"[0-9]{1,12}")


class BuyerField(enum.Enum):
    """Buyer's data a merchant may require."""

    EMAIL = "email"
    NAME = "name"
    PHONE = "phone"


NOTIFIED = {
    OperationKind.PAYMENT: "payment",
    OperationKind.CONFIRMATION: "confirmation",
    OperationKind.CANCEL: "cancel",
    OperationKind.BONUS_ACCRUAL: "accrual",
}
"""The results a merchant may be notified of, by the names the operator gives them."""

_HOST = re.compile(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)


def parse_host(text: str) -> str:
    host = text.strip().lower().rstrip(".")
    if not _HOST.fullmatch(host):
        raise InvalidInput(f"{text!r} is not a host name", field="return_host")
    return host


def parse_callback_url(text: str, ports: frozenset[int] = ALLOWED_PORTS) -> str:
    """The merchant's notification URL: http(s), on one of the ports notifications may use."""
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the callback URL must be an http(s) URL", field="callback_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput("the callback URL has a wrong port", field="callback_url") from None
    if port not in ports:
        raise InvalidInput(
            f"notifications go to ports {', '.join(map(str, sorted(ports)))} only",
            field="callback_url",
        )
    return url


def parse_merchant_id(text: str) -> str:
    value = text.strip()
    if not _MERCHANT_ID.fullmatch(value):
        raise InvalidInput("Merchant_ID is a number of up to 12 digits", field="merchant_id")
    return value


@dataclass
class Merchant:
    merchant_id: str
    name: str
    login: str
    password_hash: str = field(repr=False)
    secret_word: Secret
    default_currency: Currency
    created_at: datetime
    double_stage: bool = False
    callback_url: str = ""
    require_checkvalue: bool = False
    checkvalue_legacy_concat: bool = False
    """Payment requests may be signed over their fields joined without separators, a form
    that binds no value to its field (``signed_fields``)."""
    means: frozenset[PaymentMeans] = frozenset({PaymentMeans.CARD, PaymentMeans.WALLET})
    """The ways to pay the shop offers its buyers."""
    required_fields: frozenset[BuyerField] = frozenset()
    """What the buyer must give when the payment request did not."""
    require_3ds: bool = False
    """Cards that do not take part in 3-D Secure are refused."""
    allow_disable_3ds: bool = False
    """A payment request may skip 3-D Secure with ``Disable3DS=1``."""
    notify_kinds: frozenset[OperationKind] = frozenset({OperationKind.PAYMENT})
    """The operations whose results are posted to ``callback_url``."""
    notify_answer: AnswerMode = AnswerMode.PUSHPAYMENTRESULT
    return_hosts: tuple[str, ...] = ()
    """Hosts the buyer may be sent back to (and their subdomains). The return URLs of a
    payment request are not covered by its checkvalue, so without this list anyone could
    make IPS's page send a shop's buyers anywhere."""
    previous_secret_word: Secret | None = None
    previous_secret_until: datetime | None = None
    """After a rotation, requests signed with the previous word are accepted until then."""
    ws_addresses: tuple[str, ...] = ()
    """Networks the web services may be called from (``addresses.parse_networks``); empty:
    any."""
    payment_attempts: int = DEFAULT_PAYMENT_ATTEMPTS
    """How many payments the buyer may try on one order (``Order.may_be_paid``)."""
    points_share: int = DEFAULT_POINTS_SHARE
    """The share of an order, in percent, bonus points may pay (``points.points_offer``)."""
    points_accrual: int = 0
    """Percent of a card payment accrued to the buyer in bonus points (``services/accruals``);
    0: none."""
    disabled: bool = False
    """Takes no new orders; its confirmations, cancels and web services go on."""
    routes: tuple[Route, ...] = ()
    """The acquirers its card payments go to (``acquirers.route``); none: the default."""
    credential_mac: str = field(default="", repr=False)
    credential_until: datetime | None = None
    """The web-service credential verified last, as a keyed hash over it and the password
    hash (``services/credentials.py``), believed without a password check until then."""

    def change_ws_password(self, password_hash: str) -> None:
        """A new web-service password: the credential remembered is forgotten."""
        self.password_hash = password_hash
        self.credential_mac, self.credential_until = "", None

    def secret_words(self, now: datetime) -> list[str]:
        """The words a request's checkvalue may be made with: the current one, and the
        previous one while its grace period lasts. Answers are signed with the current one."""
        words = [self.secret_word.reveal()]
        if (
            self.previous_secret_word
            and self.previous_secret_until
            and now < self.previous_secret_until
        ):
            words.append(self.previous_secret_word.reveal())
        return words

    def rotate_secret_word(self, new: str, now: datetime, grace: timedelta) -> None:
        if not new.strip():
            raise InvalidInput("the secret word may not be empty", field="secret_word")
        if new == self.secret_word.reveal():
            raise InvalidInput("the new secret word is the current one", field="secret_word")
        self.previous_secret_word = self.secret_word if grace > timedelta(0) else None
        self.previous_secret_until = now + grace if grace > timedelta(0) else None
        self.secret_word = Secret(new)

    def allows_return_to(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        allowed = set(self.return_hosts)
        if self.callback_url:
            allowed.add((urlsplit(self.callback_url).hostname or "").lower())
        return any(host == h or host.endswith("." + h) for h in allowed if h)


def settings_of(merchant: Merchant) -> dict[str, Any]:
    """Every setting of the merchant the operator may change, JSON-shaped (what the audit
    trail keeps of a change, and what ``version`` is made of); secrets left out."""
    return {
        "name": merchant.name,
        "default_currency": merchant.default_currency.code,
        "double_stage": merchant.double_stage,
        "callback_url": merchant.callback_url,
        "notify_kinds": sorted(NOTIFIED[kind] for kind in merchant.notify_kinds),
        "notify_answer": merchant.notify_answer.value,
        "means": sorted(means.value for means in merchant.means),
        "required_fields": sorted(buyer.value for buyer in merchant.required_fields),
        "require_3ds": merchant.require_3ds,
        "allow_disable_3ds": merchant.allow_disable_3ds,
        "require_checkvalue": merchant.require_checkvalue,
        "checkvalue_legacy_concat": merchant.checkvalue_legacy_concat,
        "return_hosts": list(merchant.return_hosts),
        "ws_addresses": list(merchant.ws_addresses),
        "payment_attempts": merchant.payment_attempts,
        "points_share": merchant.points_share,
        "points_accrual": merchant.points_accrual,
        "routes": [str(r) for r in merchant.routes],
        "disabled": merchant.disabled,
    }


def version(merchant: Merchant) -> str:
    """A digest of the merchant's settings as they are (``settings_of``): a form that
    carries it says which settings it was filled in over, so a change made over settings
    that have changed since is found out (``services/merchants.change_merchant``)."""
    shown = json.dumps(settings_of(merchant), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(shown.encode()).hexdigest()[:32]
