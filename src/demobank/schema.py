"""The tables of the simulator's store and their migration (``PRAGMA user_version``).

Version 0 is the first store: accounts, holds and reversals. Version 1 adds settlement: holds
gain ``captured`` (what posted debits took of them) and the status ``captured``; batches and
their advices (staged, then posted) get tables of their own. Version 2 adds the HTTP side's
books: the 3-D Secure authentications of the ACS (``acs_transactions``) and the Demo Wallet's
accounts, payments and refunds (``wallet_*``). Version 3 adds the failed sign-ins of the
wallet's logins (``wallet_logins``). Version 4 adds the points program's books: accounts,
reservations, give-backs, accruals, the references closed before anything came under them, and
the reports received (``loyalty_*``). ``migrate`` brings any store to the current version in one
transaction, so a store written by an older simulator opens with
its books intact, and two processes opening the same store do not both migrate it.
"""

from __future__ import annotations

import aiosqlite

VERSION = 4


def _holds(name: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {name} (
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
    released INTEGER NOT NULL DEFAULT 0 CHECK (released >= 0),
    captured INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0),
    status TEXT NOT NULL CHECK (status IN ('active', 'released', 'captured')),
    approval_code TEXT NOT NULL,
    answered INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (terminal_id, rrn),
    FOREIGN KEY (card_ref, currency) REFERENCES accounts (card_ref, currency),
    CHECK (released + captured <= amount),
    CHECK ((status = 'active') = (released + captured < amount)),
    CHECK (status <> 'released' OR captured = 0),
    CHECK (status <> 'captured' OR captured > 0)
)"""


_META = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)"""

_ACCOUNTS = """
CREATE TABLE IF NOT EXISTS accounts (
    card_ref TEXT NOT NULL,
    currency TEXT NOT NULL,
    masked_pan TEXT NOT NULL,
    balance INTEGER NOT NULL,
    PRIMARY KEY (card_ref, currency)
)"""

_REVERSALS = """
CREATE TABLE IF NOT EXISTS reversals (
    id INTEGER PRIMARY KEY,
    hold_id INTEGER NOT NULL REFERENCES holds (id),
    stan TEXT NOT NULL,
    transmitted TEXT NOT NULL,
    requested INTEGER NOT NULL,
    released INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (hold_id, stan)
)"""

_BATCHES = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    terminal_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('staged', 'accepted')),
    created_at TEXT NOT NULL,
    accepted_at TEXT,
    UNIQUE (terminal_id, number),
    CHECK ((status = 'accepted') = (accepted_at IS NOT NULL))
)"""

_ADVICES = """
CREATE TABLE IF NOT EXISTS advices (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches (id),
    hold_id INTEGER NOT NULL REFERENCES holds (id),
    stan TEXT NOT NULL,
    transmitted TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('debit', 'credit')),
    amount INTEGER NOT NULL CHECK (amount > 0),
    staged_at TEXT NOT NULL,
    posted_at TEXT,
    UNIQUE (batch_id, stan)
)"""

_ADVICES_BY_HOLD = "CREATE INDEX IF NOT EXISTS advices_by_hold ON advices (hold_id, kind)"

_ACS_TRANSACTIONS = """
CREATE TABLE IF NOT EXISTS acs_transactions (
    id TEXT PRIMARY KEY,
    card_ref TEXT NOT NULL,
    masked_pan TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    return_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('U', 'Y', 'N')),
    outcome TEXT CHECK (outcome IN ('authenticated', 'wrong_code', 'cancelled', 'expired')),
    cavv TEXT UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    answered_at TEXT,
    used_terminal_id TEXT,
    used_rrn TEXT,
    used_at TEXT,
    CHECK ((status = 'U') = (outcome IS NULL)),
    CHECK ((status = 'U') = (answered_at IS NULL)),
    CHECK ((status = 'Y') = (outcome IS 'authenticated')),
    CHECK ((status = 'Y') = (cavv IS NOT NULL)),
    CHECK (used_at IS NULL OR status = 'Y'),
    CHECK ((used_at IS NULL) = (used_rrn IS NULL)),
    CHECK ((used_at IS NULL) = (used_terminal_id IS NULL))
)"""

_WALLET_ACCOUNTS = """
CREATE TABLE IF NOT EXISTS wallet_accounts (
    login TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance INTEGER NOT NULL CHECK (balance >= 0),
    PRIMARY KEY (login, currency)
)"""

_WALLET_PAYMENTS = """
CREATE TABLE IF NOT EXISTS wallet_payments (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    merchant_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    description TEXT NOT NULL,
    return_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'declined')),
    reason TEXT CHECK (reason IN ('cancelled', 'insufficient_funds')),
    login TEXT,
    refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (login, currency) REFERENCES wallet_accounts (login, currency),
    CHECK ((status = 'declined') = (reason IS NOT NULL)),
    CHECK (status <> 'paid' OR login IS NOT NULL),
    CHECK (reason IS NOT 'insufficient_funds' OR login IS NOT NULL),
    CHECK (status = 'paid' OR refunded = 0)
)"""

_WALLET_REFUNDS = """
CREATE TABLE IF NOT EXISTS wallet_refunds (
    id INTEGER PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES wallet_payments (id),
    reference TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at TEXT NOT NULL,
    UNIQUE (payment_id, reference)
)"""

_WALLET_LOGINS = """
CREATE TABLE IF NOT EXISTS wallet_logins (
    login TEXT PRIMARY KEY,
    failures INTEGER NOT NULL CHECK (failures > 0),
    locked_until TEXT
)"""

_LOYALTY_ACCOUNTS = """
CREATE TABLE IF NOT EXISTS loyalty_accounts (
    number TEXT PRIMARY KEY,
    pin_hash TEXT NOT NULL,
    balance INTEGER NOT NULL CHECK (balance >= 0),
    reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    pin_failures INTEGER NOT NULL DEFAULT 0 CHECK (pin_failures >= 0),
    locked_until TEXT,
    CHECK (reserved <= balance)
)"""

_LOYALTY_RESERVATIONS = """
CREATE TABLE IF NOT EXISTS loyalty_reservations (
    reference TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    points INTEGER NOT NULL CHECK (points > 0),
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reserved', 'spent', 'released', 'refused')),
    reason TEXT CHECK (
        reason IN ('unknown_account', 'wrong_pin', 'insufficient_points', 'blocked', 'locked')
    ),
    given_back INTEGER NOT NULL DEFAULT 0 CHECK (given_back >= 0 AND given_back <= points),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    spent_at TEXT,
    CHECK ((status = 'refused') = (reason IS NOT NULL)),
    CHECK ((status = 'spent') = (spent_at IS NOT NULL)),
    CHECK (status = 'spent' OR given_back = 0)
)"""

_LOYALTY_SPENDS_BY_DAY = (
    "CREATE INDEX IF NOT EXISTS loyalty_spends_by_day"
    " ON loyalty_reservations (merchant_id, spent_at)"
)

_LOYALTY_GIVE_BACKS = """
CREATE TABLE IF NOT EXISTS loyalty_give_backs (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    reservation TEXT NOT NULL REFERENCES loyalty_reservations (reference),
    points INTEGER NOT NULL CHECK (points > 0),
    created_at TEXT NOT NULL
)"""

_LOYALTY_ACCRUALS = """
CREATE TABLE IF NOT EXISTS loyalty_accruals (
    reference TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES loyalty_accounts (number),
    merchant_id TEXT NOT NULL,
    points INTEGER NOT NULL CHECK (points > 0),
    taken_back INTEGER CHECK (taken_back >= 0 AND taken_back <= points),
    created_at TEXT NOT NULL,
    reversed_at TEXT,
    CHECK ((reversed_at IS NULL) = (taken_back IS NULL))
)"""

_LOYALTY_CLOSED = """
CREATE TABLE IF NOT EXISTS loyalty_closed (
    kind TEXT NOT NULL CHECK (kind IN ('reservation', 'accrual')),
    reference TEXT NOT NULL,
    closed_at TEXT NOT NULL,
    PRIMARY KEY (kind, reference)
)"""

_LOYALTY_REPORTS = """
CREATE TABLE IF NOT EXISTS loyalty_reports (
    id INTEGER PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    day TEXT NOT NULL,
    lines INTEGER NOT NULL CHECK (lines >= 0),
    differences INTEGER NOT NULL CHECK (differences >= 0),
    received_at TEXT NOT NULL
)"""

_HOLD_COLUMNS = (
    "id, terminal_id, rrn, stan, transmitted, card_ref, masked_pan, merchant_id, currency,"
    " amount, released, status, approval_code, answered, created_at, updated_at"
)


async def migrate(db: aiosqlite.Connection) -> None:
    """Create or upgrade the tables. ``db`` is in autocommit mode, with no transaction open."""
    await db.execute("PRAGMA foreign_keys = OFF")
    await db.execute("BEGIN IMMEDIATE")
    try:
        rows = list(await db.execute_fetchall("PRAGMA user_version"))
        if rows[0][0] < VERSION:
            await _upgrade(db)
            broken = list(await db.execute_fetchall("PRAGMA foreign_key_check"))
            if broken:
                raise RuntimeError(f"the store breaks {len(broken)} foreign keys")
            await db.execute(f"PRAGMA user_version = {VERSION}")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    await db.execute("PRAGMA foreign_keys = ON")


async def _upgrade(db: aiosqlite.Connection) -> None:
    for table in (_META, _ACCOUNTS):
        await db.execute(table)
    columns = {row[1] for row in await db.execute_fetchall("PRAGMA table_info(holds)")}
    if columns and "captured" not in columns:
        await db.execute(_holds("holds_v1"))
        await db.execute(
            f"INSERT INTO holds_v1 ({_HOLD_COLUMNS}) SELECT {_HOLD_COLUMNS} FROM holds"  # noqa: S608
        )
        await db.execute("DROP TABLE holds")
        await db.execute("ALTER TABLE holds_v1 RENAME TO holds")
    else:
        await db.execute(_holds("holds"))
    for table in (
        _REVERSALS,
        _BATCHES,
        _ADVICES,
        _ADVICES_BY_HOLD,
        _ACS_TRANSACTIONS,
        _WALLET_ACCOUNTS,
        _WALLET_PAYMENTS,
        _WALLET_REFUNDS,
        _WALLET_LOGINS,
        _LOYALTY_ACCOUNTS,
        _LOYALTY_RESERVATIONS,
        _LOYALTY_SPENDS_BY_DAY,
        _LOYALTY_GIVE_BACKS,
        _LOYALTY_ACCRUALS,
        _LOYALTY_CLOSED,
        _LOYALTY_REPORTS,
    ):
        await db.execute(table)
