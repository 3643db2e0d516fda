"""The simulator's SQLite store, shared by its three books: the card ``ledger``, the 3-D Secure
``acs`` and the e-wallet (``wallet``).

One connection in autocommit mode (WAL journal, so other processes may read while the
simulator runs) and one lock: every read or write of a book holds the lock, and every write
runs in one ``BEGIN IMMEDIATE`` transaction (``transaction()``), so the books never see each
other half-written. Cards are known by ``card_ref``, the HMAC-SHA256 of the number under a
random key created with the file and kept in it: no PAN is stored in clear. The tokens of the
pages' forms are signed under another such key (``form_key``), so they outlive a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from demobank import schema
from demobank.cards import CardNumber

Clock = Callable[[], datetime]
"""What the books take the time from: an aware datetime (UTC or not)."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A moment as the store writes it: ISO 8601 UTC with microseconds, so that stamps compare
    as text in the order of time."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Store:
    """Open with ``await Store.open(path)``; close with ``await store.close()``."""

    def __init__(
        self, db: aiosqlite.Connection, key: bytes, form_key: bytes, clock: Clock = system_clock
    ) -> None:
        self.db = db
        self.lock = asyncio.Lock()
        self.clock = clock
        self.form_key = form_key
        """The key of the tokens of the pages' forms (``forms``)."""
        self._key = key

    @classmethod
    async def open(cls, path: Path | str, clock: Clock = system_clock) -> Store:
        """Open the store, creating it (schema and keys) or migrating it as needed."""
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA busy_timeout = 5000")
            await db.execute("PRAGMA journal_mode = WAL")
            await schema.migrate(db)
            card_key, form_key = [await _key(db, name) for name in ("card_key", "form_key")]
        except BaseException:
            await db.close()
            raise
        return cls(db, card_key, form_key, clock)

    async def close(self) -> None:
        await self.db.close()

    def card_ref(self, pan: CardNumber | str) -> str:
        """The name under which the store knows a card."""
        digits = pan if isinstance(pan, str) else pan.reveal()
        return hmac.new(self._key, digits.encode(), hashlib.sha256).hexdigest()

    def now(self) -> str:
        """The clock's time, stamped as the store writes it."""
        return stamp(self.clock())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Hold the lock and one write transaction: committed at the end, rolled back when the
        block raises."""
        async with self.lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def rows(
        self, sql: str, parameters: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[sqlite3.Row]:
        """The rows of a query; the caller holds ``lock`` (or is inside ``transaction()``)."""
        return list(await self.db.execute_fetchall(sql, parameters))

    async def read(
        self, sql: str, parameters: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[sqlite3.Row]:
        """The rows of a query, taking the lock for it."""
        async with self.lock:
            return await self.rows(sql, parameters)


async def _key(db: aiosqlite.Connection, name: str) -> bytes:
    """The store's key ``name``, made (32 random bytes) the first time it is asked for."""
    await db.execute(
        "INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)", (name, secrets.token_hex(32))
    )
    rows = await db.execute_fetchall("SELECT value FROM meta WHERE name = ?", (name,))
    return bytes.fromhex(next(iter(rows))["value"])
