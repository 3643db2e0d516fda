"""``HttpThreeDSecure``: the ``ThreeDSecure`` port over an ACS's JSON API (the simulator's
``/3ds`` endpoints, ``demobank/acs_web.py``).

- card ranges: ``GET /3ds/ranges`` (``?serial=S`` when ranges of serial ``S`` are held) →
  ``{"serial": S, "ranges": [{"start": PAN, "end": PAN}, ...]}``, or ``{"serial": S}`` alone
  when the ranges of the serial sent are still those published. The serial is opaque, 1 to
  64 printable ASCII characters. Kept by a ``RangeCache`` (``card_ranges``) and reloaded
  when a card comes ``ranges_refresh`` seconds after the last load (0: never loaded).
- ``enroll``: a card outside every range is not enrolled, answered at once without a call;
  any other card — and every card while no ranges are held (never loaded, or the last load
  failed: the server down, an answer that cannot be read) — is asked with
  ``POST /3ds/enroll`` with ``{"pan", "amount" (minor units), "currency" (letter
  code), "merchant_id", "return_url"}``; the answer ``{"enrolled": false}`` is ``None``,
  ``{"enrolled": true, "transaction": ID, "url": URL}`` a ``Challenge``.
- ``result``: ``GET /3ds/result/ID`` → ``{"status": "Y" | "N" | "U", "cavv": "..."}``.

Every request waits at most ``timeout`` seconds and follows no redirect. A transport error, a
timeout, an answer other than 2xx and a body that is not the JSON expected all raise
``NoAnswer``. The card number travels only in the enrollment's body and is never logged.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable

import httpx

from ips.domain.cards import Pan
from ips.domain.money import Money
from ips.processing.card_ranges import CardRange, CardRanges, Published, RangeCache
from ips.processing.json_http import JsonApi
from ips.processing.port import NoAnswer
from ips.processing.secure import Authentication, AuthenticationStatus, Challenge

log = logging.getLogger(__name__)

RANGES_REFRESH = 300.0
"""Seconds the card ranges are trusted before they are loaded again."""


class HttpThreeDSecure:
    def __init__(
        self,
        base_url: str,
        timeout: float,
        *,
        ranges_refresh: float = RANGES_REFRESH,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = JsonApi("ACS", base_url, timeout, transport=transport)
        self._ranges = RangeCache(self._published, ranges_refresh, clock=clock)

    async def may_take_part(self, pan: Pan) -> bool:
        """Whether the card lies inside a range the ACS publishes; ``True`` for every card
        while no ranges are held."""
        ranges = await self._ranges.ranges()
        return ranges is None or ranges.covers(pan.reveal())

    async def enroll(
        self, pan: Pan, amount: Money, merchant_id: str, return_url: str
    ) -> Challenge | None:
        """The challenge the buyer must answer; ``None`` when the card is not enrolled."""
        if not await self.may_take_part(pan):
            log.debug("%s is outside every 3-D Secure card range", pan)
            return None
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

    async def _published(self, serial: str | None) -> Published:
        """The card ranges the ACS publishes (the loader of ``RangeCache``)."""
        query = "" if serial is None else "?" + urllib.parse.urlencode({"serial": serial})
        data = await self._api.exchange("GET", f"/3ds/ranges{query}")
        found, listed = data.get("serial"), data.get("ranges")
        if not (
            isinstance(found, str)
            and 0 < len(found) <= 64
            and found.isascii()
            and found.isprintable()
        ):
            raise NoAnswer("the ACS's card ranges have no serial")
        if listed is None and "ranges" not in data:
            return Published(found, None)
        if not isinstance(listed, list):
            raise NoAnswer("the ACS's card ranges are not a list")
        try:
            return Published(found, CardRanges(_card_range(item) for item in listed))
        except (TypeError, ValueError):
            raise NoAnswer("the ACS's card ranges cannot be read") from None

    async def close(self) -> None:
        await self._api.close()


def _card_range(item: object) -> CardRange:
    if not isinstance(item, dict):
        raise TypeError("a card range is an object")
    start, end = item.get("start"), item.get("end")
    if not isinstance(start, str) or not isinstance(end, str):
        raise TypeError("a card range's bounds are strings")
    return CardRange(start, end)
