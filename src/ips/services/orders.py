"""Creating orders from the shops' payment requests, and reading them back."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ips.domain import signed_fields
from ips.domain.errors import (
    AlreadyPaid,
    InvalidAmount,
    InvalidInput,
    MissingInput,
    NotFound,
    Refused,
)
from ips.domain.kept_cards import KeptCard
from ips.domain.merchants import Merchant, parse_merchant_id
from ips.domain.money import Money, currency
from ips.domain.orders import (
    Buyer,
    Language,
    Operation,
    Order,
    PaymentMeans,
    ReturnUrls,
    new_billnumber,
    parse_ordernumber,
)
from ips.domain.points import PointsOffer
from ips.domain.recurring import RecurringTerms
from ips.domain.signed_fields import Terms
from ips.domain.states import OrderState
from ips.domain.text import is_digits
from ips.logs.context import about, about_order
from ips.processing.port import MAX_AMOUNT_MINOR
from ips.services import points
from ips.services.gateway import Gateway
from ips.services.merchants import Credentials, authenticate
from ips.services.rates import Quote, quote
from ips.services.routing import acquirer_for, check_hold
from ips.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_COMMENT = 4000
MAX_BUYER_FIELD = 255
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


@dataclass(frozen=True)
class CreateOrder:
    """A payment request as the shop sent it; amount and currency still as text."""

    merchant_id: str
    ordernumber: str
    amount: str
    currency: str = ""
    delay: bool = False
    language: Language | None = None
    comment: str = ""
    buyer: Buyer = field(default_factory=Buyer)
    return_urls: ReturnUrls = field(default_factory=ReturnUrls)
    checkvalue: str = ""
    signed_fields: Mapping[str, str] = field(default_factory=dict)
    """The fields the checkvalue covers, lower-case names, values exactly as sent."""
    recurring: RecurringRequest | None = None
    hidden_means: frozenset[PaymentMeans] = frozenset()
    """Ways to pay the request hid (``CardPayment=0``, ``YMPayment=0``…)."""
    disable_3ds: bool = False
    customer_number: str = ""
    """Set from the checkvalue's terms alone (``Terms.customer_number``)."""
    max_points: int | None = None
    """Set from the checkvalue's terms alone (``Terms.max_points``)."""
    by_api_key: bool = False
    """Sent with the merchant's API key (the JSON API), which proves all of it: no
    checkvalue is asked for, and its customer number and ``disable_3ds`` stand as sent."""


@dataclass(frozen=True)
class RecurringRequest:
    """The terms of later payments (``RecurringIndicator=1``), still as text."""

    min_amount: str
    max_amount: str
    period: str
    max_date: str


@dataclass(frozen=True)
class OrderView:
    """An order with what a page or an answer shows beside it."""

    order: Order
    merchant: Merchant
    operations: list[Operation] = field(default_factory=list)
    quote: Quote | None = None
    """What the buyer would pay now, while the order is not paid."""
    payable: bool = False
    """The buyer may begin a payment now (``Order.may_be_paid``)."""
    attempts_left: int = 0
    kept_cards: list[KeptCard] = field(default_factory=list)
    """The cards kept for the order's customer that may pay it now."""
    points: PointsOffer | None = None
    """What bonus points may pay of the order now, when it takes them."""
    accrual: int = 0
    """Percent of a card payment the merchant accrues in points (``accruals``); 0: none."""
    card_on_file: bool = False
    """The acquirer takes a kept card without its CVC."""


async def create_order(cmd: CreateOrder, gateway: Gateway) -> Order:
    merchant_id = parse_merchant_id(cmd.merchant_id)
    about(merchant_id=merchant_id)
    ordernumber = parse_ordernumber(cmd.ordernumber)
    if not cmd.amount.strip():
        raise MissingInput("OrderAmount is required", field="amount")
    signed_fields.check_formats(cmd.signed_fields)
    if len(cmd.comment) > MAX_COMMENT:
        raise InvalidInput(f"OrderComment is at most {MAX_COMMENT} characters", field="comment")
    for name, value in dataclasses.asdict(cmd.buyer).items():
        if len(value) > MAX_BUYER_FIELD:
            raise InvalidInput(
                f"{name} is at most {MAX_BUYER_FIELD} characters", field=name.replace("_", "")
            )
    for name, url in (
        ("url_return", cmd.return_urls.default),
        ("url_return_ok", cmd.return_urls.ok),
        ("url_return_no", cmd.return_urls.no),
    ):
        if url and not _URL.fullmatch(url):
            raise InvalidInput(f"{name.upper()} must be an http(s) address", field=name)

    async with gateway.uow_factory() as uow:
        merchant = await uow.merchants.get(merchant_id)
        if merchant is None:
            raise NotFound("no merchant with this Merchant_ID", field="merchant_id")
        if not cmd.by_api_key:
            signed = _signed_terms(cmd, merchant, gateway.clock())
            if signed and not signed.disable_3ds:
                cmd = dataclasses.replace(cmd, disable_3ds=False)
            cmd = dataclasses.replace(
                cmd,
                customer_number=signed.customer_number if signed else "",
                max_points=signed.max_points if signed else None,
            )
        order = await add_order(uow, merchant, cmd, ordernumber, gateway)
        await uow.commit()
    return order


async def add_order(
    uow: UnitOfWork,
    merchant: Merchant,
    cmd: CreateOrder,
    ordernumber: str,
    gateway: Gateway,
    recurring_of: int | None = None,
) -> Order:
    """Adds the order a checked request asks for, in the caller's unit of work."""
    if merchant.disabled:
        raise Refused("this shop takes no new orders", field="merchant")
    _check_return_urls(cmd.return_urls, merchant)
    amount = Money.parse(
        cmd.amount, currency(cmd.currency) if cmd.currency else merchant.default_currency
    )
    if amount.minor > MAX_AMOUNT_MINOR:
        raise InvalidAmount(f"the amount {cmd.amount} is above the largest payment")
    if cmd.delay and not merchant.double_stage:
        raise Refused("double-stage payments are not enabled for this shop", field="delay")
    acquirer = acquirer_for(gateway, merchant, amount.currency)
    if cmd.delay:
        check_hold(acquirer)
    await quote(uow, amount, merchant, gateway, acquirer)
    if await uow.orders.ordernumber_taken(merchant.merchant_id, ordernumber):
        raise AlreadyPaid(f"order {ordernumber} is already paid", field="ordernumber")
    terms = cmd.recurring
    means = merchant.means - cmd.hidden_means
    if cmd.delay or gateway.wallet is None:
        means -= {PaymentMeans.WALLET}  # a wallet pays at once: it cannot hold money
    if cmd.delay or gateway.loyalty is None or recurring_of is not None:
        means -= {PaymentMeans.POINTS}  # points are spent at once, and by the buyer
    if not means - {PaymentMeans.POINTS}:
        raise Refused("no way to pay is left for this order", field="means")
    order = Order(
        billnumber=new_billnumber(),
        merchant_id=merchant.merchant_id,
        ordernumber=ordernumber,
        amount=amount,
        created_at=gateway.clock(),
        delay=cmd.delay,
        language=cmd.language,
        comment=cmd.comment,
        buyer=cmd.buyer,
        return_urls=cmd.return_urls,
        recurring=RecurringTerms.parse(
            terms.min_amount,
            terms.max_amount,
            terms.period,
            terms.max_date,
            amount.currency,
            gateway.clock().date(),
        )
        if terms
        else None,
        recurring_of=recurring_of,
        customer_number=cmd.customer_number,
        max_points=cmd.max_points,
        means=frozenset(means),
        disable_3ds=cmd.disable_3ds and merchant.allow_disable_3ds,
    )
    while not await uow.orders.add(order):
        order.billnumber = new_billnumber()  # the random one was taken: draw again
    about_order(order)
    log.info("order %s of %s: ordernumber %s", order.billnumber, amount, ordernumber)
    return order


def _check_return_urls(urls: ReturnUrls, merchant: Merchant) -> None:
    for name, url in (("url_return", urls.default), ("url_return_ok", urls.ok),
                      ("url_return_no", urls.no)):  # fmt: skip
        if url and not merchant.allows_return_to(url):
            raise Refused(
                f"{name.upper()} leads to a host this shop has not registered", field=name
            )


def _signed_terms(cmd: CreateOrder, merchant: Merchant, now: datetime) -> Terms | None:
    """What the request's checkvalue proves, when it has one (``signed_fields``: a
    ``Disable3DS=1`` that could be read as another field is not proved)."""
    if not cmd.checkvalue:
        if merchant.require_checkvalue:
            raise MissingInput("Checkvalue is required by this shop", field="checkvalue")
        return None
    return signed_fields.verify(
        cmd.signed_fields,
        cmd.checkvalue,
        merchant.secret_words(now),
        merchant.default_currency,
        legacy_concat=merchant.checkvalue_legacy_concat,
    )


async def order_view(billnumber: str, gateway: Gateway) -> OrderView:
    """The order behind a payment page, with its merchant, operations and price."""
    async with gateway.uow_factory(readonly=True) as uow:
        order = await uow.orders.get(billnumber) if is_digits(billnumber) else None
        if order is None:
            raise NotFound("no such order", field="billnumber")
        about_order(order)
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None and order.id is not None
        operations = await uow.operations.of_order(order.id)
        attempts = merchant.payment_attempts
        lifetime = gateway.timings.order_lifetime
        payable = order.may_be_paid(operations, attempts, gateway.clock(), lifetime)
        price, acquirer = None, None
        if payable or order.state is OrderState.IN_PROCESS:
            with contextlib.suppress(Refused):  # no acquirer or rate now: it cannot be paid
                acquirer = acquirer_for(gateway, merchant, order.amount.currency)
                price = await quote(uow, order.amount, merchant, gateway, acquirer)
        left = order.attempts_left(operations, attempts)
        kept = []
        rules = acquirer.rules if acquirer else None
        held_on_kept = rules is not None and (rules.stored_card_double_stage or not order.delay)
        if payable and order.customer_number and held_on_kept:
            cards = await uow.kept_cards.of_customer(order.merchant_id, order.customer_number)
            kept = [c for c in cards if not c.expired(gateway.clock().date())]
    unconverted = payable and price is not None and price.rate is None
    offered = await points.offer(order, merchant, gateway) if unconverted else None
    accrual = merchant.points_accrual if gateway.loyalty is not None else 0
    card_on_file = rules is not None and rules.card_on_file
    return OrderView(
        order, merchant, operations, price, payable, left, kept, offered, accrual, card_on_file
    )


@dataclass(frozen=True)
class PaymentRequested:
    """An order created server-to-server (``payrequest``), and when it expires unpaid."""

    order: Order
    expires_at: datetime


async def request_payment(cmd: CreateOrder, gateway: Gateway) -> PaymentRequested:
    order = await create_order(cmd, gateway)
    return PaymentRequested(order, order.created_at + gateway.timings.order_lifetime)


DEFAULT_WINDOW = timedelta(days=3)


@dataclass(frozen=True)
class Window:
    """The GMT period in which orders were created; an open end is now, an open start
    ``DEFAULT_WINDOW`` before the end."""

    since: datetime | None = None
    until: datetime | None = None

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        until = self.until or now
        since = self.since or until - DEFAULT_WINDOW
        if since > until:
            raise InvalidInput("the period starts after it ends", field="start")
        return since, until


@dataclass(frozen=True)
class OrderStateQuery:
    credentials: Credentials
    ordernumber: str
    window: Window = field(default_factory=Window)


async def order_states(query: OrderStateQuery, gateway: Gateway) -> tuple[Merchant, list[Order]]:
    """The merchant's orders with that ordernumber in the window, oldest first."""
    ordernumber = required_ordernumber(query.ordernumber)
    since, until = query.window.bounds(gateway.clock())
    merchant = await authenticate(query.credentials, gateway)
    async with gateway.uow_factory(readonly=True) as uow:
        return merchant, await orders_in_window(uow, merchant, ordernumber, since, until)


def required_ordernumber(text: str) -> str:
    ordernumber = text.strip()
    if not ordernumber:
        raise MissingInput("OrderNumber is required", field="ordernumber")
    return ordernumber


async def orders_in_window(
    uow: UnitOfWork, merchant: Merchant, ordernumber: str, since: datetime, until: datetime
) -> list[Order]:
    """The merchant's orders with that ordernumber created in [since, until], oldest first;
    ``NotFound`` (the order is the missing object) when there is none."""
    found = await uow.orders.of_ordernumber(merchant.merchant_id, ordernumber, since, until)
    if not found:
        raise NotFound("no order with this OrderNumber in the period", field="order")
    return found
