"""``HttpWallet``: the ``Wallet`` port over an e-wallet provider's JSON API (the simulator's
Demo Wallet, ``demobank/wallet_web.py``).

- ``create``: ``POST /wallet/payments`` with ``{"reference", "amount" (minor units),
  "currency" (letter code), "merchant_id", "description", "return_url"}`` →
  ``{"id": ID, "url": URL}``; the same reference again answers the same payment.
- ``status``: ``GET /wallet/payments/ID`` → ``{"status": "pending" | "paid" | "declined",
  "account": "d***o"}``.
- ``cancel``: ``POST /wallet/payments/ID/cancel`` → the status, as ``GET`` answers it.
- ``refund``: ``POST /wallet/payments/ID/refunds`` with ``{"amount", "currency",
  "reference"}`` → ``{"refunded": true | false}``.

Every request waits at most ``timeout`` seconds and follows no redirect. A transport error, a
timeout, an answer other than 2xx and a body that is not the JSON expected all raise
``NoAnswer``.
"""

from __future__ import annotations

import logging
import urllib.parse

import httpx

from ips.domain.money import Money
from ips.processing.json_http import JsonApi
from ips.processing.port import NoAnswer
from ips.processing.wallet import WalletPayment, WalletState, WalletStatus

log = logging.getLogger(__name__)


class HttpWallet:
    def __init__(
        self,
        base_url: str,
        timeout: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api = JsonApi("wallet", base_url, timeout, transport=transport)

    async def create(
        self, reference: str, amount: Money, merchant_id: str, description: str, return_url: str
    ) -> WalletPayment:
        """``reference`` is IPS's own id of the payment: the same reference twice makes one
        payment at the provider."""
        body = {
            "reference": reference,
            "amount": amount.minor,
            "currency": amount.currency.code,
            "merchant_id": merchant_id,
            "description": description,
            "return_url": return_url,
        }
        data = await self._api.exchange("POST", "/wallet/payments", body)
        payment_id, url = data.get("id"), data.get("url")
        if (
            not isinstance(payment_id, str)
            or not payment_id
            or not isinstance(url, str)
            or urllib.parse.urlsplit(url).scheme not in ("http", "https")
        ):
            raise NoAnswer("the wallet's payment cannot be read")
        return WalletPayment(id=payment_id, url=url)

    async def status(self, payment_id: str) -> WalletState:
        return _state(await self._api.exchange("GET", f"/wallet/payments/{_segment(payment_id)}"))

    async def cancel(self, payment_id: str) -> WalletState:
        path = f"/wallet/payments/{_segment(payment_id)}/cancel"
        return _state(await self._api.exchange("POST", path, {}))

    async def refund(self, payment_id: str, amount: Money, reference: str) -> bool:
        """True when the provider gave ``amount`` back; a repeat with the same ``reference``
        gives nothing more back."""
        body = {"amount": amount.minor, "currency": amount.currency.code, "reference": reference}
        path = f"/wallet/payments/{_segment(payment_id)}/refunds"
        data = await self._api.exchange("POST", path, body)
        refunded = data.get("refunded")
        if not isinstance(refunded, bool):
            raise NoAnswer("the wallet's refund answer cannot be read")
        return refunded

    async def close(self) -> None:
        await self._api.close()


def _state(data: dict[str, object]) -> WalletState:
    account = data.get("account", "")
    try:
        status = WalletStatus(data.get("status"))
    except ValueError:
        raise NoAnswer("the wallet's status is not known") from None
    if not isinstance(account, str):
        raise NoAnswer("the wallet's account cannot be read")
    return WalletState(status, account)


def _segment(value: str) -> str:
    """``value`` as one segment of a URL's path."""
    return urllib.parse.quote(value, safe="")
