"""The e-wallet provider "Demo Wallet": its accounts, payments and refunds, and its rules.

A payment goes::

    create ──► pending ──► paid      the buyer signed in and the wallet held enough
                  │   └──► declined  not enough money in the wallet, or Cancel
                  └─ wrong login or password: still pending, the buyer may try again

``create`` is idempotent by the merchant's ``reference``: the same reference with the same
merchant, amount and currency answers the payment made the first time; with other values it is
refused (``ReferenceConflict``). A paid payment is refunded in parts, each known by its own
reference, never more in total than was paid; a refund repeated with a reference already used
for that payment gives nothing more back and counts as done.

The test wallets (``TEST_WALLETS``) open, in every currency, with ``demo``/``demo`` holding
10,000.00 and ``poor``/``poor`` 1.00; a wallet's account in a currency is created by its first
payment in it. Amounts are integer minor units throughout.

Signing in is guarded as IPS guards its own logins (``ips.domain.logins``), per wallet login
whatever the payment or the browser: after 3 wrong passwords each further one is answered
after a growing pause (1, 2, 4, then 8 seconds; ``WrongCredentials.pause``), and the 10th
locks the login for 30 minutes, during which even the right password is refused
(``WalletLocked``) and no password is checked; a sign-in that passes clears the count. The
count is kept in the store (``wallet_logins``), so a restart does not clear it. Only the
logins of test wallets are counted: the others have nothing to guess, and counting them would
let anyone fill the store.
"""

from __future__ import annotations

import enum
import hmac
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from demobank.lockout import LoginGuard
from demobank.money import Currency, Money, currency
from demobank.store import Store, stamp


@dataclass(frozen=True)
class DemoAccount:
    password: str
    opening_balance: int
    """Whole units of any currency the wallet starts with."""


TEST_WALLETS: dict[str, DemoAccount] = {
    "demo": DemoAccount("demo", 10_000),
    "poor": DemoAccount("poor", 1),
}


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    DECLINED = "declined"


class DeclineReason(enum.StrEnum):
    CANCELLED = "cancelled"
    INSUFFICIENT_FUNDS = "insufficient_funds"


@dataclass(frozen=True)
class PaymentRequest:
    reference: str
    """The merchant's (IPS's) own id of the payment."""
    amount: Money
    merchant_id: str
    description: str
    return_url: str


@dataclass(frozen=True)
class Payment:
    id: str
    reference: str
    merchant_id: str
    amount: Money
    description: str
    return_url: str
    status: PaymentStatus
    reason: DeclineReason | None
    login: str
    """The wallet that paid (or had too little); ``""`` until someone signed in."""
    refunded: Money
    created_at: datetime
    updated_at: datetime

    @property
    def account(self) -> str:
        """The wallet as the provider shows it: ``d***o``."""
        return mask_login(self.login)

    @property
    def refundable(self) -> Money:
        return self.amount - self.refunded


@dataclass(frozen=True)
class Refund:
    id: int
    payment_id: str
    reference: str
    amount: Money
    created_at: datetime


class WalletRefusal(Exception):
    pass


class ReferenceConflict(WalletRefusal):
    """The reference names a payment of another merchant, amount or currency."""


class WrongCredentials(WalletRefusal):
    """No test wallet has this login and password; answer after ``pause``."""

    def __init__(self, payment_id: str, pause: timedelta = timedelta(0)) -> None:
        super().__init__(payment_id)
        self.pause = pause


class WalletLocked(WalletRefusal):
    """Too many wrong passwords for this login: it is refused for a while."""


def mask_login(login: str) -> str:
    """First and last character: ``demo`` → ``d***o``; a login of one or two characters hides
    all of it."""
    if len(login) <= 2:
        return "*" * len(login)
    return f"{login[0]}***{login[-1]}"


def opening_balance(login: str, in_currency: Currency) -> int:
    return TEST_WALLETS[login].opening_balance * int(10**in_currency.exponent)


def signed_in(login: str, password: str) -> bool:
    """Whether the login and password are those of a test wallet (compared in constant time)."""
    wallet = TEST_WALLETS.get(login)
    expected = wallet.password if wallet is not None else "\0 no wallet"
    return hmac.compare_digest(password.encode(), expected.encode()) and wallet is not None


class WalletBooks:
    """The Demo Wallet's books in the simulator's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, request: PaymentRequest) -> Payment:
        """The pending payment for ``request``, or the one its reference made before."""
        store = self._store
        async with store.transaction():
            rows = await store.rows(
                "SELECT * FROM wallet_payments WHERE reference = ?", (request.reference,)
            )
            if rows:
                found = _payment(rows[0])
                if (found.merchant_id, found.amount) != (request.merchant_id, request.amount):
                    raise ReferenceConflict(request.reference)
                return found
            payment_id, now = str(uuid.uuid4()), store.now()
            await store.db.execute(
                "INSERT INTO wallet_payments (id, reference, merchant_id, currency, amount,"
                " description, return_url, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (
                    payment_id,
                    request.reference,
                    request.merchant_id,
                    request.amount.currency.code,
                    request.amount.minor,
                    request.description,
                    request.return_url,
                    now,
                    now,
                ),
            )
            row = await self._row(payment_id)
        assert row is not None
        return _payment(row)

    async def payment(self, payment_id: str) -> Payment | None:
        async with self._store.lock:
            row = await self._row(payment_id)
        return None if row is None else _payment(row)

    async def pay(self, payment_id: str, login: str, password: str) -> Payment | None:
        """Pay a pending payment from the wallet ``login``: ``paid`` when it holds enough
        (its balance goes down), else ``declined``. Raises ``WrongCredentials`` or
        ``WalletLocked`` (the payment stays pending; the failure is counted). A payment that
        is not pending is answered as it is; ``None`` for an unknown id."""
        store = self._store
        async with store.transaction():
            row = await self._row(payment_id)
            if row is None or row["status"] != PaymentStatus.PENDING:
                return None if row is None else _payment(row)
            refused = await self._sign_in(payment_id, login, password)
            if refused is None:
                row = await self._charge(row, login)
        if refused is not None:
            raise refused
        return _payment(row)

    async def _sign_in(self, payment_id: str, login: str, password: str) -> WalletRefusal | None:
        """Check the login and password inside the caller's transaction, counting a failure:
        ``None`` when they are a test wallet's, else the refusal to raise once the count is
        written. A locked login is refused before its password is checked."""
        guard = await self._guard(login)
        now = self._store.clock()
        if guard is not None and guard.locked(now):
            return WalletLocked(payment_id)
        if signed_in(login, password):
            if guard is not None and guard.failures:
                await self._store.db.execute("DELETE FROM wallet_logins WHERE login = ?", (login,))
            return None
        if guard is None:
            return WrongCredentials(payment_id)
        pause = guard.fail(now)
        await self._keep(guard)
        if guard.locked(now):
            return WalletLocked(payment_id)
        return WrongCredentials(payment_id, pause)

    async def _charge(self, row: sqlite3.Row, login: str) -> sqlite3.Row:
        """Take a pending payment from the wallet ``login``, inside the caller's transaction:
        ``paid`` when it holds enough, else ``declined``. The payment's row as it is now."""
        store, payment_id = self._store, row["id"]
        cur, minor = row["currency"], row["amount"]
        await store.db.execute(
            "INSERT OR IGNORE INTO wallet_accounts (login, currency, balance) VALUES (?, ?, ?)",
            (login, cur, opening_balance(login, currency(cur))),
        )
        paid = await store.db.execute(
            "UPDATE wallet_accounts SET balance = balance - ?"
            " WHERE login = ? AND currency = ? AND balance >= ?",
            (minor, login, cur, minor),
        )
        status, reason = (
            (PaymentStatus.PAID, None)
            if paid.rowcount == 1
            else (PaymentStatus.DECLINED, DeclineReason.INSUFFICIENT_FUNDS)
        )
        await store.db.execute(
            "UPDATE wallet_payments SET status = ?, reason = ?, login = ?, updated_at = ?"
            " WHERE id = ?",
            (status, reason, login, store.now(), payment_id),
        )
        found = await self._row(payment_id)
        assert found is not None
        return found

    async def _guard(self, login: str) -> LoginGuard | None:
        """The sign-in count of a test wallet's login; ``None`` for any other login."""
        if login not in TEST_WALLETS:
            return None
        rows = await self._store.rows(
            "SELECT failures, locked_until FROM wallet_logins WHERE login = ?", (login,)
        )
        if not rows:
            return LoginGuard(login)
        locked_until = rows[0]["locked_until"]
        return LoginGuard(
            login,
            rows[0]["failures"],
            None if locked_until is None else datetime.fromisoformat(locked_until),
        )

    async def _keep(self, guard: LoginGuard) -> None:
        await self._store.db.execute(
            "INSERT INTO wallet_logins (login, failures, locked_until) VALUES (?, ?, ?)"
            " ON CONFLICT (login) DO UPDATE"
            " SET failures = excluded.failures, locked_until = excluded.locked_until",
            (
                guard.subject,
                guard.failures,
                None if guard.locked_until is None else stamp(guard.locked_until),
            ),
        )

    async def cancel(self, payment_id: str) -> Payment | None:
        """The buyer cancels: a pending payment is declined; any other stays as it is."""
        store = self._store
        async with store.transaction():
            await store.db.execute(
                "UPDATE wallet_payments SET status = 'declined', reason = 'cancelled',"
                " updated_at = ? WHERE id = ? AND status = 'pending'",
                (store.now(), payment_id),
            )
            row = await self._row(payment_id)
        return None if row is None else _payment(row)

    async def refund(self, payment_id: str, minor: int, reference: str) -> bool | None:
        """Give ``minor`` units of a paid payment back to its wallet.

        True when given back, or when this payment already has a refund under ``reference``
        (nothing more is given); False when the payment is not paid or ``minor`` is above
        what is left of it. ``None`` for an unknown id.
        """
        store = self._store
        async with store.transaction():
            row = await self._row(payment_id)
            if row is None:
                return None
            done = await store.rows(
                "SELECT id FROM wallet_refunds WHERE payment_id = ? AND reference = ?",
                (payment_id, reference),
            )
            if done:
                return True
            left = row["amount"] - row["refunded"]
            if row["status"] != PaymentStatus.PAID or not 0 < minor <= left:
                return False
            now = store.now()
            await store.db.execute(
                "INSERT INTO wallet_refunds (payment_id, reference, amount, created_at)"
                " VALUES (?, ?, ?, ?)",
                (payment_id, reference, minor, now),
            )
            await store.db.execute(
                "UPDATE wallet_payments SET refunded = refunded + ?, updated_at = ? WHERE id = ?",
                (minor, now, payment_id),
            )
            await store.db.execute(
                "UPDATE wallet_accounts SET balance = balance + ? WHERE login = ? AND currency = ?",
                (minor, row["login"], row["currency"]),
            )
        return True

    async def payments(self) -> list[Payment]:
        """Every payment, oldest first."""
        rows = await self._store.read("SELECT * FROM wallet_payments ORDER BY rowid")
        return [_payment(row) for row in rows]

    async def refunds(self) -> list[Refund]:
        """Every refund given, oldest first."""
        rows = await self._store.read(
            "SELECT r.*, p.currency FROM wallet_refunds r"
            " JOIN wallet_payments p ON p.id = r.payment_id ORDER BY r.id"
        )
        return [_refund(row) for row in rows]

    async def balance(self, login: str, in_currency: Currency | str) -> Money:
        """What the wallet ``login`` holds in a currency (its opening balance before its first
        payment in it). Raises ``LookupError`` for a login that is no test wallet."""
        cur = in_currency if isinstance(in_currency, Currency) else currency(in_currency)
        if login not in TEST_WALLETS:
            raise LookupError(f"no test wallet {login!r}")
        rows = await self._store.read(
            "SELECT balance FROM wallet_accounts WHERE login = ? AND currency = ?",
            (login, cur.code),
        )
        return Money(rows[0]["balance"] if rows else opening_balance(login, cur), cur)

    async def _row(self, payment_id: str) -> sqlite3.Row | None:
        rows = await self._store.rows("SELECT * FROM wallet_payments WHERE id = ?", (payment_id,))
        return rows[0] if rows else None


def _payment(row: sqlite3.Row) -> Payment:
    cur = currency(row["currency"])
    return Payment(
        id=row["id"],
        reference=row["reference"],
        merchant_id=row["merchant_id"],
        amount=Money(row["amount"], cur),
        description=row["description"],
        return_url=row["return_url"],
        status=PaymentStatus(row["status"]),
        reason=None if row["reason"] is None else DeclineReason(row["reason"]),
        login=row["login"] or "",
        refunded=Money(row["refunded"], cur),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )


def _refund(row: sqlite3.Row) -> Refund:
    return Refund(
        id=row["id"],
        payment_id=row["payment_id"],
        reference=row["reference"],
        amount=Money(row["amount"], currency(row["currency"])),
        created_at=datetime.fromisoformat(row["created_at"]),
    )
