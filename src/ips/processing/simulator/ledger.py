"""The simulator's books: card accounts, holds and reversals in an SQLite file (WAL mode).

The file is the bank's side of every exchange, so tests and reconciliation can compare IPS's
books with it to the cent. Any process may open it while the simulator runs::

    async with await Ledger.open(store_path) as ledger:
        holds = await ledger.active_holds()
        left = await ledger.available("4111111111111111", "RUB")

No PAN is stored in clear: a card is known by ``card_ref``, the HMAC-SHA256 of its number
under a random key created with the file and kept in it, and shown by its masked number.
An account (card, currency) is created by the first authorization in that currency with the
card's opening balance; a hold lowers what is available until reversals release it.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import secrets
import sqlite3
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from ips.domain.cards import Pan
from ips.domain.money import Currency, Money, currency
from ips.processing.iso8583.messages import mask_pan
from ips.processing.simulator import cards

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    card_ref TEXT NOT NULL,
    currency TEXT NOT NULL,
    masked_pan TEXT NOT NULL,
    balance INTEGER NOT NULL,
    PRIMARY KEY (card_ref, currency)
);
CREATE TABLE IF NOT EXISTS holds (
    id INTEGER PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    rrn TEXT NOT NULL,
    stan TEXT NOT NULL,
    transmitted TEXT NOT NULL,
    card_ref TEXT NOT NULL,
    masked_pan TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    released INTEGER NOT NULL DEFAULT 0 CHECK (released BETWEEN 0 AND amount),
    status TEXT NOT NULL CHECK (status IN ('active', 'released')),
    approval_code TEXT NOT NULL,
    answered INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (terminal_id, rrn),
    FOREIGN KEY (card_ref, currency) REFERENCES accounts (card_ref, currency)
);
CREATE TABLE IF NOT EXISTS reversals (
    id INTEGER PRIMARY KEY,
    hold_id INTEGER NOT NULL REFERENCES holds (id),
    stan TEXT NOT NULL,
    transmitted TEXT NOT NULL,
    requested INTEGER NOT NULL,
    released INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (hold_id, stan)
);
"""

_APPROVAL_ALPHABET = string.ascii_uppercase + string.digits
_REVERSALS = "SELECT r.*, h.currency FROM reversals r JOIN holds h ON h.id = r.hold_id"


class HoldStatus(enum.StrEnum):
    ACTIVE = "active"
    RELEASED = "released"


@dataclass(frozen=True)
class Hold:
    """Money an approved authorization set aside."""

    id: int
    terminal_id: str
    rrn: str
    stan: str
    transmitted: str
    """Field 7 of the authorization, ``MMDDhhmmss`` UTC."""
    card_ref: str
    masked_pan: str
    merchant_id: str
    amount: Money
    released: Money
    status: HoldStatus
    approval_code: str
    answered: bool
    """False when the simulator kept its answer back (the never-answering test card)."""
    created_at: datetime
    updated_at: datetime

    @property
    def outstanding(self) -> Money:
        return self.amount - self.released


@dataclass(frozen=True)
class Reversal:
    """One reversal applied to a hold; a repeat of the same reversal (same STAN) adds none."""

    id: int
    hold_id: int
    stan: str
    transmitted: str
    requested: Money
    released: Money
    created_at: datetime


class LedgerRefusal(Exception):
    pass


class DuplicateHold(LedgerRefusal):
    """This terminal already holds money under this RRN."""


class InsufficientFunds(LedgerRefusal):
    pass


class NoSuchHold(LedgerRefusal):
    """No hold matches the reversal's terminal, RRN, STAN, card and currency."""


@dataclass(frozen=True)
class HoldRequest:
    pan: str
    amount: Money
    terminal_id: str
    rrn: str
    stan: str
    transmitted: str
    merchant_id: str
    answered: bool = True


@dataclass(frozen=True)
class ReleaseRequest:
    pan: str
    amount: Money
    terminal_id: str
    rrn: str
    original_stan: str
    stan: str
    transmitted: str


class Ledger:
    """Open with ``await Ledger.open(path)``; close with ``await ledger.close()``."""

    def __init__(self, db: aiosqlite.Connection, key: bytes) -> None:
        self._db = db
        self._key = key
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Ledger:
        """Open the store, creating it (schema and card key) when it does not exist yet."""
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA busy_timeout = 5000")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.executescript(_SCHEMA)
            await db.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('card_key', ?)",
                (secrets.token_hex(32),),
            )
            rows = await db.execute_fetchall("SELECT value FROM meta WHERE name = 'card_key'")
            key = bytes.fromhex(next(iter(rows))["value"])
        except BaseException:
            await db.close()
            raise
        return cls(db, key)

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Ledger:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def card_ref(self, pan: Pan | str) -> str:
        """The name under which the store knows a card."""
        digits = pan.reveal() if isinstance(pan, Pan) else pan
        return hmac.new(self._key, digits.encode(), hashlib.sha256).hexdigest()

    async def holds(self) -> list[Hold]:
        async with self._lock:
            return [_hold(row) for row in await self._rows("SELECT * FROM holds ORDER BY id")]

    async def active_holds(self) -> list[Hold]:
        sql = "SELECT * FROM holds WHERE status = 'active' ORDER BY id"
        async with self._lock:
            return [_hold(row) for row in await self._rows(sql)]

    async def hold(self, terminal_id: str, rrn: str) -> Hold | None:
        async with self._lock:
            row = await self._hold_row(terminal_id, rrn)
        return None if row is None else _hold(row)

    async def reversals(self) -> list[Reversal]:
        sql = f"{_REVERSALS} ORDER BY r.id"
        async with self._lock:
            return [_reversal(row) for row in await self._rows(sql)]

    async def available(self, card: Pan | str, in_currency: Currency | str) -> Money:
        """What the card may still spend: balance less active holds.

        ``card`` is a ``Pan``, the card number's digits, or a ``card_ref``. A card that has no
        account in this currency yet has its opening balance (unknown for a bare
        ``card_ref``: ``LookupError``).
        """
        cur = in_currency if isinstance(in_currency, Currency) else currency(in_currency)
        text = card.reveal() if isinstance(card, Pan) else card
        digits = text if len(text) <= 19 and text.isdigit() else None
        async with self._lock:
            found = await self._available(text if digits is None else self.card_ref(digits), cur)
        if found is not None:
            return found
        if digits is None:
            raise LookupError("no account for this card in this currency")
        return Money(cards.opening_balance(digits, cur), cur)

    async def place_hold(self, request: HoldRequest) -> Hold:
        """Hold ``request.amount``; raises ``DuplicateHold`` or ``InsufficientFunds``."""
        ref, cur = self.card_ref(request.pan), request.amount.currency
        now = _now()
        async with self._transaction():
            await self._db.execute(
                "INSERT OR IGNORE INTO accounts (card_ref, currency, masked_pan, balance)"
                " VALUES (?, ?, ?, ?)",
                (ref, cur.code, mask_pan(request.pan), cards.opening_balance(request.pan, cur)),
            )
            if await self._hold_row(request.terminal_id, request.rrn) is not None:
                raise DuplicateHold(request.rrn)
            available = await self._available(ref, cur)
            if available is None or available.minor < request.amount.minor:
                raise InsufficientFunds(str(request.amount))
            cursor = await self._db.execute(
                "INSERT INTO holds (terminal_id, rrn, stan, transmitted, card_ref, masked_pan,"
                " merchant_id, currency, amount, status, approval_code, answered, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
                (
                    request.terminal_id,
                    request.rrn,
                    request.stan,
                    request.transmitted,
                    ref,
                    mask_pan(request.pan),
                    request.merchant_id,
                    cur.code,
                    request.amount.minor,
                    "".join(secrets.choice(_APPROVAL_ALPHABET) for _ in range(6)),
                    request.answered,
                    now,
                    now,
                ),
            )
            hold_id = cursor.lastrowid
            rows = await self._rows("SELECT * FROM holds WHERE id = ?", (hold_id,))
        return _hold(rows[0])

    async def release(self, request: ReleaseRequest) -> Reversal:
        """Release up to ``request.amount`` of the hold (all that is left at most).

        A reversal is known by its own STAN: repeating it (0401) returns the first result and
        releases nothing more. Raises ``NoSuchHold``.
        """
        now = _now()
        async with self._transaction():
            row = await self._hold_row(request.terminal_id, request.rrn)
            if (
                row is None
                or row["stan"] != request.original_stan
                or row["card_ref"] != self.card_ref(request.pan)
                or row["currency"] != request.amount.currency.code
            ):
                raise NoSuchHold(request.rrn)
            done = await self._rows(
                "SELECT id FROM reversals WHERE hold_id = ? AND stan = ?", (row["id"], request.stan)
            )
            if not done:
                released = min(request.amount.minor, row["amount"] - row["released"])
                total = row["released"] + released
                await self._db.execute(
                    "UPDATE holds SET released = ?, status = ?, updated_at = ? WHERE id = ?",
                    (
                        total,
                        HoldStatus.RELEASED if total == row["amount"] else HoldStatus.ACTIVE,
                        now,
                        row["id"],
                    ),
                )
                await self._db.execute(
                    "INSERT INTO reversals (hold_id, stan, transmitted, requested, released,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        row["id"],
                        request.stan,
                        request.transmitted,
                        request.amount.minor,
                        released,
                        now,
                    ),
                )
            rows = await self._rows(
                f"{_REVERSALS} WHERE r.hold_id = ? AND r.stan = ?", (row["id"], request.stan)
            )
        return _reversal(rows[0])

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _available(self, ref: str, cur: Currency) -> Money | None:
        rows = await self._rows(
            "SELECT balance - (SELECT COALESCE(SUM(amount - released), 0) FROM holds"
            " WHERE card_ref = a.card_ref AND currency = a.currency AND status = 'active')"
            " AS available FROM accounts a WHERE card_ref = ? AND currency = ?",
            (ref, cur.code),
        )
        return Money(rows[0]["available"], cur) if rows else None

    async def _hold_row(self, terminal_id: str, rrn: str) -> sqlite3.Row | None:
        rows = await self._rows(
            "SELECT * FROM holds WHERE terminal_id = ? AND rrn = ?", (terminal_id, rrn)
        )
        return rows[0] if rows else None

    async def _rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(await self._db.execute_fetchall(sql, parameters))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _hold(row: sqlite3.Row) -> Hold:
    cur = currency(row["currency"])
    return Hold(
        id=row["id"],
        terminal_id=row["terminal_id"],
        rrn=row["rrn"],
        stan=row["stan"],
        transmitted=row["transmitted"],
        card_ref=row["card_ref"],
        masked_pan=row["masked_pan"],
        merchant_id=row["merchant_id"],
        amount=Money(row["amount"], cur),
        released=Money(row["released"], cur),
        status=HoldStatus(row["status"]),
        approval_code=row["approval_code"],
        answered=bool(row["answered"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


def _reversal(row: sqlite3.Row) -> Reversal:
    cur = currency(row["currency"])
    return Reversal(
        id=row["id"],
        hold_id=row["hold_id"],
        stan=row["stan"],
        transmitted=row["transmitted"],
        requested=Money(row["requested"], cur),
        released=Money(row["released"], cur),
        created_at=datetime.fromisoformat(row["created_at"]),
    )
