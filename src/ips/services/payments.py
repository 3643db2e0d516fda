"""Paying an order by card: 3-D Secure when the card takes part in it, then the authorization
at the processing center — each exchange in three atomic phases.

1. *Commit the intent.* Under the order's row lock: check the order may be paid, create the
   payment operation with its first exchange (``begin_payment``: the 3-D Secure check, or
   the authorization when there is none), recorded as sent, commit.
2. *Talk.* Send and wait for the answer, no database transaction open.
3. *Commit the answer.* Under the lock again: the exchange, the operation and the order move
   to their new states — and the next exchange is opened in the same commit (the
   authorization after a check), so a payment under way always has an exchange waiting.

With 3-D Secure the buyer leaves for the issuer's page between the enrollment and the
authorization (``authentication.complete``), and may come back to another node: the CVC waits
in the database meanwhile, sealed, for at most 15 minutes (``cvc``). A crash between the
phases leaves that exchange ``sent``, and the janitor ends the payment by it: it reverses an
authorization, gives up a check (``authentication.give_up``).
When no answer comes to an authorization, the payment is declined at once and the
authorization reversed (``reversals``), so an unanswered authorization never leaves money
held. A second submission while a payment is under way, or after it ended, makes no second
payment: it reports the order as it is.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime

from ips.crypto.keyring import KeyRing
from ips.domain.cards import Card, Pan, Secret
from ips.domain.errors import AlreadyPaid, MissingInput, NotFound, Refused
from ips.domain.kept_cards import kept_card_for
from ips.domain.merchants import BuyerField, Merchant
from ips.domain.money import Money
from ips.domain.orders import (
    PROCESSING_KINDS,
    Buyer,
    CardSummary,
    Operation,
    OperationKind,
    Order,
    PaymentMeans,
    Transaction,
    TransactionKind,
)
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, TransactionStatus
from ips.faults import fault
from ips.logs.context import about_order
from ips.processing.port import Answer, AuthorizationRequest, NoAnswer
from ips.processing.secure import Challenge
from ips.services import cvc
from ips.services.accruals import open_accrual
from ips.services.clock import Clock
from ips.services.gateway import Gateway
from ips.services.kept_cards import keep_if_asked
from ips.services.notifications import enqueue
from ips.services.operations import lock_exchange
from ips.services.points_exchanges import send_points
from ips.services.rates import quote
from ips.services.reversals import PAN_CONTEXT, message_id, open_reversal, send_reversal
from ips.services.routing import acquirer_for, check_hold
from ips.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PayByCard:
    billnumber: str
    card: Card
    client_ip: str = ""
    return_url: str = ""
    """Where the issuer's 3-D Secure page sends the buyer back to."""
    buyer: Buyer | None = None
    """What the buyer typed of the data the merchant requires."""
    recurring: bool = False
    """The merchant charges the card stored with the first order of recurring payments."""
    keep_card: bool = False
    """The buyer asks to keep the card for the order's customer (``kept_cards``)."""
    beside: Operation | None = None
    """The points payment whose points are reserved: the card pays the rest (``points``)."""
    points_account: str = ""
    """The buyer's points account, where the merchant accrues points for a card payment
    (``accruals``)."""


@dataclass(frozen=True)
class PaymentStep:
    """Where a payment stands for the buyer: ``order`` as it is now, and the page of another
    party the buyer must go to first (the issuer's 3-D Secure check, the wallet)."""

    order: Order
    go_to: str = ""


NOT_ENROLLED = "NE"
"""The response recorded on a 3-D Secure check when the card takes no part in 3-D Secure."""


@dataclass(frozen=True)
class Begun:
    """A payment operation created in phase 1, with what the next steps need."""

    order: Order
    merchant: Merchant
    payment: Operation
    first: Transaction
    """Its first exchange, recorded as sent in the same commit, before any network call: the
    3-D Secure check (its reference filled in once the directory answers), the
    authorization, or the wallet payment (``first_exchange``)."""


async def pay_by_card(cmd: PayByCard, gateway: Gateway) -> PaymentStep:
    """Pays the order: 3-D Secure first when the card takes part in it (the buyer is sent to
    the issuer's page), else the authorization at once."""
    card = cmd.card
    summary = CardSummary(card.pan.masked, card.pan.brand, str(card.expiry), card.holder)
    begun = await begin_payment(
        cmd.billnumber,
        PaymentMeans.CARD,
        gateway,
        client_ip=cmd.client_ip,
        buyer=cmd.buyer,
        card=summary,
        sealed_pan=gateway.keyring.seal(card.pan.reveal(), PAN_CONTEXT),
        recurring=cmd.recurring,
        three_d_secure=await gateway.secure.may_take_part(card.pan),
        keep_card=cmd.keep_card,
        beside=cmd.beside,
        points_account=cmd.points_account,
    )
    if isinstance(begun, Order):
        return PaymentStep(begun)
    authorization = begun.first
    if authorization.kind is TransactionKind.AUTHENTICATION:
        checked = await _enroll(begun, card, cmd.return_url, gateway)
        if isinstance(checked, PaymentStep):
            return checked
        authorization = checked
    order = await authorize(
        begun.order,
        begun.payment,
        authorization,
        card,
        gateway,
        recurring=cmd.recurring,
        merchant=begun.merchant,
    )
    return PaymentStep(order)


@dataclass(frozen=True)
class PayWithKeptCard:
    billnumber: str
    card_id: int
    cvc: str
    client_ip: str = ""
    return_url: str = ""
    buyer: Buyer | None = None


async def pay_with_kept_card(cmd: PayWithKeptCard, gateway: Gateway) -> PaymentStep:
    """Pays the order with a card kept for its customer and the CVC the buyer typed — or none,
    where the processing center takes the card on file. A double-stage order is held on it
    only where the processing center holds money on stored cards; else it is refused before
    anything is sent."""
    today = gateway.clock().date()
    async with gateway.uow_factory(readonly=True) as uow:
        order = await uow.orders.get(cmd.billnumber)
        if order is None:
            raise NotFound("no such order", field="billnumber")
        kept = kept_card_for(order, await uow.kept_cards.get(cmd.card_id), today)
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
    rules = acquirer_for(gateway, merchant, order.amount.currency, kept.card.brand).rules
    if order.delay and not rules.stored_card_double_stage:
        raise Refused(
            "money cannot be held on a kept card here: type the card's number", field="kept_card"
        )
    expiry = kept.card.valid_thru
    number = gateway.keyring.open(kept.sealed_pan, PAN_CONTEXT)
    if rules.card_on_file and not cmd.cvc.strip():
        card = Card(Pan(number), expiry, None, kept.card.holder)
    else:
        card = Card.parse(
            number=number,
            month=str(expiry.month),
            year=str(expiry.year),
            cvc=cmd.cvc,
            holder=kept.card.holder,
            today=today,
        )
    paying = PayByCard(cmd.billnumber, card, cmd.client_ip, cmd.return_url, cmd.buyer)
    return await pay_by_card(paying, gateway)


async def _enroll(
    begun: Begun, card: Card, return_url: str, gateway: Gateway
) -> PaymentStep | Transaction:
    """Asks the directory whether the card takes part in 3-D Secure: the buyer is sent to the
    issuer's page if it does; else the authorization, opened as the check closes."""
    order, payment = begun.order, begun.payment
    assert payment.id is not None
    started = time.perf_counter()
    try:
        challenge = await gateway.secure.enroll(
            card.pan, payment.amount, order.merchant_id, return_url
        )
    except NoAnswer:
        gateway.metrics.threeds_request("enroll", time.perf_counter() - started)
        log.warning("no answer to the 3-D Secure enrollment of order %s", order.billnumber)
        return PaymentStep(await fail_payment(payment.id, ResponseCode.SYSTEM_ERROR, gateway))
    gateway.metrics.threeds_request("enroll", time.perf_counter() - started)
    fault("payment.enrollment.sent")
    if challenge is not None:
        return await start_authentication(begun.first, challenge, gateway, card.cvc)
    if requires_3ds(begun.merchant, begun.payment, gateway):
        return PaymentStep(await fail_payment(payment.id, ResponseCode.THREE_DS_REQUIRED, gateway))
    return await _pass_over(begun.first, gateway)


async def begin_payment(
    billnumber: str,
    means: PaymentMeans,
    gateway: Gateway,
    *,
    client_ip: str = "",
    buyer: Buyer | None = None,
    card: CardSummary | None = None,
    sealed_pan: str | None = None,
    recurring: bool = False,
    three_d_secure: bool = False,
    keep_card: bool = False,
    beside: Operation | None = None,
    points_account: str = "",
) -> Order | Begun:
    """Phase 1 of every payment: under the order's lock, checks it may be paid now this way
    and begins the payment operation — the one created at the buyer's choice of the way to
    pay (``choose_means``), else a new one — with its first exchange, sent: in one commit, so a
    process that dies after it leaves an exchange the janitor ends the payment by. Returns
    the order as it is when it may not be paid. ``three_d_secure``: the card may take part
    in it (``ThreeDSecure.may_take_part``). ``beside``: the points payment, in process, whose
    points pay part of the order: this one pays the rest."""
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get(billnumber, lock=True)
        if order is None:
            raise NotFound("no such order", field="billnumber")
        assert order.id is not None
        about_order(order)
        earlier = await uow.operations.of_order(order.id)
        if beside is not None:  # its points may have been released meanwhile
            beside = next((op for op in earlier if op.id == beside.id), None)
            if beside is None or beside.status is not OperationStatus.IN_PROCESS:
                return order
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        now = gateway.clock()
        lifetime = gateway.timings.order_lifetime
        limit = merchant.payment_attempts
        may = order.may_be_paid(earlier, limit, now, lifetime, by_the_shop=recurring, beside=beside)
        if not may:
            return order
        holds = order.holds_ordernumber  # for the points beside this payment
        if not holds and await uow.orders.ordernumber_taken(order.merchant_id, order.ordernumber):
            raise AlreadyPaid(f"order {order.ordernumber} is already paid", field="ordernumber")
        order.buyer = completed_buyer(order.buyer, buyer, merchant)
        acquirer = None
        if means is PaymentMeans.CARD:
            brand = card.brand if card else None
            acquirer = acquirer_for(gateway, merchant, order.amount.currency, brand)
            if order.delay:
                check_hold(acquirer, stored_card=recurring)
        price = await quote(uow, order.amount, merchant, gateway, acquirer)
        if beside is not None:
            price = replace(price, amount=price.amount - beside.amount)
        chosen = order.chosen_payment(earlier)
        order.begin_payment(means, now)
        payment = Operation(
            order_id=order.id,
            number=chosen.number if chosen else len(earlier) + 1,
            kind=OperationKind.PAYMENT,
            amount=price.amount,
            rate=price.rate,
            created_at=chosen.created_at if chosen else now,
            means=means,
            card=card,
            sealed_pan=sealed_pan,
            client_ip=client_ip,
            keep_card=keep_card and bool(order.customer_number),
            points_account=points_account,
            begun_at=now,
            acquirer=acquirer.name if acquirer else "",
            id=chosen.id if chosen else None,
        )
        if chosen:
            await uow.operations.save(payment)
        else:
            await uow.operations.add(payment)
        about_order(order, payment)
        required = requires_3ds(merchant, payment, gateway)
        kind = first_exchange(order, means, three_d_secure, required, recurring=recurring)
        first = await open_exchange(uow, payment, kind, gateway)
        await uow.orders.save(order, payment)
        fault("payment.begin.committing")
        await uow.commit()
    fault("payment.begin.committed")
    log.info(
        "payment %s.%d of %s begun: %s, then %s",
        order.billnumber,
        payment.number,
        payment.amount,
        means.value,
        kind.value,
    )
    return Begun(order, merchant, payment, first)


def requires_3ds(merchant: Merchant, payment: Operation, gateway: Gateway) -> bool:
    """Whether the payment's cards must take part in 3-D Secure: the merchant or the
    payment's acquirer requires it."""
    acquirer = gateway.acquirer(payment.acquirer) if payment.acquirer else None
    return merchant.require_3ds or (acquirer is not None and acquirer.rules.require_3ds)


def first_exchange(
    order: Order,
    means: PaymentMeans,
    three_d_secure: bool,
    required: bool,
    *,
    recurring: bool,
) -> TransactionKind:
    """What a payment begins with: the wallet payment; the card's 3-D Secure check, unless
    the payment is recurring, the shop skipped it, or the card is known to take no part in
    it — no directory to ask, or outside every card range it publishes — and it is not
    ``required`` (its payments then fail the check); else the authorization."""
    if means is PaymentMeans.WALLET:
        return TransactionKind.WALLET_PAYMENT
    if not recurring and not order.disable_3ds and (three_d_secure or required):
        return TransactionKind.AUTHENTICATION
    return TransactionKind.AUTHORIZATION


async def open_exchange(
    uow: UnitOfWork, payment: Operation, kind: TransactionKind, gateway: Gateway
) -> Transaction:
    """Adds an exchange of ``payment``, recorded as sent now, for the caller to send after
    its commit; one with the processing center goes to the payment's acquirer, under this
    node's terminal there (its STAN is taken as the unit of work commits)."""
    assert payment.id is not None
    now = gateway.clock()
    processing = kind in PROCESSING_KINDS
    exchange = Transaction(
        order_id=payment.order_id,
        operation_id=payment.id,
        kind=kind,
        amount=payment.amount,
        created_at=now,
        terminal_id=gateway.terminal_of(payment.acquirer).id if processing else "",
        acquirer=payment.acquirer if processing else "",
    )
    exchange.mark_sent(now)
    await uow.transactions.add(exchange)
    return exchange


def completed_buyer(known: Buyer, typed: Buyer | None, merchant: Merchant) -> Buyer:
    """The buyer's data with what the buyer typed on the page; refuses when something the
    merchant requires is still missing."""
    given = {name: value.strip() for name, value in vars(typed or Buyer()).items() if value}
    buyer = replace(known, **{name: v for name, v in given.items() if not getattr(known, name)})
    missing = {
        BuyerField.EMAIL: not buyer.email,
        BuyerField.NAME: not (buyer.firstname and buyer.lastname),
        BuyerField.PHONE: not buyer.mobile_phone,
    }
    for required in sorted(merchant.required_fields, key=lambda f: f.value):
        if missing[required]:
            raise MissingInput(f"the shop needs the buyer's {required.value}", field=required.value)
    if buyer.email and "@" not in buyer.email:
        raise MissingInput("the e-mail address is not valid", field="email")
    return buyer


async def start_authentication(
    check: Transaction, challenge: Challenge, gateway: Gateway, card_code: Secret | None = None
) -> PaymentStep:
    """Records the ACS's reference on the 3-D Secure check the buyer is sent to (it stays
    ``sent`` until the buyer comes back or the janitor gives up on it), and keeps the CVC
    with it. A check given up meanwhile sends the buyer nowhere."""
    assert check.id is not None
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get_by_id(check.order_id, lock=True)
        current = await uow.transactions.get(check.id)
        assert order is not None and current is not None
        if current.status is not TransactionStatus.SENT:
            return PaymentStep(order)
        current.reference = challenge.transaction
        await uow.transactions.save(current)
        if card_code is not None:
            await cvc.keep(uow, gateway.keyring, current.operation_id, card_code, gateway.clock())
        fault("payment.authentication.committing")
        await uow.commit()
    fault("payment.authentication.committed")
    return PaymentStep(order, challenge.url)


async def _pass_over(check: Transaction, gateway: Gateway) -> PaymentStep | Transaction:
    """The card takes no part in 3-D Secure: its check closes and the authorization opens,
    in one commit. A check given up meanwhile authorizes nothing."""
    async with gateway.uow_factory() as uow:
        order, current, payment = await lock_exchange(uow, check)
        if current.status is not TransactionStatus.SENT:
            return PaymentStep(order)
        current.response = NOT_ENROLLED
        current.change_status(TransactionStatus.DECLINED, gateway.clock())
        await uow.transactions.save(current)
        authorization = await open_exchange(uow, payment, TransactionKind.AUTHORIZATION, gateway)
        fault("payment.not_enrolled.committing")
        await uow.commit()
    fault("payment.not_enrolled.committed")
    return authorization


async def authorize(
    order: Order,
    payment: Operation,
    authorization: Transaction,
    card: Card,
    gateway: Gateway,
    *,
    cavv: str = "",
    recurring: bool = False,
    merchant: Merchant | None = None,
) -> Order:
    """Phases 2 and 3 of a card payment's authorization, opened (``open_exchange``) in the
    commit before. ``merchant``, when the caller has it from phase 1, is not read again to
    notify the shop."""
    assert authorization.id is not None
    request = AuthorizationRequest(
        id=message_id(authorization),
        card=card,
        amount=payment.amount,
        merchant_id=order.merchant_id,
        recurring=recurring,
        cavv=cavv,
        double_stage=order.delay,
    )
    try:
        processing = gateway.processing_of(authorization.acquirer)
        answer: Answer | None = await processing.authorize(request)
    except NoAnswer:
        log.warning("no answer to the authorization of order %s", order.billnumber)
        answer = None
    fault("payment.authorization.sent")
    order, reversal_id, accrual = await _finish(authorization.id, answer, gateway, merchant)
    fault("payment.answer.committed")
    if reversal_id is not None:
        await send_reversal(reversal_id, gateway, attempts=gateway.reversal_attempts)
    if accrual is not None:
        await send_points(accrual, gateway)
    return order


async def fail_payment(payment_id: int, code: ResponseCode, gateway: Gateway) -> Order:
    """Declines a begun payment that never reached an authorization (its 3-D Secure check
    failed, say); the transactions under way are closed as declined."""
    async with gateway.uow_factory() as uow:
        payment = await uow.operations.get(payment_id)
        assert payment is not None
        order = await uow.orders.get_by_id(payment.order_id, lock=True)
        payment = await uow.operations.get(payment_id)
        assert order is not None and payment is not None
        about_order(order, payment)
        if payment.status is not OperationStatus.IN_PROCESS:
            return order
        await give_up_locked(uow, order, payment, code, gateway.clock())
        fault("payment.decline.committing")
        await uow.commit()
    fault("payment.decline.committed")
    return order


async def give_up_locked(
    uow: UnitOfWork, order: Order, payment: Operation, code: ResponseCode, now: datetime
) -> None:
    """Declines a payment under way that moved no money (``Order.give_up_payment``), in the
    caller's unit of work, under the order's lock; the shop is notified."""
    assert order.id is not None
    exchanges = await uow.transactions.of_order(order.id)
    for closed in order.give_up_payment(payment, exchanges, code, now):
        await uow.transactions.save(closed)
    await uow.operations.save(payment)
    await uow.orders.save(order)
    await _notify(uow, order, payment, now)


async def _finish(
    transaction_id: int, answer: Answer | None, gateway: Gateway, merchant: Merchant | None
) -> tuple[Order, int | None, Transaction | None]:
    """Phase 3: records the answer (or its absence). Returns the order, the reversal to send
    when the authorization went unanswered, and the accrual of points to send when it was
    approved and the merchant accrues them (``accruals``)."""
    async with gateway.uow_factory() as uow:
        order = await uow.orders.of_transaction(transaction_id, lock=True)
        authorization = await uow.transactions.get(transaction_id)
        payment = await uow.operations.get(authorization.operation_id) if authorization else None
        assert order is not None and authorization is not None and payment is not None
        about_order(order, payment)
        if authorization.status is not TransactionStatus.SENT:
            if answer is not None:
                log.warning(
                    "order %s: an answer (%s) came after the payment was given up; ignored",
                    order.billnumber,
                    answer.raw_code,
                )
            return order, None, None
        reversal_id = await record_answer(uow, order, payment, authorization, answer, gateway.clock)
        await keep_if_asked(uow, order, payment, gateway.keyring, gateway.clock())
        merchant = merchant or await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        accrual = None
        if payment.status is OperationStatus.SUCCESS and gateway.loyalty is not None:
            accrual = await open_accrual(uow, order, payment, merchant, gateway.clock())
        await _notify(uow, order, payment, gateway.clock(), merchant)
        fault("payment.answer.committing")
        await uow.commit()
    return order, reversal_id, accrual


async def _notify(
    uow: UnitOfWork,
    order: Order,
    payment: Operation,
    now: datetime,
    merchant: Merchant | None = None,
) -> None:
    merchant = merchant or await uow.merchants.get(order.merchant_id)
    assert merchant is not None
    await enqueue(uow, merchant, order, payment, payment, now)


async def record_answer(
    uow: UnitOfWork,
    order: Order,
    payment: Operation,
    authorization: Transaction,
    answer: Answer | None,
    clock: Clock,
) -> int | None:
    """Moves an authorization, its payment and its order by the answer; ``None`` means no
    answer came, and then the payment fails and a reversal is opened (its id returned)."""
    now = clock()
    reversal_id = None
    if answer is None:
        authorization.mark_unanswered(now)
        payment.finish(OperationStatus.TIMEOUT, ResponseCode.SYSTEM_ERROR, now)
        reversal_id = await open_reversal(uow, authorization, payment, payment.amount, now)
    else:
        authorization.response = answer.raw_code
        authorization.approval_code = answer.approval_code
        if answer.approved:
            authorization.change_status(TransactionStatus.APPROVED, now)
            payment.finish(OperationStatus.SUCCESS, answer.code, now, answer.approval_code)
            if not order.delay:
                await present_later(uow, payment, authorization, payment.amount, now)
        else:
            authorization.change_status(TransactionStatus.DECLINED, now)
            payment.finish(OperationStatus.DECLINED, answer.code, now)
    order.end_payment(payment, now)
    await uow.transactions.save(authorization)
    await uow.operations.save(payment)
    await uow.orders.save(order)
    log.info(
        "payment %s.%d: the authorization %s; the payment is %s, the order %s",
        order.billnumber,
        payment.number,
        f"answered {answer.raw_code}" if answer else "went unanswered",
        payment.status.value,
        order.state.value,
    )
    return reversal_id


async def present_later(
    uow: UnitOfWork,
    operation: Operation,
    authorization: Transaction,
    amount: Money,
    now: datetime,
) -> None:
    """Adds the financial transaction (a debit) that the next settlement batch will send for
    ``amount`` charged by ``operation`` against ``authorization``."""
    assert operation.id is not None and authorization.id is not None
    await uow.transactions.add(
        Transaction(
            order_id=operation.order_id,
            operation_id=operation.id,
            kind=TransactionKind.FINANCIAL,
            amount=amount,
            created_at=now,
            original_id=authorization.id,
            terminal_id=authorization.terminal_id,
            acquirer=authorization.acquirer,
        )
    )


def stored_card(payment: Operation, keyring: KeyRing, card_code: Secret | None = None) -> Card:
    """The card a payment was made with, from what IPS keeps of it (the CVC, if any, is the
    caller's: IPS keeps none past the authorization)."""
    assert payment.sealed_pan is not None and payment.card is not None
    pan = Pan(keyring.open(payment.sealed_pan, PAN_CONTEXT))
    return Card(pan, payment.card.valid_thru, card_code, payment.card.holder)
