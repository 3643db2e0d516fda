"""``HttpThreeDSecure``: the ``ThreeDSecure`` port over an ACS's JSON API (the simulator's
``/3ds`` endpoints, ``processing/simulator/acs_web.py``).

- ``enroll``: ``POST /3ds/enroll`` with ``{"pan", "amount" (minor units), "currency" (letter
  code), "merchant_id", "return_url"}``; the answer ``{"enrolled": false}`` is ``None``,
  ``{"enrolled": true, "transaction": ID, "url": URL}`` a ``Challenge``.
- ``result``: ``GET /3ds/result/ID`` → ``{"status": "Y" | "N" | "U", "cavv": "..."}``.

Every request waits at most ``timeout`` seconds and follows no redirect. A transport error, a
timeout, an answer other than 2xx and a body that is not the JSON expected all raise
``NoAnswer``. The card number travels only in the enrollment's body and is never logged.
"""

from __future__ import annotations

import logging
import urllib.parse

import httpx

from ips.domain.cards import Pan
from ips.domain.money import Money
from ips.processing.json_http import JsonApi
from ips.processing.port import NoAnswer
from ips.processing.secure import Authentication, AuthenticationStatus, Challenge

log = logging.getLogger(__name__)


class HttpThreeDSecure:
    def __init__(
        self,
        base_url: str,
        timeout: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api = JsonApi("ACS", base_url, timeout, transport=transport)

    async def enroll(
        self, pan: Pan, amount: Money, merchant_id: str, return_url: str
    ) -> Challenge | None:
        """The challenge the buyer must answer; ``None`` when the card is not enrolled."""
        body = {
            "pan": pan.reveal(),
            "amount": amount.minor,
            "currency": amount.currency.code,
            "merchant_id": merchant_id,
            "return_url": return_url,
        }
        data = await self._api.exchange("POST", "/3ds/enroll", body)
        enrolled, transaction, url = data.get("enrolled"), data.get("transaction"), data.get("url")
        if enrolled is False:
            log.debug("%s is not enrolled in 3-D Secure", pan)
            return None
        if (
            enrolled is not True
            or not isinstance(transaction, str)
            or not transaction
            or not isinstance(url, str)
            or urllib.parse.urlsplit(url).scheme not in ("http", "https")
        ):
            raise NoAnswer("the ACS's enrollment answer cannot be read")
        log.debug("%s is enrolled in 3-D Secure: challenge %s", pan, transaction)
        return Challenge(transaction=transaction, url=url)

    async def result(self, transaction: str) -> Authentication:
        path = f"/3ds/result/{urllib.parse.quote(transaction, safe='')}"
        data = await self._api.exchange("GET", path)
        status, cavv = data.get("status"), data.get("cavv", "")
        try:
            found = AuthenticationStatus(status)
        except ValueError:
            raise NoAnswer("the ACS's result has no known status") from None
        if not isinstance(cavv, str) or (found is AuthenticationStatus.AUTHENTICATED) != bool(cavv):
            raise NoAnswer("the ACS's result has no CAVV, or one where none belongs")
        return Authentication(found, cavv)

    async def close(self) -> None:
        await self._api.close()
