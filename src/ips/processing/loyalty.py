"""The ``Loyalty`` port: a bonus-points program that takes part of a payment in points.

The buyer gives IPS the number of a points account and its PIN; IPS asks the program's
``rate`` in the order's currency (what one point is worth), ``reserve``s the points on the
account, and once the rest of the order is paid, ``spend``s them — or ``release``s them when
the rest is not paid. Spent points are given back, all or part, with ``give_back`` when the
payment is cancelled. A merchant may also ``accrue`` points to a buyer for a payment, taken
back with ``reverse_accrual`` when that payment is cancelled. The points operations are not
in any settlement batch: IPS ``report``s each day's to the program, which answers where its
books differ.

Every operation is named by IPS's own ``reference`` (a string IPS chooses: 1 to 64 printable
ASCII characters, no space, no ``/``), never by the program's ids, so IPS can end whatever a
crash left open knowing only its own books; every call is idempotent per reference — a repeat
answers what the first call did and changes nothing more. A reference that never reached the
program can still be closed: ``release`` (or ``reverse_accrual``) of it answers that nothing
was held (or accrued), and a late request under it then holds (or accrues) nothing. A
reference used again for another operation (other account, points or merchant) is an error of
the caller, answered as ``NoAnswer``.

Points are whole numbers. A refusal (wrong PIN, too few points…) is an answer, not an error.
Every method raises ``NoAnswer`` when the program cannot be reached or its answer cannot be
read: the outcome is then unknown, and ``status`` (or the same call again) finds it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from ips.domain.money import Currency


class ReservationStatus(enum.Enum):
    RESERVED = "reserved"
    """The points are held on the account: neither spent nor free."""
    SPENT = "spent"
    """Taken from the account (some may have been given back since)."""
    RELEASED = "released"
    """Given up: the points are free again (or nothing was ever held)."""
    REFUSED = "refused"
    """The program refused to hold them (``Reservation.reason``): nothing is held."""
    UNKNOWN = "unknown"
    """The program holds nothing under this reference: it never got the reservation, or got
    its release first."""


class RefusalReason(enum.Enum):
    UNKNOWN_ACCOUNT = "unknown_account"
    WRONG_PIN = "wrong_pin"
    INSUFFICIENT_POINTS = "insufficient_points"
    """The account holds fewer free points than asked."""
    BLOCKED = "blocked"
    """The program has blocked the account."""
    LOCKED = "locked"
    """Too many wrong PINs in a row: the account takes no PIN for a while (30 minutes at the
    simulator, after 10)."""


@dataclass(frozen=True)
class Reservation:
    status: ReservationStatus
    """``reserved`` or ``refused`` for a new reservation; a repeated reference answers the
    reservation as it is now (``spent``, ``released``… too)."""
    points: int
    """The points the reservation holds (or held, or was refused)."""
    reason: RefusalReason | None = None
    """Why it was refused; ``None`` unless ``status`` is ``refused``."""


@dataclass(frozen=True)
class AccrualReversal:
    reversed: bool
    """True when the reference names an accrual that is now reversed (by this call or an
    earlier one); False when no accrual was made under it (never received, or refused) — and
    none will be: the reference is closed."""
    points: int
    """The points taken back: those accrued, or fewer when the buyer had spent or reserved
    some (the program takes back what the account has free, never more); 0 when not
    ``reversed``."""


class PointsOperation(enum.Enum):
    """A kind of operation that moves points, as a report names it."""

    SPEND = "spend"
    """A reservation spent; its reference is the reservation's."""
    GIVE_BACK = "give_back"
    """Spent points given back; its reference is the give-back's own (``refund_reference``)."""
    ACCRUAL = "accrual"
    ACCRUAL_REVERSAL = "accrual_reversal"
    """Its reference is the accrual's; its points those taken back."""


@dataclass(frozen=True)
class ReportLine:
    reference: str
    kind: PointsOperation
    points: int


@dataclass(frozen=True)
class Difference:
    """Where IPS's report and the program's books of a day disagree about one operation."""

    reference: str
    kind: PointsOperation
    ips_points: int | None
    """The points in IPS's report; ``None`` when IPS did not report the operation."""
    program_points: int | None
    """The points in the program's books; ``None`` when the program has no such operation
    that day."""


class Loyalty(Protocol):
    async def rate(self, currency: Currency) -> int | None:
        """Minor units of ``currency`` one point is worth; ``None`` when the program takes no
        payment in that currency."""
        ...

    async def reserve(
        self,
        reference: str,
        account: str,
        pin: str,
        points: int,
        merchant_id: str,
        description: str,
    ) -> Reservation:
        """Hold ``points`` on ``account``: ``reserved``, or ``refused`` with its reason (a
        refusal is final for its reference: another try takes a new one). The same reference
        again answers the same reservation and holds nothing more."""
        ...

    async def status(self, reference: str) -> ReservationStatus: ...

    async def spend(self, reference: str) -> ReservationStatus:
        """Take the reserved points from the account. A reservation that is not ``reserved``
        stays as it is (a released one is never spent). The status after."""
        ...

    async def release(self, reference: str) -> ReservationStatus:
        """Give up a reservation: a reserved one is ``released``, any other stays as it is (a
        spent one stays spent: give its points back instead). An unknown reference answers
        ``unknown`` and is closed: a reservation that arrives under it later holds nothing.
        The status after."""
        ...

    async def give_back(self, reference: str, points: int, refund_reference: str) -> bool:
        """Give ``points`` of a spent reservation back to its account: True when given (or
        given before under ``refund_reference``, which gives nothing more); False when the
        reservation is not spent or ``points`` is above what is left of it. Never more in
        total than was spent."""
        ...

    async def accrue(self, reference: str, account: str, points: int, merchant_id: str) -> bool:
        """Credit ``points`` to ``account`` (no PIN needed): True when credited (or credited
        before under this reference: nothing more); False for an unknown or blocked account,
        or a reference closed by ``reverse_accrual``."""
        ...

    async def reverse_accrual(self, reference: str) -> AccrualReversal:
        """Take back the points of an accrual, at most once. When the buyer has spent or
        reserved some of them, the program takes what the account has free and says how much
        (``AccrualReversal.points``). An unknown reference is closed (nothing is accrued under
        it later)."""
        ...

    async def report(
        self, day: date, merchant_id: str, lines: list[ReportLine]
    ) -> list[Difference]:
        """IPS's points operations of ``merchant_id`` on ``day`` (UTC), compared with the
        program's books of that day: the differences, none when they agree."""
        ...
