"""The issuer's access control server (ACS) of 3-D Secure: its books and its rules.

An authentication goes::

    enroll ──► U (the challenge waits) ──► Y  the code was right: a CAVV is made
                     │                 └─► N  a wrong code (one attempt), or Cancel
                     └─ 10 minutes ──────► N  expired

Only cards whose test behaviour says so take part (4000000000003220), and only while a card
range the ACS publishes holds them (``card_ranges``: at start one range for each such card,
exactly the cards it enrolls; ``publish`` changes them, as a bank joins or leaves 3-D
Secure). ``enroll`` answers ``None`` for the others and stores nothing. The ranges'
``serial`` is a digest of them: equal ranges, equal serial, across restarts too.

The simulated bank's one-time code is always ``1234``. A ``Y`` authentication's CAVV — 20
random bytes in base64, as the real ones — is kept: the authorization of that card must
carry it (field 48, subelement ``93``), and each CAVV pays once (``redeem``, called by the
ledger in the transaction that places the hold).

An expired challenge is written as ``N`` when it is next answered; every read already shows
it ``N`` (``outcome`` ``expired``). Cards are known by ``card_ref`` and their masked number.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from demobank import cards
from demobank.money import Money, currency
from demobank.store import Store, stamp
from paywire.messages import mask_pan

CHALLENGE_LIFETIME = timedelta(minutes=10)
TEST_CODE = "1234"
"""The one-time code the simulated bank always accepts."""


class AcsStatus(enum.StrEnum):
    """As 3-D Secure spells the transaction status."""

    AUTHENTICATED = "Y"
    FAILED = "N"
    PENDING = "U"
    """The challenge has not been answered (yet)."""


class AcsOutcome(enum.StrEnum):
    """Why an authentication ended as it did."""

    AUTHENTICATED = "authenticated"
    WRONG_CODE = "wrong_code"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class EnrollRequest:
    pan: str
    amount: Money
    merchant_id: str
    return_url: str
    """Where the buyer's browser goes back to once the challenge is answered."""


@dataclass(frozen=True)
class AcsTransaction:
    """One authentication the ACS started."""

    id: str
    card_ref: str
    masked_pan: str
    merchant_id: str
    amount: Money
    return_url: str
    status: AcsStatus
    outcome: AcsOutcome | None
    """``None`` while pending."""
    cavv: str
    """Made when the cardholder is authenticated; ``""`` otherwise."""
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    used_terminal_id: str
    """The terminal of the authorization that used the CAVV; ``""`` while unused."""
    used_rrn: str
    used_at: datetime | None

    @property
    def pending(self) -> bool:
        return self.status is AcsStatus.PENDING


def enrolled(pan: str) -> bool:
    """Whether the card's test behaviour takes part in 3-D Secure."""
    return cards.behaviour(pan).three_d_secure


@dataclass(frozen=True, order=True)
class CardRange:
    """Card numbers of one length from ``start`` to ``end``, both included."""

    start: str
    end: str

    def __post_init__(self) -> None:
        if not (len(self.start) == len(self.end) and self.start <= self.end):
            raise ValueError("a card range is two card numbers as long, the first not above")

    def covers(self, pan: str) -> bool:
        return len(pan) == len(self.start) and self.start <= pan <= self.end


def first_ranges() -> list[CardRange]:
    """One range for each test card of 3-D Secure."""
    return [CardRange(pan, pan) for pan in cards.TEST_CARDS if enrolled(pan)]


class Acs:
    """The ACS's books in the simulator's store, and the card ranges it publishes."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.publish(first_ranges())

    @property
    def card_ranges(self) -> tuple[CardRange, ...]:
        return self._ranges

    @property
    def serial(self) -> str:
        return self._serial

    def publish(self, ranges: Iterable[CardRange]) -> None:
        """The card ranges from now on: the ACS enrolls no card outside them."""
        self._ranges = tuple(sorted(set(ranges)))
        listed = ",".join(f"{r.start}-{r.end}" for r in self._ranges)
        self._serial = hashlib.sha256(listed.encode()).hexdigest()[:16]

    async def enroll(self, request: EnrollRequest) -> AcsTransaction | None:
        """Start an authentication for an enrolled card; ``None`` for any other card."""
        if not (enrolled(request.pan) and any(r.covers(request.pan) for r in self._ranges)):
            return None
        store, transaction_id = self._store, str(uuid.uuid4())
        created = store.clock()
        async with store.transaction():
            await store.db.execute(
                "INSERT INTO acs_transactions (id, card_ref, masked_pan, merchant_id, currency,"
                " amount, return_url, status, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'U', ?, ?)",
                (
                    transaction_id,
                    store.card_ref(request.pan),
                    mask_pan(request.pan),
                    request.merchant_id,
                    request.amount.currency.code,
                    request.amount.minor,
                    request.return_url,
                    stamp(created),
                    stamp(created + CHALLENGE_LIFETIME),
                ),
            )
            row = await self._row(transaction_id)
        assert row is not None
        return self._transaction(row)

    async def transaction(self, transaction_id: str) -> AcsTransaction | None:
        async with self._store.lock:
            row = await self._row(transaction_id)
        return None if row is None else self._transaction(row)

    async def transactions(self) -> list[AcsTransaction]:
        """Every authentication, oldest first."""
        rows = await self._store.read("SELECT * FROM acs_transactions ORDER BY rowid")
        return [self._transaction(row) for row in rows]

    async def answer(self, transaction_id: str, code: str | None) -> AcsTransaction | None:
        """The cardholder's one answer: ``code`` typed, or ``None`` for Cancel.

        The right code authenticates (``Y``, a new CAVV), anything else fails (``N``). An
        authentication that is not pending any more stays as it is (an expired one is
        written ``N`` now). ``None`` for an unknown id.
        """
        store = self._store
        async with store.transaction():
            row = await self._row(transaction_id)
            if row is None:
                return None
            found = self._transaction(row)
            if found.pending:
                found = self._answered(found, code)
            elif row["status"] != AcsStatus.PENDING:
                return found  # answered before; an expired one is written now
            await store.db.execute(
                "UPDATE acs_transactions SET status = ?, outcome = ?, cavv = ?, answered_at = ?"
                " WHERE id = ?",
                (
                    found.status,
                    found.outcome,
                    found.cavv or None,
                    stamp(found.answered_at or store.clock()),
                    transaction_id,
                ),
            )
        return found

    async def redeem(self, pan: str, cavv: str, *, terminal_id: str, rrn: str) -> bool:
        """Use the CAVV of an authenticated cardholder of this card, once.

        Runs inside the caller's open ``store.transaction()`` (the ledger's, placing the hold
        the CAVV pays for): False when the CAVV is unknown, of another card, or used already.
        """
        store = self._store
        cursor = await store.db.execute(
            "UPDATE acs_transactions SET used_terminal_id = ?, used_rrn = ?, used_at = ?"
            " WHERE cavv = ? AND card_ref = ? AND status = 'Y' AND used_at IS NULL",
            (terminal_id, rrn, store.now(), cavv, store.card_ref(pan)),
        )
        return cursor.rowcount == 1

    def _answered(self, pending: AcsTransaction, code: str | None) -> AcsTransaction:
        now = self._store.clock()
        if code is not None and hmac.compare_digest(code.encode(), TEST_CODE.encode()):
            cavv = base64.b64encode(secrets.token_bytes(20)).decode()
            return replace(
                pending,
                status=AcsStatus.AUTHENTICATED,
                outcome=AcsOutcome.AUTHENTICATED,
                cavv=cavv,
                answered_at=now,
            )
        outcome = AcsOutcome.CANCELLED if code is None else AcsOutcome.WRONG_CODE
        return replace(pending, status=AcsStatus.FAILED, outcome=outcome, answered_at=now)

    async def _row(self, transaction_id: str) -> sqlite3.Row | None:
        rows = await self._store.rows(
            "SELECT * FROM acs_transactions WHERE id = ?", (transaction_id,)
        )
        return rows[0] if rows else None

    def _transaction(self, row: sqlite3.Row) -> AcsTransaction:
        """The authentication as it stands now: a pending one past its time is expired."""
        found = _acs_transaction(row)
        if found.pending and found.expires_at <= self._store.clock():
            return replace(
                found,
                status=AcsStatus.FAILED,
                outcome=AcsOutcome.EXPIRED,
                answered_at=found.expires_at,
            )
        return found


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _acs_transaction(row: sqlite3.Row) -> AcsTransaction:
    return AcsTransaction(
        id=row["id"],
        card_ref=row["card_ref"],
        masked_pan=row["masked_pan"],
        merchant_id=row["merchant_id"],
        amount=Money(row["amount"], currency(row["currency"])),
        return_url=row["return_url"],
        status=AcsStatus(row["status"]),
        outcome=None if row["outcome"] is None else AcsOutcome(row["outcome"]),
        cavv=row["cavv"] or "",
        created_at=datetime.fromisoformat(row["created_at"]),
        expires_at=datetime.fromisoformat(row["expires_at"]),
        answered_at=_moment(row["answered_at"]),
        used_terminal_id=row["used_terminal_id"] or "",
        used_rrn=row["used_rrn"] or "",
        used_at=_moment(row["used_at"]),
    )
