"""The simulator's settlement books on their own: the store's migration, the ledger API and
readers in other connections while the server runs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from demobank import BatchStatus, HoldStatus, Ledger, PostingKind, Simulator, schema
from demobank.ledger import (
    AdviceRequest,
    AmountNotAvailable,
    CloseRequest,
    HoldRequest,
    OutOfBalance,
)
from demobank.money import Money as BankMoney
from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Money, currency
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.port import AuthorizationRequest, BatchTotals, FinancialAdvice, MessageId

RUB = currency("RUB")
VISA = "4111111111111111"

VERSION_0 = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE accounts (
    card_ref TEXT NOT NULL,
    currency TEXT NOT NULL,
    masked_pan TEXT NOT NULL,
    balance INTEGER NOT NULL,
    PRIMARY KEY (card_ref, currency)
);
CREATE TABLE holds (
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
CREATE TABLE reversals (
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
"""The store as the first simulator wrote it (before settlement)."""

KEY = "00" * 32
WHEN = "2025-03-06T10:00:00+00:00"


def old_store(path: Path, ref: str) -> None:
    """A version-0 store: an active hold of 100.00 with 30.00 released, a released one."""
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_0)
        db.execute("INSERT INTO meta VALUES ('card_key', ?)", (KEY,))
        db.execute("INSERT INTO accounts VALUES (?, 'RUB', '411111****1111', 100000000)", (ref,))
        for hold_id, rrn, released, status in (
            (1, "1", 30_00, "active"),
            (2, "2", 5_00, "released"),
        ):
            db.execute(
                "INSERT INTO holds VALUES (?, 'T1', ?, ?, '0306100000', ?, '411111****1111',"
                " '100500', 'RUB', ?, ?, ?, 'ABC123', 1, ?, ?)",
                (hold_id, rrn, f"00000{hold_id}", ref, 100_00 if hold_id == 1 else 5_00,
                 released, status, WHEN, WHEN),
            )  # fmt: skip
        db.execute(
            "INSERT INTO reversals VALUES (1, 1, '000009', '0306100001', 3000, 3000, ?)", (WHEN,)
        )
    db.close()


def card_ref_under_the_old_key() -> str:
    """What the old store calls the card: HMAC-SHA256 of its number under ``KEY``."""
    return hmac.new(bytes.fromhex(KEY), VISA.encode(), hashlib.sha256).hexdigest()


async def test_a_store_of_the_first_simulator_opens_with_its_books_intact(tmp_path: Path) -> None:
    store = tmp_path / "bank.sqlite3"
    ref = card_ref_under_the_old_key()
    old_store(store, ref)

    async with await Ledger.open(store) as ledger:
        holds = await ledger.holds()
        assert [
            (h.rrn, h.amount.minor, h.released.minor, h.captured.minor, h.status) for h in holds
        ] == [
            ("1", 100_00, 30_00, 0, HoldStatus.ACTIVE),
            ("2", 5_00, 5_00, 0, HoldStatus.RELEASED),
        ]
        assert holds[0].outstanding == BankMoney(70_00, RUB)
        assert len(await ledger.reversals()) == 1
        assert await ledger.available(VISA, RUB) == BankMoney(1_000_000_00 - 70_00, RUB)

        await ledger.stage(advice("1", 70_00))
        batch = await ledger.close_batch(close(debits=1, debit_total=70_00))

        assert batch.status is BatchStatus.ACCEPTED
        hold = await ledger.hold("T1", "1")
        assert hold is not None
        assert (hold.captured.minor, hold.status) == (70_00, HoldStatus.CAPTURED)
        assert await ledger.balance(VISA, RUB) == BankMoney(1_000_000_00 - 70_00, RUB)

    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (schema.VERSION,)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE holds SET released = 3001 WHERE rrn = '1'")
    db.close()


async def test_two_connections_opening_an_old_store_at_once_migrate_it_once(
    tmp_path: Path,
) -> None:
    store = tmp_path / "bank.sqlite3"
    old_store(store, card_ref_under_the_old_key())

    first, second = await asyncio.gather(Ledger.open(store), Ledger.open(store))
    try:
        assert await first.holds() == await second.holds()
        assert len(await second.holds()) == 2
    finally:
        await first.close()
        await second.close()


def hold(rrn: str = "1", minor: int = 100_00) -> HoldRequest:
    return HoldRequest(VISA, BankMoney(minor, RUB), "T1", rrn, "000001", "0306100000", "100500")


def advice(
    rrn: str, minor: int, *, stan: str = "000100", batch: int = 1, credit: bool = False
) -> AdviceRequest:
    return AdviceRequest(
        pan=VISA,
        amount=BankMoney(minor, RUB),
        kind=PostingKind.CREDIT if credit else PostingKind.DEBIT,
        terminal_id="T1",
        rrn=rrn,
        stan=stan,
        transmitted="0306110000",
        merchant_id="100500",
        batch=batch,
    )


def close(batch: int = 1, **figures: int) -> CloseRequest:
    counts = {"debits": 0, "debit_total": 0, "credits": 0, "credit_total": 0} | figures
    return CloseRequest(terminal_id="T1", batch=batch, currency=RUB, **counts)


async def test_a_refused_advice_leaves_no_batch_behind(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path / "bank.sqlite3") as ledger:
        await ledger.place_hold(hold())

        with pytest.raises(AmountNotAvailable):
            await ledger.stage(advice("1", 100_01))
        with pytest.raises(OutOfBalance):
            await ledger.close_batch(close(debits=1, debit_total=100_01))

        assert await ledger.batches() == []
        assert await ledger.batch("T1", 1) is None


async def test_a_repeated_advice_returns_the_first(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path / "bank.sqlite3") as ledger:
        await ledger.place_hold(hold())

        first = await ledger.stage(advice("1", 40_00))
        again = await ledger.stage(advice("1", 40_00))
        await ledger.close_batch(close(debits=1, debit_total=40_00))
        after_posting = await ledger.stage(advice("1", 40_00))

        assert first == again
        assert after_posting.id == first.id
        assert after_posting.posted_at is not None
        assert (first.stan, first.rrn, first.batch, first.kind) == (
            "000100",
            "1",
            1,
            PostingKind.DEBIT,
        )


async def test_readers_in_other_connections_see_the_settlement_of_the_running_server(
    tmp_path: Path,
) -> None:
    store = tmp_path / "bank.sqlite3"
    async with Simulator(store) as simulator, await Ledger.open(store) as reader:
        client = Iso8583ProcessingCenter(
            "127.0.0.1", simulator.port, terminal_id="T1", acquirer_id="1", timeout=1.0
        )
        try:
            card = Card(Pan.parse(VISA), Expiry(12, 2035), Secret("987"), "X")
            now = datetime.now(UTC)
            payment = AuthorizationRequest(
                MessageId(1, "000000000001", now), card, Money(50_00, RUB), "100500"
            )
            assert (await client.authorize(payment)).approved
            staged = FinancialAdvice(
                MessageId(2, "000000000002", now), payment.id, 5, card.pan, Money(50_00, RUB),
                False, "100500",
            )  # fmt: skip
            assert (await client.advise(staged)).approved

            [batch] = await reader.batches()
            assert (batch.number, batch.status, batch.debit_total) == (
                5,
                BatchStatus.STAGED,
                BankMoney(50_00, RUB),
            )
            assert await reader.postings() == []

            closing = BatchTotals(MessageId(3, "", now), 5, RUB, 1, 50_00, 0, 0)
            assert (await client.close_batch(closing)).approved

            assert [(p.rrn, p.amount) for p in await reader.postings()] == [
                ("000000000001", BankMoney(50_00, RUB))
            ]
            assert await reader.balance(VISA, RUB) == BankMoney(1_000_000_00 - 50_00, RUB)
            accepted = await reader.batch("T1", 5)
            assert accepted is not None
            assert accepted.status is BatchStatus.ACCEPTED
            assert accepted.accepted_at is not None
        finally:
            await client.close()
