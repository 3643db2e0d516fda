"""The simulator's books: card accounts, holds, reversals, settlement batches and postings
in an SQLite file (WAL mode).

The file is the bank's side of every exchange, so tests and reconciliation can compare IPS's
books with it to the cent. Any process may open it while the simulator runs::

    async with await Ledger.open(store_path) as ledger:
        holds = await ledger.active_holds()
        left = await ledger.available("4111111111111111", "RUB")
        posted = await ledger.postings()

No PAN is stored in clear: a card is known by ``card_ref``, the HMAC-SHA256 of its number
under a random key created with the file and kept in it, and shown by its masked number.

The same store keeps the books of the simulator's HTTP side: ``ledger.acs`` (3-D Secure
authentications, ``acs``), ``ledger.wallet`` (the Demo Wallet, ``wallet``) and
``ledger.loyalty`` (the Demo Points program, ``loyalty``)::

    authentications = await ledger.acs.transactions()
    payments, refunds = await ledger.wallet.payments(), await ledger.wallet.refunds()
    points = await ledger.loyalty.account("7000000001")

A card enrolled in 3-D Secure is held only with the CAVV of an authentication of that card
not used before (``HoldRequest.cavv``); the hold and the use of the CAVV are one transaction.

The money of one account (card, currency):

- an account is created by the first authorization in that currency with the card's opening
  balance; ``available`` is its balance less what active holds still hold;
- a hold is lowered by reversals (``released``) and by posted debits (``captured``);
  ``outstanding = amount - released - captured``; it is ``active`` while that is above zero,
  then ``captured`` when a debit took part of it, else ``released``;
- a financial advice is staged in its batch (terminal, batch number) and changes nothing
  until the batch is closed in balance: then every advice of the batch is posted at once —
  a debit moves its amount from the hold to the account (``captured`` up, balance down),
  a credit raises the balance;
- a debit may take at most what the hold still holds less the debits staged against it, and
  a reversal may release no more than that either, so a staged batch can always be posted; a
  credit may return at most what was debited on its authorization less the credits already
  posted or staged.

The schema and its migration are in ``schema``.
"""

from __future__ import annotations

import enum
import secrets
import sqlite3
import string
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from demobank import cards
from demobank.acs import Acs
from demobank.cards import CardNumber
from demobank.loyalty import LoyaltyBooks
from demobank.money import Currency, Money, currency
from demobank.store import Clock, Store, system_clock
from demobank.wallet import WalletBooks
from paywire.messages import mask_pan

_APPROVAL_ALPHABET = string.ascii_uppercase + string.digits
_REVERSALS = "SELECT r.*, h.currency FROM reversals r JOIN holds h ON h.id = r.hold_id"


class HoldStatus(enum.StrEnum):
    ACTIVE = "active"
    """Something is still held."""
    RELEASED = "released"
    """Nothing is held any more, and reversals released all of it."""
    CAPTURED = "captured"
    """Nothing is held any more, and posted debits took some or all of it."""


class PostingKind(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class BatchStatus(enum.StrEnum):
    STAGED = "staged"
    """Advices arrive; nothing is posted yet."""
    ACCEPTED = "accepted"
    """Closed in balance: its advices are posted; it takes no new ones."""


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
    """Released by reversals."""
    captured: Money
    """Taken by posted debits."""
    status: HoldStatus
    approval_code: str
    answered: bool
    """False when the simulator kept its answer back (the never-answering test card)."""
    created_at: datetime
    updated_at: datetime

    @property
    def outstanding(self) -> Money:
        """Still held: neither released nor captured."""
        return self.amount - self.released - self.captured


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


@dataclass(frozen=True)
class Posting:
    """A financial advice the simulator took: staged in its batch until the batch is accepted,
    then posted (``posted_at``)."""

    id: int
    terminal_id: str
    batch: int
    stan: str
    """The advice's own STAN (field 11)."""
    transmitted: str
    """Field 7 of the advice, ``MMDDhhmmss`` UTC."""
    rrn: str
    """The RRN of the authorization it refers to (field 37)."""
    hold_id: int
    kind: PostingKind
    amount: Money
    merchant_id: str
    card_ref: str
    masked_pan: str
    staged_at: datetime
    posted_at: datetime | None


@dataclass(frozen=True)
class Batch:
    """A settlement batch of one terminal, with the counts and totals of its advices."""

    terminal_id: str
    number: int
    currency: Currency
    status: BatchStatus
    debits: int
    debit_total: Money
    credits: int
    credit_total: Money
    created_at: datetime
    accepted_at: datetime | None


class LedgerRefusal(Exception):
    pass


class DuplicateHold(LedgerRefusal):
    """This terminal already holds money under this RRN."""


class InsufficientFunds(LedgerRefusal):
    pass


class NotAuthenticated(LedgerRefusal):
    """The card takes part in 3-D Secure, and the authorization carries no CAVV of it that is
    still unused."""


class NoSuchHold(LedgerRefusal):
    """No hold matches the request's terminal, RRN, card and currency (and a reversal's
    original STAN, an advice's merchant)."""


class AmountNotAvailable(LedgerRefusal):
    """A debit above what the hold can still give, or a credit above what is left to refund."""


class NotInBatch(LedgerRefusal):
    """The advice cannot join this batch: it is accepted already, or in another currency."""


class DuplicateAdvice(LedgerRefusal):
    """This batch already has another advice under this STAN."""


class OutOfBalance(LedgerRefusal):
    """The counts and totals of a batch close disagree with the advices staged in it."""


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
    cavv: str | None = None
    """``None``: the card needs no 3-D Secure. Otherwise the CAVV the authorization carried
    (``""`` when none): the hold is placed only when it redeems an authentication of this card
    (``Acs.redeem``)."""


@dataclass(frozen=True)
class ReleaseRequest:
    pan: str
    amount: Money
    terminal_id: str
    rrn: str
    original_stan: str
    stan: str
    transmitted: str


@dataclass(frozen=True)
class AdviceRequest:
    pan: str
    amount: Money
    kind: PostingKind
    terminal_id: str
    rrn: str
    """The original authorization's."""
    stan: str
    transmitted: str
    merchant_id: str
    batch: int


@dataclass(frozen=True)
class CloseRequest:
    terminal_id: str
    batch: int
    currency: Currency
    debits: int
    debit_total: int
    credits: int
    credit_total: int


class Ledger:
    """Open with ``await Ledger.open(path)``; close with ``await ledger.close()``.

    ``acs``, ``wallet`` and ``loyalty`` are the books of the 3-D Secure ACS, of the Demo
    Wallet and of the Demo Points program, in the same store; they take the time from
    ``open``'s ``clock`` (the expiry of challenges, locked PINs). ``form_key`` is the store's
    key of their pages' form tokens (``forms``).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._db = store.db
        self._lock = store.lock
        self.acs = Acs(store)
        self.wallet = WalletBooks(store)
        self.loyalty = LoyaltyBooks(store)

    @classmethod
    async def open(cls, path: Path | str, *, clock: Clock = system_clock) -> Ledger:
        """Open the store, creating it (schema and keys) or migrating it as needed."""
        return cls(await Store.open(path, clock))

    async def close(self) -> None:
        await self._store.close()

    async def __aenter__(self) -> Ledger:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def card_ref(self, pan: CardNumber | str) -> str:
        """The name under which the store knows a card."""
        return self._store.card_ref(pan)

    @property
    def form_key(self) -> bytes:
        return self._store.form_key

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

    async def postings(self) -> list[Posting]:
        """The posted advices, in the order they were staged."""
        sql = f"{_POSTINGS} WHERE a.posted_at IS NOT NULL ORDER BY a.id"
        async with self._lock:
            return [_posting(row) for row in await self._rows(sql)]

    async def staged(self) -> list[Posting]:
        """The advices that wait for their batch to be closed in balance."""
        sql = f"{_POSTINGS} WHERE a.posted_at IS NULL ORDER BY a.id"
        async with self._lock:
            return [_posting(row) for row in await self._rows(sql)]

    async def batches(self) -> list[Batch]:
        sql = f"{_BATCHES} GROUP BY b.id ORDER BY b.id"
        async with self._lock:
            return [_batch(row) for row in await self._rows(sql)]

    async def batch(self, terminal_id: str, number: int) -> Batch | None:
        async with self._lock:
            row = await self._batch_with_totals(terminal_id, number)
        return None if row is None else _batch(row)

    async def available(self, card: CardNumber | str, in_currency: Currency | str) -> Money:
        """What the card may still spend: balance less what active holds still hold.

        ``card`` is a ``CardNumber``, the card number's digits, or a ``card_ref``. A card that
        has no account in this currency yet has its opening balance (unknown for a bare
        ``card_ref``: ``LookupError``).
        """
        return await self._account_figure(card, in_currency, _AVAILABLE)

    async def balance(self, card: CardNumber | str, in_currency: Currency | str) -> Money:
        """The account's balance: the opening balance less posted debits plus posted credits
        (holds not deducted). ``card`` as for ``available``."""
        return await self._account_figure(card, in_currency, _BALANCE)

    async def place_hold(self, request: HoldRequest) -> Hold:
        """Hold ``request.amount``; raises ``DuplicateHold``, ``NotAuthenticated`` (a card of
        3-D Secure whose CAVV does not redeem an authentication) or ``InsufficientFunds``."""
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
            if request.cavv is not None and not await self.acs.redeem(
                request.pan, request.cavv, terminal_id=request.terminal_id, rrn=request.rrn
            ):
                raise NotAuthenticated(request.rrn)
            available = await self._figure(_AVAILABLE, ref, cur)
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
        """Release up to ``request.amount`` of the hold: at most what it still holds less the
        debits staged against it.

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
                usage = await self._usage(row["id"])
                room = row["amount"] - row["released"] - row["captured"] - usage["staged_debits"]
                released = min(request.amount.minor, room)
                total = row["released"] + released
                await self._db.execute(
                    "UPDATE holds SET released = ?, status = ?, updated_at = ? WHERE id = ?",
                    (total, _status(row["amount"], total, row["captured"]), now, row["id"]),
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

    async def stage(self, request: AdviceRequest) -> Posting:
        """Stage a financial advice in its batch (created by its first advice, in the currency
        of that advice).

        An advice is known by (terminal, batch, STAN): repeating it returns the first one and
        stages nothing more, even once the batch is accepted. Raises ``NoSuchHold``,
        ``DuplicateAdvice`` (the STAN names another advice), ``NotInBatch`` or
        ``AmountNotAvailable``.
        """
        kind, minor, cur = request.kind, request.amount.minor, request.amount.currency
        now = _now()
        async with self._transaction():
            hold = await self._hold_row(request.terminal_id, request.rrn)
            if (
                hold is None
                or hold["card_ref"] != self.card_ref(request.pan)
                or hold["currency"] != cur.code
                or hold["merchant_id"] != request.merchant_id
            ):
                raise NoSuchHold(request.rrn)
            batch = await self._batch_row(request.terminal_id, request.batch)
            if batch is None:
                cursor = await self._db.execute(
                    "INSERT INTO batches (terminal_id, number, currency, status, created_at)"
                    " VALUES (?, ?, ?, 'staged', ?)",
                    (request.terminal_id, request.batch, cur.code, now),
                )
                batch_id = cursor.lastrowid
            else:
                batch_id = batch["id"]
                found = await self._rows(
                    "SELECT id, hold_id, kind, amount FROM advices WHERE batch_id = ? AND stan = ?",
                    (batch_id, request.stan),
                )
                if found:
                    first = found[0]
                    content = (first["hold_id"], first["kind"], first["amount"])
                    if content != (hold["id"], kind, minor):
                        raise DuplicateAdvice(request.stan)
                    rows = await self._rows(f"{_POSTINGS} WHERE a.id = ?", (first["id"],))
                    return _posting(rows[0])
                if batch["status"] != BatchStatus.STAGED:
                    raise NotInBatch(f"batch {request.batch} is accepted already")
                if batch["currency"] != cur.code:
                    raise NotInBatch(f"batch {request.batch} is in {batch['currency']}")
            usage = await self._usage(hold["id"])
            if kind is PostingKind.DEBIT:
                room = hold["amount"] - hold["released"] - hold["captured"] - usage["staged_debits"]
            else:
                room = usage["posted_debits"] - usage["credits"]
            if minor > room:
                raise AmountNotAvailable(f"{request.amount} asked, {Money(room, cur)} left")
            cursor = await self._db.execute(
                "INSERT INTO advices (batch_id, hold_id, stan, transmitted, kind, amount,"
                " staged_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (batch_id, hold["id"], request.stan, request.transmitted, kind, minor, now),
            )
            rows = await self._rows(f"{_POSTINGS} WHERE a.id = ?", (cursor.lastrowid,))
        return _posting(rows[0])

    async def close_batch(self, request: CloseRequest) -> Batch:
        """Close a batch: when ``request``'s currency, counts and totals are those of the
        advices staged in it, post them all and accept the batch, in one transaction.

        Closing an accepted batch again with the same figures posts nothing and returns it.
        A batch nothing was staged in is accepted empty when the figures are all zero.
        Raises ``OutOfBalance`` (and changes nothing) when the figures disagree.
        """
        claimed = (
            request.currency.code,
            request.debits,
            request.debit_total,
            request.credits,
            request.credit_total,
        )
        now = _now()
        async with self._transaction():
            batch = await self._batch_with_totals(request.terminal_id, request.batch)
            if batch is None:
                found: tuple[object, ...] = (request.currency.code, 0, 0, 0, 0)
            else:
                found = tuple(
                    batch[key]
                    for key in ("currency", "debits", "debit_total", "credits", "credit_total")
                )
            if found != claimed:
                raise OutOfBalance(
                    f"batch {request.batch} of {request.terminal_id}: claimed {claimed},"
                    f" staged {found}"
                )
            if batch is None:
                await self._db.execute(
                    "INSERT INTO batches (terminal_id, number, currency, status, created_at,"
                    " accepted_at) VALUES (?, ?, ?, 'accepted', ?, ?)",
                    (request.terminal_id, request.batch, request.currency.code, now, now),
                )
            elif batch["status"] == BatchStatus.STAGED:
                await self._post(batch["id"], now)
            row = await self._batch_with_totals(request.terminal_id, request.batch)
        assert row is not None
        return _batch(row)

    async def _post(self, batch_id: int, now: str) -> None:
        advices = await self._rows(
            "SELECT a.kind, a.amount, a.hold_id, h.card_ref, h.currency FROM advices a"
            " JOIN holds h ON h.id = a.hold_id"
            " WHERE a.batch_id = ? AND a.posted_at IS NULL ORDER BY a.id",
            (batch_id,),
        )
        for advice in advices:
            if advice["kind"] == PostingKind.DEBIT:
                await self._db.execute(
                    "UPDATE holds SET captured = captured + :minor, status = CASE"
                    " WHEN released + captured + :minor < amount THEN 'active' ELSE 'captured'"
                    " END, updated_at = :now WHERE id = :hold",
                    {"minor": advice["amount"], "now": now, "hold": advice["hold_id"]},
                )
            change = -advice["amount"] if advice["kind"] == PostingKind.DEBIT else advice["amount"]
            await self._db.execute(
                "UPDATE accounts SET balance = balance + ? WHERE card_ref = ? AND currency = ?",
                (change, advice["card_ref"], advice["currency"]),
            )
        await self._db.execute(
            "UPDATE advices SET posted_at = ? WHERE batch_id = ? AND posted_at IS NULL",
            (now, batch_id),
        )
        await self._db.execute(
            "UPDATE batches SET status = 'accepted', accepted_at = ? WHERE id = ?",
            (now, batch_id),
        )

    def _transaction(self) -> AbstractAsyncContextManager[None]:
        return self._store.transaction()

    async def _account_figure(
        self, card: CardNumber | str, in_currency: Currency | str, sql: str
    ) -> Money:
        cur = in_currency if isinstance(in_currency, Currency) else currency(in_currency)
        text = card if isinstance(card, str) else card.reveal()
        digits = text if len(text) <= 19 and text.isdigit() else None
        async with self._lock:
            found = await self._figure(sql, text if digits is None else self.card_ref(digits), cur)
        if found is not None:
            return found
        if digits is None:
            raise LookupError("no account for this card in this currency")
        return Money(cards.opening_balance(digits, cur), cur)

    async def _figure(self, sql: str, ref: str, cur: Currency) -> Money | None:
        rows = await self._rows(sql, (ref, cur.code))
        return Money(rows[0]["figure"], cur) if rows else None

    async def _usage(self, hold_id: int) -> sqlite3.Row:
        """What advices do with a hold: ``staged_debits``, ``posted_debits``, ``credits``."""
        rows = await self._rows(
            "SELECT"
            " COALESCE(SUM(amount) FILTER (WHERE kind = 'debit' AND posted_at IS NULL), 0)"
            " AS staged_debits,"
            " COALESCE(SUM(amount) FILTER (WHERE kind = 'debit' AND posted_at IS NOT NULL), 0)"
            " AS posted_debits,"
            " COALESCE(SUM(amount) FILTER (WHERE kind = 'credit'), 0) AS credits"
            " FROM advices WHERE hold_id = ?",
            (hold_id,),
        )
        return rows[0]

    async def _hold_row(self, terminal_id: str, rrn: str) -> sqlite3.Row | None:
        rows = await self._rows(
            "SELECT * FROM holds WHERE terminal_id = ? AND rrn = ?", (terminal_id, rrn)
        )
        return rows[0] if rows else None

    async def _batch_row(self, terminal_id: str, number: int) -> sqlite3.Row | None:
        rows = await self._rows(
            "SELECT * FROM batches WHERE terminal_id = ? AND number = ?", (terminal_id, number)
        )
        return rows[0] if rows else None

    async def _batch_with_totals(self, terminal_id: str, number: int) -> sqlite3.Row | None:
        rows = await self._rows(
            f"{_BATCHES} WHERE b.terminal_id = ? AND b.number = ? GROUP BY b.id",
            (terminal_id, number),
        )
        return rows[0] if rows else None

    async def _rows(
        self, sql: str, parameters: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[sqlite3.Row]:
        return await self._store.rows(sql, parameters)


_AVAILABLE = (
    "SELECT balance - (SELECT COALESCE(SUM(amount - released - captured), 0) FROM holds"
    " WHERE card_ref = a.card_ref AND currency = a.currency AND status = 'active')"
    " AS figure FROM accounts a WHERE card_ref = ? AND currency = ?"
)
_BALANCE = "SELECT balance AS figure FROM accounts WHERE card_ref = ? AND currency = ?"
_POSTINGS = (
    "SELECT a.*, b.terminal_id, b.number AS batch, b.currency, h.rrn, h.merchant_id,"
    " h.card_ref, h.masked_pan FROM advices a JOIN batches b ON b.id = a.batch_id"
    " JOIN holds h ON h.id = a.hold_id"
)
_BATCHES = (
    "SELECT b.*,"
    " COUNT(a.id) FILTER (WHERE a.kind = 'debit') AS debits,"
    " COALESCE(SUM(a.amount) FILTER (WHERE a.kind = 'debit'), 0) AS debit_total,"
    " COUNT(a.id) FILTER (WHERE a.kind = 'credit') AS credits,"
    " COALESCE(SUM(a.amount) FILTER (WHERE a.kind = 'credit'), 0) AS credit_total"
    " FROM batches b LEFT JOIN advices a ON a.batch_id = b.id"
)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _status(amount: int, released: int, captured: int) -> HoldStatus:
    if released + captured < amount:
        return HoldStatus.ACTIVE
    return HoldStatus.CAPTURED if captured else HoldStatus.RELEASED


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


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
        captured=Money(row["captured"], cur),
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


def _posting(row: sqlite3.Row) -> Posting:
    return Posting(
        id=row["id"],
        terminal_id=row["terminal_id"],
        batch=row["batch"],
        stan=row["stan"],
        transmitted=row["transmitted"],
        rrn=row["rrn"],
        hold_id=row["hold_id"],
        kind=PostingKind(row["kind"]),
        amount=Money(row["amount"], currency(row["currency"])),
        merchant_id=row["merchant_id"],
        card_ref=row["card_ref"],
        masked_pan=row["masked_pan"],
        staged_at=datetime.fromisoformat(row["staged_at"]),
        posted_at=_moment(row["posted_at"]),
    )


def _batch(row: sqlite3.Row) -> Batch:
    cur = currency(row["currency"])
    return Batch(
        terminal_id=row["terminal_id"],
        number=row["number"],
        currency=cur,
        status=BatchStatus(row["status"]),
        debits=row["debits"],
        debit_total=Money(row["debit_total"], cur),
        credits=row["credits"],
        credit_total=Money(row["credit_total"], cur),
        created_at=datetime.fromisoformat(row["created_at"]),
        accepted_at=_moment(row["accepted_at"]),
    )
