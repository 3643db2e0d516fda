"""The bonus-points program "Demo Points": its accounts, reservations, give-backs, accruals and
reports, and its rules.

A reservation goes::

    reserve ──► reserved ──► spent      (its points leave the account; given back in parts)
       │             └────► released   (its points are free again)
       └──► refused: unknown_account, blocked, locked, wrong_pin, insufficient_points

Everything is named by the merchant's (IPS's) ``reference``, and every call is idempotent by
it: a reservation or accrual repeated under its reference answers what the first call did
(``ReferenceConflict`` when the account, points or merchant differ); a refusal is final for
its reference. ``release`` (or ``reverse_accrual``) of a reference the program never got
closes it (``loyalty_closed``): a reservation (accrual) that arrives under it later holds
(credits) nothing. A give-back has a reference of its own, unique in the program; repeated, it
gives nothing more; a reservation never gets back more than it spent.

An account's ``balance`` counts its points, ``reserved`` those held by reservations, never
more than the balance: a reservation takes ``reserved`` up only where ``balance - reserved``
covers it, in the one SQL statement that checks it, so two reservations racing for one
balance never both take it. A spend takes the points from both; a release from ``reserved``
only. An accrual's reversal takes back what the account has free (``balance - reserved``), at
most the points accrued, and says how much.

Rates (``RATES``): one point is worth 1.00 RUB, 0.01 USD or 0.01 EUR; no other currency is
taken. The test accounts (``TEST_ACCOUNTS``): ``7000000001`` PIN ``1111`` with 100,000 points,
``7000000002`` PIN ``2222`` with 50, and ``7000000003`` PIN ``3333``, blocked; an account's
row is written by its first use, as the Demo Wallet's are. PINs are kept as SHA-256 hashes
(test data of a simulator: no need of a slow hash) and compared in constant time. After
``LOCK_AFTER`` wrong PINs in a row an account takes no PIN for 30 minutes (``locked``, not
even the right one); a right PIN clears the count.

IPS reports each day's points operations of a merchant (``compare``): spends (by the
reservation's reference), give-backs (by their own), accruals and their reversals (by the
accrual's), each with its points. The program books each operation on the UTC day of its own
clock when it took it, and answers every operation where the report and its books of that day
differ: missing on one side or with other points.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from demobank.lockout import LoginGuard
from demobank.money import Currency
from demobank.store import Store, stamp

MAX_POINTS = 10**12 - 1
"""The most points one operation moves."""
LOCK_AFTER = 10
"""Wrong PINs in a row that lock an account (for ``lockout.LOCKED_FOR``)."""

RATES: dict[str, int] = {"RUB": 100, "USD": 1, "EUR": 1}
"""Minor units of each currency the program takes that one point is worth."""


@dataclass(frozen=True)
class TestAccount:
    pin: str
    points: int
    """The points it opens with."""
    blocked: bool = False


TEST_ACCOUNTS: dict[str, TestAccount] = {
    "7000000001": TestAccount("1111", 100_000),
    "7000000002": TestAccount("2222", 50),
    "7000000003": TestAccount("3333", 0, blocked=True),
}


class ReservationStatus(enum.StrEnum):
    RESERVED = "reserved"
    SPENT = "spent"
    RELEASED = "released"
    REFUSED = "refused"


class RefusalReason(enum.StrEnum):
    UNKNOWN_ACCOUNT = "unknown_account"
    WRONG_PIN = "wrong_pin"
    INSUFFICIENT_POINTS = "insufficient_points"
    BLOCKED = "blocked"
    LOCKED = "locked"


class OperationKind(enum.StrEnum):
    """A points operation as a report names it."""

    SPEND = "spend"
    GIVE_BACK = "give_back"
    ACCRUAL = "accrual"
    ACCRUAL_REVERSAL = "accrual_reversal"


@dataclass(frozen=True)
class ReserveRequest:
    reference: str
    account: str
    pin: str
    points: int
    merchant_id: str
    description: str

    def __repr__(self) -> str:
        return (
            f"ReserveRequest(reference={self.reference!r}, account={self.account!r},"
            f" points={self.points}, merchant_id={self.merchant_id!r})"
        )


@dataclass(frozen=True)
class Reservation:
    reference: str
    account: str
    merchant_id: str
    points: int
    description: str
    status: ReservationStatus
    reason: RefusalReason | None
    given_back: int
    created_at: datetime
    spent_at: datetime | None


@dataclass(frozen=True)
class GiveBack:
    id: int
    reference: str
    reservation: str
    """The reference of the reservation whose points it gave back."""
    points: int
    created_at: datetime


@dataclass(frozen=True)
class AccrualRequest:
    reference: str
    account: str
    points: int
    merchant_id: str


@dataclass(frozen=True)
class Accrual:
    reference: str
    account: str
    merchant_id: str
    points: int
    taken_back: int | None
    """The points its reversal took back; ``None`` while it is not reversed."""
    created_at: datetime
    reversed_at: datetime | None


@dataclass(frozen=True)
class AccrualReversal:
    reversed: bool
    """The accrual is reversed (now or before); False when none was made under the reference."""
    points: int
    """The points taken back."""


@dataclass(frozen=True)
class PointsAccount:
    number: str
    balance: int
    reserved: int
    blocked: bool

    @property
    def free(self) -> int:
        """What a reservation may still take."""
        return self.balance - self.reserved


@dataclass(frozen=True)
class Line:
    """One operation of a report, or of the program's books of a day."""

    reference: str
    kind: OperationKind
    points: int


@dataclass(frozen=True)
class Difference:
    reference: str
    kind: OperationKind
    ips_points: int | None
    """``None``: IPS did not report it."""
    program_points: int | None
    """``None``: the program has no such operation that day."""


@dataclass(frozen=True)
class Report:
    id: int
    merchant_id: str
    day: date
    lines: int
    differences: int
    received_at: datetime


class LoyaltyRefusal(Exception):
    pass


class ReferenceConflict(LoyaltyRefusal):
    """The reference names another operation: other account, points or merchant (or, for a
    give-back, another reservation)."""


class RepeatedLine(LoyaltyRefusal):
    """A report names one operation twice."""


def rate(in_currency: Currency) -> int | None:
    """Minor units of ``in_currency`` one point is worth; ``None`` when the program takes no
    payment in it."""
    return RATES.get(in_currency.code)


def pin_hash(number: str, pin: str) -> str:
    return hashlib.sha256(f"{number}:{pin}".encode()).hexdigest()


class LoyaltyBooks:
    """Demo Points' books in the simulator's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def reserve(self, request: ReserveRequest) -> Reservation:
        """Hold the points, or refuse; the reservation its reference made before, as it is
        now. A reference closed before answers a released reservation of no points, stored
        nowhere."""
        if not 0 < request.points <= MAX_POINTS:
            raise ValueError("points out of range")
        store = self._store
        async with store.transaction():
            row = await self._reservation_row(request.reference)
            if row is not None:
                found = _reservation(row)
                if (found.account, found.points, found.merchant_id) != (
                    request.account,
                    request.points,
                    request.merchant_id,
                ):
                    raise ReferenceConflict(request.reference)
                return found
            if await self._closed("reservation", request.reference):
                return _closed_reservation(request, store.clock())
            reason = await self._hold(request)
            now = store.now()
            await store.db.execute(
                "INSERT INTO loyalty_reservations (reference, account, merchant_id, points,"
                " description, status, reason, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.reference,
                    request.account,
                    request.merchant_id,
                    request.points,
                    request.description,
                    ReservationStatus.RESERVED if reason is None else ReservationStatus.REFUSED,
                    reason,
                    now,
                    now,
                ),
            )
            row = await self._reservation_row(request.reference)
        assert row is not None
        return _reservation(row)

    async def _hold(self, request: ReserveRequest) -> RefusalReason | None:
        """Check the account and PIN and take up its reserved points, inside the caller's
        transaction: ``None`` when held, else why not."""
        account = await self._account_row(request.account)
        if account is None:
            return RefusalReason.UNKNOWN_ACCOUNT
        if account["blocked"]:
            return RefusalReason.BLOCKED
        refused = await self._check_pin(account, request.pin)
        if refused is not None:
            return refused
        held = await self._store.db.execute(
            "UPDATE loyalty_accounts SET reserved = reserved + ?"
            " WHERE number = ? AND balance - reserved >= ?",
            (request.points, request.account, request.points),
        )
        return None if held.rowcount == 1 else RefusalReason.INSUFFICIENT_POINTS

    async def _check_pin(self, account: sqlite3.Row, pin: str) -> RefusalReason | None:
        """A locked account is refused before its PIN is checked; a wrong PIN is counted (the
        one that locks the account answers ``locked``), a right one clears the count."""
        number, now = account["number"], self._store.clock()
        locked_until = account["locked_until"]
        guard = LoginGuard(
            number,
            account["pin_failures"],
            None if locked_until is None else datetime.fromisoformat(locked_until),
        )
        if guard.locked(now):
            return RefusalReason.LOCKED
        if hmac.compare_digest(pin_hash(number, pin).encode(), account["pin_hash"].encode()):
            if guard.failures:
                await self._store.db.execute(
                    "UPDATE loyalty_accounts SET pin_failures = 0, locked_until = NULL"
                    " WHERE number = ?",
                    (number,),
                )
            return None
        guard.fail(now, LOCK_AFTER)
        await self._store.db.execute(
            "UPDATE loyalty_accounts SET pin_failures = ?, locked_until = ? WHERE number = ?",
            (
                guard.failures,
                None if guard.locked_until is None else stamp(guard.locked_until),
                number,
            ),
        )
        return RefusalReason.LOCKED if guard.locked(now) else RefusalReason.WRONG_PIN

    async def reservation(self, reference: str) -> Reservation | None:
        """``None`` when nothing was reserved under ``reference``."""
        async with self._store.lock:
            row = await self._reservation_row(reference)
        return None if row is None else _reservation(row)

    async def spend(self, reference: str) -> Reservation | None:
        """Take a reserved reservation's points from its account; any other stays as it is.
        ``None`` when nothing was reserved under ``reference``."""
        store = self._store
        async with store.transaction():
            now = store.now()
            spent = await store.db.execute(
                "UPDATE loyalty_reservations SET status = 'spent', spent_at = ?, updated_at = ?"
                " WHERE reference = ? AND status = 'reserved'",
                (now, now, reference),
            )
            row = await self._reservation_row(reference)
            if spent.rowcount == 1:
                assert row is not None
                await store.db.execute(
                    "UPDATE loyalty_accounts SET balance = balance - ?, reserved = reserved - ?"
                    " WHERE number = ?",
                    (row["points"], row["points"], row["account"]),
                )
        return None if row is None else _reservation(row)

    async def release(self, reference: str) -> Reservation | None:
        """Free a reserved reservation's points; any other stays as it is. ``None`` when
        nothing was reserved under ``reference``, which is then closed."""
        store = self._store
        async with store.transaction():
            released = await store.db.execute(
                "UPDATE loyalty_reservations SET status = 'released', updated_at = ?"
                " WHERE reference = ? AND status = 'reserved'",
                (store.now(), reference),
            )
            row = await self._reservation_row(reference)
            if row is None:
                await self._close("reservation", reference)
            elif released.rowcount == 1:
                await store.db.execute(
                    "UPDATE loyalty_accounts SET reserved = reserved - ? WHERE number = ?",
                    (row["points"], row["account"]),
                )
        return None if row is None else _reservation(row)

    async def give_back(self, reference: str, points: int, give_back_reference: str) -> bool:
        """Give ``points`` of the spent reservation ``reference`` back to its account.

        True when given, or when this reservation already has a give-back under
        ``give_back_reference`` (nothing more is given); False when the reservation is not
        spent (or unknown) or ``points`` is above what is left of it. ``ReferenceConflict``
        when ``give_back_reference`` names a give-back of another reservation.
        """
        store = self._store
        async with store.transaction():
            done = await store.rows(
                "SELECT reservation FROM loyalty_give_backs WHERE reference = ?",
                (give_back_reference,),
            )
            if done:
                if done[0]["reservation"] != reference:
                    raise ReferenceConflict(give_back_reference)
                return True
            row = await self._reservation_row(reference)
            if row is None or row["status"] != ReservationStatus.SPENT:
                return False
            if not 0 < points <= row["points"] - row["given_back"]:
                return False
            now = store.now()
            await store.db.execute(
                "INSERT INTO loyalty_give_backs (reference, reservation, points, created_at)"
                " VALUES (?, ?, ?, ?)",
                (give_back_reference, reference, points, now),
            )
            await store.db.execute(
                "UPDATE loyalty_reservations SET given_back = given_back + ?, updated_at = ?"
                " WHERE reference = ?",
                (points, now, reference),
            )
            await store.db.execute(
                "UPDATE loyalty_accounts SET balance = balance + ? WHERE number = ?",
                (points, row["account"]),
            )
        return True

    async def accrue(self, request: AccrualRequest) -> bool:
        """Credit the points: True when credited (now or before under this reference); False
        for an unknown or blocked account, or a reference closed before."""
        if not 0 < request.points <= MAX_POINTS:
            raise ValueError("points out of range")
        store = self._store
        async with store.transaction():
            rows = await store.rows(
                "SELECT * FROM loyalty_accruals WHERE reference = ?", (request.reference,)
            )
            if rows:
                found = _accrual(rows[0])
                if (found.account, found.points, found.merchant_id) != (
                    request.account,
                    request.points,
                    request.merchant_id,
                ):
                    raise ReferenceConflict(request.reference)
                return True
            if await self._closed("accrual", request.reference):
                return False
            account = await self._account_row(request.account)
            if account is None or account["blocked"]:
                return False
            await store.db.execute(
                "INSERT INTO loyalty_accruals (reference, account, merchant_id, points,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                (
                    request.reference,
                    request.account,
                    request.merchant_id,
                    request.points,
                    store.now(),
                ),
            )
            await store.db.execute(
                "UPDATE loyalty_accounts SET balance = balance + ? WHERE number = ?",
                (request.points, request.account),
            )
        return True

    async def reverse_accrual(self, reference: str) -> AccrualReversal:
        """Take back an accrual's points, at most once and at most what its account has free.
        A reference the program never accrued under is closed."""
        store = self._store
        async with store.transaction():
            rows = await store.rows(
                "SELECT a.*, c.balance - c.reserved AS free FROM loyalty_accruals a"
                " JOIN loyalty_accounts c ON c.number = a.account WHERE a.reference = ?",
                (reference,),
            )
            if not rows:
                await self._close("accrual", reference)
                return AccrualReversal(reversed=False, points=0)
            row = rows[0]
            if row["taken_back"] is not None:
                return AccrualReversal(reversed=True, points=row["taken_back"])
            taken = min(row["points"], row["free"])
            await store.db.execute(
                "UPDATE loyalty_accruals SET taken_back = ?, reversed_at = ? WHERE reference = ?",
                (taken, store.now(), reference),
            )
            await store.db.execute(
                "UPDATE loyalty_accounts SET balance = balance - ? WHERE number = ?",
                (taken, row["account"]),
            )
        return AccrualReversal(reversed=True, points=taken)

    async def compare(self, day: date, merchant_id: str, lines: list[Line]) -> list[Difference]:
        """IPS's report of a day against the books of that day: the differences, in the order
        of ``OperationKind`` then reference. The report is noted (``reports``).
        ``RepeatedLine`` when it names an operation twice."""
        reported: dict[tuple[OperationKind, str], int] = {}
        for line in lines:
            if (line.kind, line.reference) in reported:
                raise RepeatedLine(f"{line.kind} {line.reference}")
            reported[line.kind, line.reference] = line.points
        store = self._store
        async with store.transaction():
            booked = {
                (ln.kind, ln.reference): ln.points for ln in await self._day(day, merchant_id)
            }
            order = list(OperationKind)
            differences = []
            for kind, reference in sorted(
                reported.keys() | booked.keys(), key=lambda key: (order.index(key[0]), key[1])
            ):
                ips, program = reported.get((kind, reference)), booked.get((kind, reference))
                if ips != program:
                    differences.append(Difference(reference, kind, ips, program))
            await store.db.execute(
                "INSERT INTO loyalty_reports (merchant_id, day, lines, differences, received_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (merchant_id, day.isoformat(), len(lines), len(differences), store.now()),
            )
        return differences

    async def day(self, day: date, merchant_id: str) -> list[Line]:
        """The operations of ``merchant_id`` the program booked on ``day`` (UTC), by kind (in
        the order of ``OperationKind``), each kind in the order booked."""
        async with self._store.lock:
            return await self._day(day, merchant_id)

    async def _day(self, day: date, merchant_id: str) -> list[Line]:
        start = datetime.combine(day, time(), UTC)
        span = (merchant_id, stamp(start), stamp(start + timedelta(days=1)))
        lines = []
        for kind, sql in _BOOKED.items():
            for row in await self._store.rows(sql, span):
                lines.append(Line(row["reference"], kind, row["points"]))
        return lines

    async def account(self, number: str) -> PointsAccount:
        """A test account's points (as it opens before its first use). Raises
        ``LookupError`` for a number that is no test account."""
        test = TEST_ACCOUNTS.get(number)
        if test is None:
            raise LookupError(f"no test account {number!r}")
        rows = await self._store.read("SELECT * FROM loyalty_accounts WHERE number = ?", (number,))
        if not rows:
            return PointsAccount(number, test.points, 0, test.blocked)
        row = rows[0]
        return PointsAccount(number, row["balance"], row["reserved"], bool(row["blocked"]))

    async def reservations(self) -> list[Reservation]:
        """Every reservation (refused ones too), oldest first."""
        rows = await self._store.read("SELECT * FROM loyalty_reservations ORDER BY rowid")
        return [_reservation(row) for row in rows]

    async def give_backs(self) -> list[GiveBack]:
        """Every give-back, oldest first."""
        rows = await self._store.read("SELECT * FROM loyalty_give_backs ORDER BY id")
        return [
            GiveBack(
                id=row["id"],
                reference=row["reference"],
                reservation=row["reservation"],
                points=row["points"],
                created_at=datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]

    async def accruals(self) -> list[Accrual]:
        """Every accrual, oldest first."""
        rows = await self._store.read("SELECT * FROM loyalty_accruals ORDER BY rowid")
        return [_accrual(row) for row in rows]

    async def reports(self) -> list[Report]:
        """Every report received, oldest first."""
        rows = await self._store.read("SELECT * FROM loyalty_reports ORDER BY id")
        return [
            Report(
                id=row["id"],
                merchant_id=row["merchant_id"],
                day=date.fromisoformat(row["day"]),
                lines=row["lines"],
                differences=row["differences"],
                received_at=datetime.fromisoformat(row["received_at"]),
            )
            for row in rows
        ]

    async def _account_row(self, number: str) -> sqlite3.Row | None:
        """The account's row, written first when it is a test account's first use; ``None``
        for a number that is no account."""
        test = TEST_ACCOUNTS.get(number)
        if test is None:
            return None
        await self._store.db.execute(
            "INSERT OR IGNORE INTO loyalty_accounts (number, pin_hash, balance, blocked)"
            " VALUES (?, ?, ?, ?)",
            (number, pin_hash(number, test.pin), test.points, int(test.blocked)),
        )
        rows = await self._store.rows("SELECT * FROM loyalty_accounts WHERE number = ?", (number,))
        return rows[0]

    async def _reservation_row(self, reference: str) -> sqlite3.Row | None:
        rows = await self._store.rows(
            "SELECT * FROM loyalty_reservations WHERE reference = ?", (reference,)
        )
        return rows[0] if rows else None

    async def _closed(self, kind: str, reference: str) -> bool:
        rows = await self._store.rows(
            "SELECT 1 FROM loyalty_closed WHERE kind = ? AND reference = ?", (kind, reference)
        )
        return bool(rows)

    async def _close(self, kind: str, reference: str) -> None:
        await self._store.db.execute(
            "INSERT OR IGNORE INTO loyalty_closed (kind, reference, closed_at) VALUES (?, ?, ?)",
            (kind, reference, self._store.now()),
        )


_BOOKED = {
    OperationKind.SPEND: (
        "SELECT reference, points FROM loyalty_reservations"
        " WHERE merchant_id = ? AND spent_at >= ? AND spent_at < ? ORDER BY spent_at"
    ),
    OperationKind.GIVE_BACK: (
        "SELECT g.reference, g.points FROM loyalty_give_backs g"
        " JOIN loyalty_reservations r ON r.reference = g.reservation"
        " WHERE r.merchant_id = ? AND g.created_at >= ? AND g.created_at < ? ORDER BY g.id"
    ),
    OperationKind.ACCRUAL: (
        "SELECT reference, points FROM loyalty_accruals"
        " WHERE merchant_id = ? AND created_at >= ? AND created_at < ? ORDER BY rowid"
    ),
    OperationKind.ACCRUAL_REVERSAL: (
        "SELECT reference, taken_back AS points FROM loyalty_accruals"
        " WHERE merchant_id = ? AND reversed_at >= ? AND reversed_at < ? ORDER BY reversed_at"
    ),
}
"""The operations of a merchant booked in a span of time, by kind, in the order booked."""


def _reservation(row: sqlite3.Row) -> Reservation:
    spent_at = row["spent_at"]
    return Reservation(
        reference=row["reference"],
        account=row["account"],
        merchant_id=row["merchant_id"],
        points=row["points"],
        description=row["description"],
        status=ReservationStatus(row["status"]),
        reason=None if row["reason"] is None else RefusalReason(row["reason"]),
        given_back=row["given_back"],
        created_at=datetime.fromisoformat(row["created_at"]),
        spent_at=None if spent_at is None else datetime.fromisoformat(spent_at),
    )


def _closed_reservation(request: ReserveRequest, now: datetime) -> Reservation:
    """What a reservation arriving under a closed reference is answered: released, holding
    nothing."""
    return Reservation(
        reference=request.reference,
        account=request.account,
        merchant_id=request.merchant_id,
        points=0,
        description=request.description,
        status=ReservationStatus.RELEASED,
        reason=None,
        given_back=0,
        created_at=now,
        spent_at=None,
    )


def _accrual(row: sqlite3.Row) -> Accrual:
    reversed_at = row["reversed_at"]
    return Accrual(
        reference=row["reference"],
        account=row["account"],
        merchant_id=row["merchant_id"],
        points=row["points"],
        taken_back=row["taken_back"],
        created_at=datetime.fromisoformat(row["created_at"]),
        reversed_at=None if reversed_at is None else datetime.fromisoformat(reversed_at),
    )
