"""``HttpLoyalty``: the ``Loyalty`` port over a points program's JSON API (the simulator's Demo
Points, ``demobank/loyalty_web.py``). REF is IPS's reference, one segment of the
path.

- ``rate``: ``GET /loyalty/rates/CUR`` → ``{"currency": CUR, "minor_per_point": N | null}``.
- ``reserve``: ``POST /loyalty/reservations`` with ``{"reference", "account", "pin",
  "points", "merchant_id", "description"}`` → the reservation: ``{"reference", "status",
  "points", "reason", "given_back"}``, ``status`` one of ``reserved``, ``spent``,
  ``released``, ``refused``, ``unknown``; ``reason`` (``unknown_account``, ``wrong_pin``,
  ``insufficient_points``, ``blocked``, ``locked``) when refused, else ``null``.
- ``status``: ``GET /loyalty/reservations/REF`` → the reservation.
- ``spend``, ``release``: ``POST /loyalty/reservations/REF/spend`` (``/release``) → the
  reservation after.
- ``give_back``: ``POST /loyalty/reservations/REF/give-backs`` with ``{"points", "reference"}``
  (the give-back's own) → ``{"given_back": true | false}``.
- ``accrue``: ``POST /loyalty/accruals`` with ``{"reference", "account", "points",
  "merchant_id"}`` → ``{"accrued": true | false}``.
- ``reverse_accrual``: ``POST /loyalty/accruals/REF/reverse`` → ``{"reversed": true | false,
  "points": N}``.
- ``report``: ``POST /loyalty/reports`` with ``{"day": "YYYY-MM-DD", "merchant_id", "lines":
  [{"reference", "kind", "points"}]}`` → ``{"differences": [{"reference", "kind",
  "ips_points", "program_points"}]}``.

Answers are read strictly: a field missing or of another type, a status, reason or kind not
known, a reservation of another reference, a reason without a refusal, counts of points below
0 — all raise ``NoAnswer``, as do a transport error, a timeout, an answer other than 2xx (a
reference reused for another operation is answered 409) and a body that is not JSON. Every
request waits at most ``timeout`` seconds and follows no redirect.
"""

from __future__ import annotations

import urllib.parse
from datetime import date

import httpx

from ips.domain.money import Currency
from ips.processing.json_http import JsonApi
from ips.processing.loyalty import (
    AccrualReversal,
    Difference,
    PointsOperation,
    RefusalReason,
    ReportLine,
    Reservation,
    ReservationStatus,
)
from ips.processing.port import NoAnswer


class HttpLoyalty:
    def __init__(
        self,
        base_url: str,
        timeout: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api = JsonApi("points program", base_url, timeout, transport=transport)

    async def rate(self, currency: Currency) -> int | None:
        data = await self._api.exchange("GET", f"/loyalty/rates/{_segment(currency.code)}")
        minor = data.get("minor_per_point")
        if data.get("currency") != currency.code or not (minor is None or _count(minor)):
            raise NoAnswer("the points program's rate cannot be read")
        if minor is None:
            return None
        assert isinstance(minor, int)
        if minor == 0:
            raise NoAnswer("the points program's rate is 0")
        return minor

    async def reserve(
        self,
        reference: str,
        account: str,
        pin: str,
        points: int,
        merchant_id: str,
        description: str,
    ) -> Reservation:
        body: dict[str, object] = {
            "reference": reference,
            "account": account,
            "pin": pin,
            "points": points,
            "merchant_id": merchant_id,
            "description": description,
        }
        data = await self._api.exchange("POST", "/loyalty/reservations", body)
        reservation = _reservation(reference, data)
        if reservation.status is ReservationStatus.UNKNOWN:
            raise NoAnswer("the points program answered a reservation with no reservation")
        return reservation

    async def status(self, reference: str) -> ReservationStatus:
        path = f"/loyalty/reservations/{_segment(reference)}"
        return _reservation(reference, await self._api.exchange("GET", path)).status

    async def spend(self, reference: str) -> ReservationStatus:
        path = f"/loyalty/reservations/{_segment(reference)}/spend"
        return _reservation(reference, await self._api.exchange("POST", path, {})).status

    async def release(self, reference: str) -> ReservationStatus:
        path = f"/loyalty/reservations/{_segment(reference)}/release"
        return _reservation(reference, await self._api.exchange("POST", path, {})).status

    async def give_back(self, reference: str, points: int, refund_reference: str) -> bool:
        path = f"/loyalty/reservations/{_segment(reference)}/give-backs"
        data = await self._api.exchange(
            "POST", path, {"points": points, "reference": refund_reference}
        )
        return _flag(data, "given_back")

    async def accrue(self, reference: str, account: str, points: int, merchant_id: str) -> bool:
        body: dict[str, object] = {
            "reference": reference,
            "account": account,
            "points": points,
            "merchant_id": merchant_id,
        }
        return _flag(await self._api.exchange("POST", "/loyalty/accruals", body), "accrued")

    async def reverse_accrual(self, reference: str) -> AccrualReversal:
        path = f"/loyalty/accruals/{_segment(reference)}/reverse"
        data = await self._api.exchange("POST", path, {})
        reversed_, points = _flag(data, "reversed"), data.get("points")
        if not _count(points) or (not reversed_ and points != 0):
            raise NoAnswer("the points program's reversal cannot be read")
        assert isinstance(points, int)
        return AccrualReversal(reversed=reversed_, points=points)

    async def report(
        self, day: date, merchant_id: str, lines: list[ReportLine]
    ) -> list[Difference]:
        body: dict[str, object] = {
            "day": day.isoformat(),
            "merchant_id": merchant_id,
            "lines": [
                {"reference": line.reference, "kind": line.kind.value, "points": line.points}
                for line in lines
            ],
        }
        data = await self._api.exchange("POST", "/loyalty/reports", body)
        differences = data.get("differences")
        if not isinstance(differences, list):
            raise NoAnswer("the points program's differences cannot be read")
        return [_difference(item) for item in differences]

    async def close(self) -> None:
        await self._api.close()


def _reservation(reference: str, data: dict[str, object]) -> Reservation:
    """The reservation ``reference`` as the program answers it."""
    try:
        status = ReservationStatus(data.get("status"))
        reason = None if data.get("reason") is None else RefusalReason(data.get("reason"))
    except ValueError:
        raise NoAnswer("the points program's reservation status is not known") from None
    points = data.get("points")
    if (
        data.get("reference") != reference
        or not _count(points)
        or (reason is not None) != (status is ReservationStatus.REFUSED)
    ):
        raise NoAnswer("the points program's reservation cannot be read")
    assert isinstance(points, int)
    return Reservation(status=status, points=points, reason=reason)


def _difference(item: object) -> Difference:
    if not isinstance(item, dict):
        raise NoAnswer("a difference of the points program cannot be read")
    try:
        kind = PointsOperation(item.get("kind"))
    except ValueError:
        raise NoAnswer("a difference of the points program names no known kind") from None
    reference, ips, program = (
        item.get("reference"),
        item.get("ips_points"),
        item.get("program_points"),
    )
    if (
        not isinstance(reference, str)
        or not all(value is None or _count(value) for value in (ips, program))
        or ips == program
    ):
        raise NoAnswer("a difference of the points program cannot be read")
    assert (ips is None or isinstance(ips, int)) and (program is None or isinstance(program, int))
    return Difference(reference=reference, kind=kind, ips_points=ips, program_points=program)


def _flag(data: dict[str, object], name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise NoAnswer(f"the points program's {name!r} cannot be read")
    return value


def _count(value: object) -> bool:
    """Whether ``value`` is a count of points: a whole number, 0 or more (not a JSON
    boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _segment(value: str) -> str:
    """``value`` as one segment of a URL's path."""
    return urllib.parse.quote(value, safe="")
