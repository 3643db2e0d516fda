"""Orders, their operations and the transactions of each operation.

An **order** is what the shop asked to be paid (its ``ordernumber``, amount, currency) under the
IPS-unique ``billnumber``. Each thing done to its money is an **operation** (payment,
confirmation, cancel…), the n-th named ``billnumber.n``. Each message exchange with the
processing center for an operation is a **transaction**.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ips.domain.books import Books, CancelSplit
from ips.domain.cards import Brand, Expiry
from ips.domain.errors import InvalidInput, MissingInput, Refused
from ips.domain.money import Money
from ips.domain.recurring import RecurringTerms
from ips.domain.responses import ResponseCode
from ips.domain.states import (
    OPERATION_TRANSITIONS,
    ORDER_TRANSITIONS,
    TRANSACTION_TRANSITIONS,
    OperationStatus,
    OrderState,
    StateChanged,
    TransactionStatus,
    transition,
)
from ips.domain.text import is_digits
from paywire.luhn import luhn_valid


class Language(enum.Enum):
    RU = "RU"
    EN = "EN"


class OperationKind(enum.Enum):
    """Values are the Assist ``operationtype`` codes."""

    PAYMENT = "100"
    CONFIRMATION = "200"
    CANCEL = "300"
    BONUS_ACCRUAL = "500"


class PaymentMeans(enum.Enum):
    """The ways to pay IPS offers; a merchant allows some, a payment request may hide some."""

    CARD = "card"
    WALLET = "wallet"
    POINTS = "points"
    """Bonus points, for part of an order beside a card or the wallet (``domain/points.py``)."""


class CancelReason(enum.Enum):
    """Assist ``CancelReason``; expiry is IPS's own, for holds nobody confirmed in time."""

    SHOP = "1"
    CUSTOMER = "2"
    FRAUD = "3"
    HOLD_EXPIRED = "9"


class TransactionKind(enum.Enum):
    AUTHENTICATION = "authentication"
    """3-D Secure: the issuer's check of the cardholder (``reference``: the ACS's id)."""
    WALLET_PAYMENT = "wallet_payment"
    """A payment at the e-wallet provider (``reference``: the provider's id)."""
    WALLET_REFUND = "wallet_refund"
    POINTS_RESERVATION = "points_reservation"
    """Points held at the points program (``reference``: IPS's name of the reservation, which
    the spend, the release and the give-backs that follow use too)."""
    POINTS_SPEND = "points_spend"
    POINTS_RELEASE = "points_release"
    POINTS_GIVE_BACK = "points_give_back"
    POINTS_ACCRUAL = "points_accrual"
    """Points credited to the buyer for a card payment (``reference``: the accrual's name)."""
    POINTS_ACCRUAL_REVERSAL = "accrual_reversal"
    AUTHORIZATION = "authorization"
    REVERSAL = "reversal"
    COMPLETION = "completion"
    REFUND = "refund"
    FINANCIAL = "financial"


PROCESSING_KINDS = frozenset(
    {
        TransactionKind.AUTHORIZATION,
        TransactionKind.REVERSAL,
        TransactionKind.COMPLETION,
        TransactionKind.REFUND,
        TransactionKind.FINANCIAL,
    }
)
"""The exchanges with the processing center: each goes under a terminal."""


MAX_ORDERNUMBER = 128
DEFAULT_PAYMENT_ATTEMPTS = 3
"""Payments a buyer may try on one order unless the merchant says otherwise."""
MAX_PAYMENT_ATTEMPTS = 10
"""At most: each attempt on a kept card is a guess at its CVC."""


def parse_ordernumber(text: str) -> str:
    """The shop's number of an order: 1 to ``MAX_ORDERNUMBER`` characters, spaces around
    dropped."""
    ordernumber = text.strip()
    if not ordernumber:
        raise MissingInput("OrderNumber is required", field="ordernumber")
    if len(ordernumber) > MAX_ORDERNUMBER:
        raise InvalidInput(
            f"OrderNumber is at most {MAX_ORDERNUMBER} characters", field="ordernumber"
        )
    return ordernumber


def new_billnumber() -> str:
    """A random 16-digit billnumber; the database's unique constraint catches the rare repeat.
    It fails the Luhn check, so that nothing that looks for card numbers — a data-loss scanner,
    the net of IPS's own logs (``logs/formats.py``) — takes one for a card's."""
    number = str(10**15 + secrets.randbelow(9 * 10**15))
    if luhn_valid(number):  # one more on the last digit, which the check does not double
        number = number[:-1] + str((int(number[-1]) + 1) % 10)
    return number


@dataclass(frozen=True)
class Buyer:
    """The buyer's data as the shop sent it (or the buyer typed it); every field optional."""

    lastname: str = ""
    firstname: str = ""
    middlename: str = ""
    email: str = ""
    address: str = ""
    home_phone: str = ""
    work_phone: str = ""
    mobile_phone: str = ""
    fax: str = ""
    country: str = ""
    state: str = ""
    city: str = ""
    zip: str = ""
    client_ip: str = ""


@dataclass(frozen=True)
class ReturnUrls:
    """Where the buyer goes back to: ``ok`` after a payment, ``no`` after a decline."""

    ok: str = ""
    no: str = ""
    default: str = ""

    def after(self, paid: bool) -> str:
        return (self.ok if paid else self.no) or self.default


@dataclass
class Order:
    billnumber: str
    merchant_id: str
    ordernumber: str
    amount: Money
    created_at: datetime
    delay: bool = False
    language: Language | None = None
    """The language the shop asked for; ``None``: the buyer's browser decides."""
    comment: str = ""
    buyer: Buyer = field(default_factory=Buyer)
    return_urls: ReturnUrls = field(default_factory=ReturnUrls)
    state: OrderState = OrderState.IN_PROCESS
    means: frozenset[PaymentMeans] = frozenset({PaymentMeans.CARD})
    """The ways the buyer may pay this order: the merchant's, less those the request hid."""
    disable_3ds: bool = False
    """The shop asked to skip 3-D Secure, and is allowed to."""
    recurring: RecurringTerms | None = None
    """Terms of later payments with this order's card, when the buyer agreed to them."""
    recurring_of: int | None = None
    """The first order, when this one is a recurring payment."""
    customer_number: str = ""
    """The shop's customer, when the request's checkvalue covers it (``kept_cards``)."""
    max_points: int | None = None
    """``OrderMaxPoints``, when the request's checkvalue covers it (``points.points_offer``)."""
    books: Books | None = None
    """Where the order's money is, once it is paid (in the payment's currency)."""
    holds_ordernumber: bool = False
    """True while a payment is under way or once one succeeded: the order then holds its
    ``ordernumber`` for the merchant, and no other order with that number may be paid."""
    updated_at: datetime | None = None
    id: int | None = None
    events: list[StateChanged] = field(default_factory=list, repr=False, compare=False)

    def change_state(self, new: OrderState, at: datetime) -> None:
        self.events.append(transition(ORDER_TRANSITIONS, "order", self.id, self.state, new, at))
        self.state = new
        self.updated_at = at

    @staticmethod
    def chosen_payment(operations: Iterable[Operation]) -> Operation | None:
        """The payment operation created when the buyer chose the way to pay, while its form
        is not sent (``Operation.begun_at`` unset). It moved nothing; the form's payment takes
        it over."""
        return next((op for op in operations if _in_process_payment(op) and not op.begun_at), None)

    @staticmethod
    def attempts_left(operations: list[Operation], limit: int) -> int:
        """How many more payments the buyer may try, of ``limit`` per order: a way to pay only
        chosen is not yet an attempt, nor points paying beside one."""
        tried = sum(
            op.kind is OperationKind.PAYMENT and op.begun_at is not None
            and op.means is not PaymentMeans.POINTS
            for op in operations
        )  # fmt: skip
        return max(limit - tried, 0)

    def may_be_paid(
        self,
        operations: list[Operation],
        limit: int,
        now: datetime,
        lifetime: timedelta,
        *,
        by_the_shop: bool = False,
        beside: Operation | None = None,
    ) -> bool:
        """Whether a payment may begin now. An order takes one successful payment and, before
        it, up to ``limit`` attempts, one at a time, while its ``lifetime`` lasts: after a
        declined one (the card refused, no answer, 3-D Secure failed, the wallet refused) it
        is ``Declined`` — the last attempt's state — and may be paid again. A recurring
        payment is the shop's (``by_the_shop``), made once: no buyer pays or retries it.
        ``beside``: the points payment this one pays the rest beside, in process."""
        if self.recurring_of is not None and not by_the_shop:
            return False
        open_ = self.state is OrderState.IN_PROCESS or (
            self.state is OrderState.DECLINED and self.recurring_of is None
        )
        return (
            open_
            and now < self.created_at + lifetime
            and self.attempts_left(operations, limit) > 0
            and not any(
                op.status is OperationStatus.IN_PROCESS
                and (beside is None or op.id != beside.id)
                and op is not self.chosen_payment(operations)
                for op in operations
            )
        )

    def choose(self, means: PaymentMeans, at: datetime) -> None:
        """The buyer chose how to pay: checks that the order may be paid this way; a declined
        order is ``In Process`` again for the new attempt (``may_be_paid`` says when). Nothing
        is held yet: the order's number is taken only as the payment begins."""
        if self.state not in (OrderState.IN_PROCESS, OrderState.DECLINED):
            raise Refused(f"the order is {self.state.value}, it cannot be paid")
        if means not in self.means:
            raise Refused("this way to pay is not offered for the order", field="means")
        if self.state is OrderState.DECLINED:
            self.change_state(OrderState.IN_PROCESS, at)

    def begin_payment(self, means: PaymentMeans, at: datetime) -> None:
        """The buyer sent the form of ``means`` (``choose``): the order takes its number."""
        self.choose(means, at)
        self.holds_ordernumber = True

    def pay_in_points(self, points: Operation, at: datetime) -> None:
        """Points paid beside the order's payment, which succeeded (``domain/points.py``)."""
        self._keep(self.paid_books.add_points(points.amount.minor), at)

    def end_payment(self, payment: Operation, at: datetime) -> None:
        """Moves the order by the outcome of its payment operation."""
        if payment.status is OperationStatus.SUCCESS:
            books = Books(payment.amount.currency).pay(payment.amount.minor, delay=self.delay)
            if payment.means is PaymentMeans.WALLET:  # the provider settles it: nothing to send
                books = books.present(payment.amount.minor)
            self._keep(books, at)
        else:
            self.holds_ordernumber = False
            self.change_state(OrderState.DECLINED, at)

    def give_up_payment(
        self,
        payment: Operation,
        exchanges: Iterable[Transaction],
        code: ResponseCode,
        at: datetime,
    ) -> list[Transaction]:
        """Declines a payment under way that moved no money — its 3-D Secure check failed or
        was abandoned, the directory or the wallet did not answer, its process died before an
        answer was recorded: the exchanges it still waits on are closed as declined, the
        payment is ``declined`` with ``code``, the order ``Declined`` and its number free.
        Returns the exchanges it closed; ``Refused`` when one may have moved money."""
        waiting = _waiting_exchanges(payment, exchanges)
        payment.finish(OperationStatus.DECLINED, code, at)
        self.end_payment(payment, at)
        return _declined(waiting, at)

    @property
    def paid_books(self) -> Books:
        if self.books is None:
            raise Refused(f"the order is {self.state.value}: it has not been paid")
        return self.books

    def confirm(self, amount: int | None, release_rest: bool, at: datetime) -> int:
        """Charges ``amount`` of the hold (all when ``None``); returns what was confirmed."""
        before = self.paid_books
        self._keep(before.confirm(amount, release_rest=release_rest), at)
        return self.paid_books.confirmed - before.confirmed

    def cancel(self, amount: int | None, at: datetime, point: int = 1) -> CancelSplit:
        """Cancels ``amount`` (all that is left when ``None``); ``point``: what a point paid
        is worth, when points paid part of the order."""
        split = self.paid_books.split_cancel(amount, point)
        self._keep(self.paid_books.cancel(split), at)
        return split

    def present(self, amount: int) -> None:
        self.books = self.paid_books.present(amount)

    def expire(
        self,
        at: datetime,
        payment: Operation | None = None,
        exchanges: Iterable[Transaction] = (),
    ) -> list[Transaction]:
        """The buyer never paid within the order's lifetime: the order is ``Timeout`` and its
        number free. A ``payment`` still under way, or only chosen, ends with it (``timeout``,
        its waiting exchanges closed as declined) if it moved no money; ``Refused`` if it may
        have (or when the order holds its number for a payment not given). Returns the
        exchanges it closed."""
        waiting = []
        if payment is not None:
            waiting = _waiting_exchanges(payment, exchanges)
            payment.finish(OperationStatus.TIMEOUT, ResponseCode.SYSTEM_ERROR, at)
        elif self.holds_ordernumber:
            raise Refused("a payment of the order is under way")
        self.change_state(OrderState.TIMEOUT, at)
        self.holds_ordernumber = False
        return _declined(waiting, at)

    def _keep(self, books: Books, at: datetime) -> None:
        self.books = books
        if books.state() is not self.state:
            self.change_state(books.state(), at)


@dataclass(frozen=True)
class CardSummary:
    """What IPS keeps of a card in the clear: never the full number, never the CVC."""

    masked_pan: str
    brand: Brand
    expiry: str
    holder: str

    @property
    def valid_thru(self) -> Expiry:
        month, year = self.expiry.split("/")
        return Expiry.parse(month, year)


@dataclass
class Operation:
    order_id: int
    number: int
    kind: OperationKind
    amount: Money
    created_at: datetime
    means: PaymentMeans = PaymentMeans.CARD
    card: CardSummary | None = None
    sealed_pan: str | None = field(default=None, repr=False)
    client_ip: str = ""
    keep_card: bool = False
    """The buyer asked to keep the card for the order's customer once the payment succeeds."""
    points: int = 0
    """Of a payment in bonus points: how many (``amount`` is what they are worth)."""
    points_account: str = ""
    """Of a payment in bonus points: the buyer's account at the points program."""
    begun_at: datetime | None = None
    """Of a payment: when its first exchange was opened; unset while the buyer has only
    chosen its way to pay (``Order.chosen_payment``)."""
    acquirer: str = ""
    """Of a card payment: the acquirer it was routed to when it began (``domain/acquirers``)."""
    rate: Decimal | None = None
    """The exchange rate from the order's currency to ``amount``'s, when they differ."""
    cancel_reason: CancelReason | None = None
    external_refund_id: str = ""
    status: OperationStatus = OperationStatus.IN_PROCESS
    response_code: ResponseCode | None = None
    approval_code: str = ""
    finished_at: datetime | None = None
    id: int | None = None
    events: list[StateChanged] = field(default_factory=list, repr=False, compare=False)

    def finish(
        self,
        status: OperationStatus,
        response_code: ResponseCode,
        at: datetime,
        approval_code: str = "",
    ) -> None:
        self.events.append(
            transition(OPERATION_TRANSITIONS, "operation", self.id, self.status, status, at)
        )
        self.status = status
        self.response_code = response_code
        self.approval_code = approval_code
        self.finished_at = at


_RRN_IDS = 10**8
"""An RRN keeps the transaction's id modulo this, after the year's last digit and the day."""


@dataclass
class Transaction:
    """One exchange with the processing center (or with the issuer's 3-D Secure server, or
    the wallet provider).

    An exchange with the processing center goes under a terminal (ISO 8583 field 41): an
    authorization under the terminal of the node that sends it, whatever follows from it
    (its reversals, its debits and credits) under the authorization's, for the processing
    center keeps its holds by terminal and RRN. Its STAN (field 11) is taken from the
    terminal's count of the day it is first transmitted on, in the database transaction that
    records that transmission, so STANs are unique per terminal per day; repeats keep it.
    The RRN (field 37) follows from the transaction's id and the time it was first
    transmitted, so it is unique among the messages of one IPS database.
    """

    order_id: int
    operation_id: int
    kind: TransactionKind
    amount: Money
    created_at: datetime
    status: TransactionStatus = TransactionStatus.CREATED
    transmitted_at: datetime | None = None
    original_id: int | None = None
    batch_id: int | None = None
    reference: str = ""
    """The other party's id of this exchange (the ACS's, the wallet provider's)."""
    response: str = ""
    approval_code: str = ""
    attempts: int = 0
    updated_at: datetime | None = None
    terminal_id: str = ""
    """Empty until the unit of work records it: the authorization's, for what follows from
    one; always empty for exchanges with other parties than the processing center."""
    stan_taken: int | None = None
    """The STAN, once the unit of work took it (see ``needs_stan``)."""
    points: int | None = None
    """Of an exchange with the points program: the points it moved, as the program answered
    (an accrual's, and what its reversal took back)."""
    acquirer: str = ""
    """Of an exchange with a processing center: its acquirer's (the payment's for an
    authorization, the authorization's for what follows from one)."""
    id: int | None = None
    events: list[StateChanged] = field(default_factory=list, repr=False, compare=False)

    @property
    def stan(self) -> int:
        assert self.stan_taken is not None, "the STAN is taken when the transmission is stored"
        return self.stan_taken

    @property
    def needs_stan(self) -> bool:
        """Transmitted under a terminal, and its STAN not yet taken."""
        return (
            bool(self.terminal_id) and self.transmitted_at is not None and self.stan_taken is None
        )

    @property
    def stan_day(self) -> date | None:
        """The day (UTC) whose count its STAN was taken from: that of its first transmission."""
        return self.transmitted_at.astimezone(UTC).date() if self.transmitted_at else None

    @property
    def rrn(self) -> str:
        assert self.id is not None and self.transmitted_at is not None
        return f"{self.transmitted_at:%y%j}"[1:] + f"{self.id % _RRN_IDS:08d}"

    @property
    def shows_rrn(self) -> bool:
        """Sent to a processing center under a terminal: it has an RRN."""
        return bool(self.terminal_id) and self.id is not None and self.transmitted_at is not None

    def change_status(self, new: TransactionStatus, at: datetime) -> None:
        self.events.append(
            transition(TRANSACTION_TRANSITIONS, "transaction", self.id, self.status, new, at)
        )
        self.status = new
        self.updated_at = at

    def mark_sent(self, at: datetime) -> None:
        """Records one sending. A repeat keeps the first transmission time, and so its STAN
        and RRN; that the previous sending went unanswered makes the transaction ``unknown``."""
        if self.status is TransactionStatus.CREATED:
            self.transmitted_at = at
            self.change_status(TransactionStatus.SENT, at)
        else:
            self.mark_unanswered(at)
        self.attempts += 1

    def mark_unanswered(self, at: datetime) -> None:
        if self.status is not TransactionStatus.UNKNOWN:
            self.change_status(TransactionStatus.UNKNOWN, at)
        self.updated_at = at

    @property
    def awaits_answer(self) -> bool:
        """Sent, and no answer recorded yet."""
        return self.status in (TransactionStatus.SENT, TransactionStatus.UNKNOWN)

    @property
    def may_have_moved_money(self) -> bool:
        """Awaiting its answer from a party that may have moved money on it: an authorization
        (the processing center may hold the money: it is reversed, never dropped) or a wallet
        payment the provider named (the buyer may pay it there: the provider is asked). A
        3-D Secure check moves none, nor a wallet payment the provider never named, for the
        buyer was never sent to it."""
        if not self.awaits_answer:
            return False
        if self.kind is TransactionKind.WALLET_PAYMENT:
            return bool(self.reference)
        return self.kind is not TransactionKind.AUTHENTICATION


def ids_of_rrn(rrn: str, highest_id: int) -> list[int]:
    """The ids, up to ``highest_id``, of the transactions an RRN may be of (it keeps an id
    modulo 10^8, after the day it was first sent on); none when it cannot be one of IPS's.
    Which of them it is, ``Transaction.rrn`` tells."""
    if not (len(rrn) == 12 and is_digits(rrn) and 1 <= int(rrn[1:4]) <= 366):
        return []
    return list(range(int(rrn[4:]) or _RRN_IDS, highest_id + 1, _RRN_IDS))


def return_method(kinds: Collection[TransactionKind]) -> str | None:
    """How a cancel gave the money back, by the kinds of its transactions: ``reversal``
    (before settlement), ``refund`` (after), ``both``, or None."""
    reversal = TransactionKind.REVERSAL in kinds
    refund = bool(set(kinds) & {TransactionKind.REFUND, TransactionKind.WALLET_REFUND})
    return {(True, True): "both", (True, False): "reversal", (False, True): "refund"}.get(
        (reversal, refund)
    )


def _in_process_payment(operation: Operation) -> bool:
    return (
        operation.kind is OperationKind.PAYMENT and operation.status is OperationStatus.IN_PROCESS
    )


def _waiting_exchanges(payment: Operation, exchanges: Iterable[Transaction]) -> list[Transaction]:
    """The exchanges of ``payment`` still awaiting an answer, checked before anything
    changes: ``Refused`` when one may have moved money."""
    if payment.kind is not OperationKind.PAYMENT:
        raise Refused(f"operation {payment.number} is not a payment")
    waiting = [t for t in exchanges if t.operation_id == payment.id and t.awaits_answer]
    if any(t.may_have_moved_money for t in waiting):
        raise Refused("money may have moved on the payment: its answer is awaited")
    return waiting


def _declined(exchanges: list[Transaction], at: datetime) -> list[Transaction]:
    for transaction in exchanges:
        transaction.change_status(TransactionStatus.DECLINED, at)
    return exchanges
