"""The Demo Points program over HTTP: the JSON API IPS calls (``HttpLoyalty``).

=============================================  ===========================================
``GET /loyalty/rates/CUR``                     ``{"currency": CUR, "minor_per_point": N}``:
                                               minor units of CUR one point is worth;
                                               ``null`` when the program takes no CUR
``POST /loyalty/reservations``                 ``{"reference", "account", "pin", "points",
                                               "merchant_id", "description"}`` → the
                                               reservation, as ``GET`` answers it:
                                               ``reserved``, or ``refused`` with its
                                               ``reason``; the same reference again → the
                                               same reservation as it is now (409 when
                                               its account, points or merchant differ)
``GET /loyalty/reservations/REF``              ``{"reference", "status": "reserved" |
                                               "spent" | "released" | "refused" |
                                               "unknown", "points", "reason":
                                               "unknown_account" | "wrong_pin" |
                                               "insufficient_points" | "blocked" |
                                               "locked" | null, "given_back"}``
``POST /loyalty/reservations/REF/spend``       reserved → spent; any other stays → the
                                               reservation, as ``GET`` answers it
``POST /loyalty/reservations/REF/release``     reserved → released; any other stays; an
                                               unknown REF is closed (a reservation
                                               arriving under it later is answered
                                               ``released``, 0 points) → as ``GET``
``POST /loyalty/reservations/REF/give-backs``  ``{"points", "reference"}`` →
                                               ``{"given_back": true}`` when given (or
                                               given before under this reference), else
                                               ``false``; 409 when the give-back's
                                               reference names another reservation's
``POST /loyalty/accruals``                     ``{"reference", "account", "points",
                                               "merchant_id"}`` → ``{"accrued": true |
                                               false}`` (false: unknown or blocked
                                               account, closed reference); 409 as above
``POST /loyalty/accruals/REF/reverse``         → ``{"reversed": true | false, "points":
                                               N}``: the points taken back (at most what
                                               the account has free); ``false``, 0: no
                                               accrual under REF, which is closed
``POST /loyalty/reports``                      ``{"day": "YYYY-MM-DD", "merchant_id",
                                               "lines": [{"reference", "kind": "spend" |
                                               "give_back" | "accrual" |
                                               "accrual_reversal", "points"}]}`` →
                                               ``{"differences": [{"reference", "kind",
                                               "ips_points", "program_points"}]}``
                                               (``null``: not on that side)
=============================================  ===========================================

Values: references 1 to 64 printable ASCII characters without spaces (those of reservations
and accruals, named as REF in paths, without ``/`` either), ``account`` 1 to 32 of them,
``merchant_id`` 1 to 15, ``pin`` 1 to 32 characters without control characters,
``description`` up to 512 of them, ``points`` a whole number from 1 to 10^12 - 1 (0 too in a
report's line); a report holds at most ``MAX_REPORT_LINES`` lines in at most
``MAX_REPORT_BODY`` bytes, and names no operation twice. Errors are
``{"error": "..."}``: 400 for a bad request, 409 for a reference reused with other values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from demobank import webio
from demobank.loyalty import (
    MAX_POINTS,
    RATES,
    AccrualRequest,
    Line,
    LoyaltyBooks,
    OperationKind,
    ReferenceConflict,
    RepeatedLine,
    Reservation,
    ReserveRequest,
)

MAX_REPORT_LINES = 10_000
MAX_REPORT_BODY = 1024 * 1024

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CODE = re.compile(r"[A-Z]{3}")


class LoyaltySite:
    def __init__(self, books: LoyaltyBooks) -> None:
        self._books = books

    @property
    def routes(self) -> list[Route]:
        reservation = "/loyalty/reservations/{reference}"
        return [
            Route("/loyalty/rates/{currency}", self.rate, methods=["GET"]),
            Route("/loyalty/reservations", self.reserve, methods=["POST"]),
            Route(reservation, self.status, methods=["GET"]),
            Route(f"{reservation}/spend", self.spend, methods=["POST"]),
            Route(f"{reservation}/release", self.release, methods=["POST"]),
            Route(f"{reservation}/give-backs", self.give_back, methods=["POST"]),
            Route("/loyalty/accruals", self.accrue, methods=["POST"]),
            Route("/loyalty/accruals/{reference}/reverse", self.reverse, methods=["POST"]),
            Route("/loyalty/reports", self.report, methods=["POST"]),
        ]

    async def rate(self, request: Request) -> Response:
        code = request.path_params["currency"]
        if not _CODE.fullmatch(code):
            raise webio.Refused(400, "the currency is an ISO 4217 letter code such as RUB")
        return webio.answer({"currency": code, "minor_per_point": RATES.get(code)})

    async def reserve(self, request: Request) -> Response:
        data = await webio.json_object(request)
        asked = ReserveRequest(
            reference=_ref(data),
            account=webio.token(data, "account", 32),
            pin=webio.text(data, "pin", 32),
            points=_points(data, "points"),
            merchant_id=webio.token(data, "merchant_id", 15),
            description=webio.text(data, "description", 512, empty=True),
        )
        try:
            reservation = await self._books.reserve(asked)
        except ReferenceConflict:
            raise webio.Refused(409, "this reference names another reservation") from None
        return _reservation(asked.reference, reservation)

    async def status(self, request: Request) -> Response:
        reference = _reference(request)
        return _reservation(reference, await self._books.reservation(reference))

    async def spend(self, request: Request) -> Response:
        reference = _reference(request)
        return _reservation(reference, await self._books.spend(reference))

    async def release(self, request: Request) -> Response:
        reference = _reference(request)
        return _reservation(reference, await self._books.release(reference))

    async def give_back(self, request: Request) -> Response:
        reference = _reference(request)
        data = await webio.json_object(request)
        points, own = _points(data, "points"), webio.token(data, "reference", 64)
        try:
            given = await self._books.give_back(reference, points, own)
        except ReferenceConflict:
            raise webio.Refused(409, "this reference names another give-back") from None
        return webio.answer({"given_back": given})

    async def accrue(self, request: Request) -> Response:
        data = await webio.json_object(request)
        asked = AccrualRequest(
            reference=_ref(data),
            account=webio.token(data, "account", 32),
            points=_points(data, "points"),
            merchant_id=webio.token(data, "merchant_id", 15),
        )
        try:
            accrued = await self._books.accrue(asked)
        except ReferenceConflict:
            raise webio.Refused(409, "this reference names another accrual") from None
        return webio.answer({"accrued": accrued})

    async def reverse(self, request: Request) -> Response:
        reversal = await self._books.reverse_accrual(_reference(request))
        return webio.answer({"reversed": reversal.reversed, "points": reversal.points})

    async def report(self, request: Request) -> Response:
        data = await webio.json_object(request, MAX_REPORT_BODY)
        day = _day(data)
        merchant_id = webio.token(data, "merchant_id", 15)
        lines = data.get("lines")
        if not isinstance(lines, list) or len(lines) > MAX_REPORT_LINES:
            raise webio.Refused(400, f"lines is a list of at most {MAX_REPORT_LINES} lines")
        try:
            differences = await self._books.compare(day, merchant_id, [_line(x) for x in lines])
        except RepeatedLine as exc:
            raise webio.Refused(400, f"the report names {exc} twice") from None
        return webio.answer(
            {
                "differences": [
                    {
                        "reference": d.reference,
                        "kind": d.kind.value,
                        "ips_points": d.ips_points,
                        "program_points": d.program_points,
                    }
                    for d in differences
                ]
            }
        )


def _reference(request: Request) -> str:
    """The reference the path names."""
    return _ref({"reference": request.path_params["reference"]})


def _ref(data: Mapping[str, object]) -> str:
    """The reference of a reservation or an accrual: one segment of a path."""
    value = webio.token(data, "reference", 64)
    if "/" in value:
        raise webio.Refused(400, "reference holds no /")
    return value


def _points(data: Mapping[str, object], name: str, *, least: int = 1) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_POINTS:
        raise webio.Refused(400, f"{name} is a whole number of points, {least} to {MAX_POINTS}")
    return value


def _day(data: Mapping[str, object]) -> date:
    value = data.get("day")
    if isinstance(value, str) and _DAY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if day < date.max:  # a day has to end
                return day
    raise webio.Refused(400, "day is a date, YYYY-MM-DD, before 9999-12-31")


def _line(value: object) -> Line:
    if not isinstance(value, dict):
        raise webio.Refused(400, "a line is an object: reference, kind, points")
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in set(OperationKind):
        kinds = ", ".join(OperationKind)
        raise webio.Refused(400, f"a line's kind is one of {kinds}")
    return Line(
        webio.token(value, "reference", 64),
        OperationKind(kind),
        _points(value, "points", least=0),
    )


def _reservation(reference: str, reservation: Reservation | None) -> Response:
    """A reservation as the API shows it; ``unknown`` when there is none."""
    if reservation is None:
        return webio.answer(
            {
                "reference": reference,
                "status": "unknown",
                "points": 0,
                "reason": None,
                "given_back": 0,
            }
        )
    return webio.answer(
        {
            "reference": reference,
            "status": reservation.status.value,
            "points": reservation.points,
            "reason": None if reservation.reason is None else reservation.reason.value,
            "given_back": reservation.given_back,
        }
    )
