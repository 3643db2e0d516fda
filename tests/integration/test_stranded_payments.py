"""A payment cut off after its first commit leaves nothing stuck: the janitor and the order's
lifetime end it, the order's number is free again, and no money stays held.

A "crash" here is service-level: the payment's first commit is made and the process goes no
further (``begin_payment`` alone, or a network call that never returns to its caller). Crashes
of real processes (SIGKILL at fault points) are tested elsewhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from demobank.wallet import PaymentStatus
from ips.domain.cards import Pan
from ips.domain.money import Money
from ips.domain.orders import CardSummary, Operation, OperationKind, Order, PaymentMeans
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, OrderState, TransactionStatus
from ips.processing.port import (
    Answer,
    AuthorizationRequest,
    BatchTotals,
    FinancialAdvice,
    ProcessingCenter,
    ReversalRequest,
)
from ips.processing.secure import (
    Authentication,
    AuthenticationStatus,
    Challenge,
    NoThreeDSecure,
    ThreeDSecure,
)
from ips.processing.secure_http import HttpThreeDSecure
from ips.processing.wallet import Wallet, WalletPayment, WalletState
from ips.processing.wallet_http import HttpWallet
from ips.services import authentication, janitor
from ips.services.gateway import Gateway
from ips.services.payments import PayByCard, begin_payment, pay_by_card
from ips.services.reversals import PAN_CONTEXT
from ips.services.wallet_payments import PayByWallet, pay_by_wallet
from ips.storage.tables import kept_cvcs
from ips.storage.unit_of_work import Database
from tests.conftest import RealProcessing
from tests.fakes import FakeProcessingCenter, FakeThreeDSecure, FakeWallet, ManualClock
from tests.integration.test_payment_service import card, new_order, reload
from tests.simulator_browser import new_browser, open_form

STALE = timedelta(minutes=1)

pytestmark = pytest.mark.usefixtures("merchant")


async def test_a_payment_begun_and_never_continued_is_ended(
    gateway: Gateway, database: Database, clock: ManualClock
) -> None:
    """The finding: the payment operation was committed, the process died before its first
    exchange; 30 days later the janitor had acted 0 times, expiry had expired 0 orders, and
    the order was still ``In Process`` holding its number."""
    order = await new_order(gateway)
    paid_with = card()
    await begin_payment(
        order.billnumber,
        PaymentMeans.CARD,
        gateway,
        card=CardSummary(paid_with.pan.masked, paid_with.pan.brand, "12/99", "Ivan Petrov"),
        sealed_pan=gateway.keyring.seal(paid_with.pan.reveal(), PAN_CONTEXT),
    )
    # the process dies here

    clock.advance(days=30)
    acted = await janitor.sweep(gateway, stale_after=STALE)
    expired = await janitor.expire_orders(gateway)

    assert (acted, expired) != (0, 0)
    fresh, [payment] = await reload(database, order)
    assert fresh.state in (OrderState.DECLINED, OrderState.TIMEOUT)
    assert not fresh.holds_ordernumber
    assert payment.status is not OperationStatus.IN_PROCESS
    again = await new_order(gateway)  # its number is free for a new order
    assert again.billnumber != order.billnumber


async def test_a_payment_left_with_no_exchange_expires_with_its_order(
    gateway: Gateway, database: Database, clock: ManualClock
) -> None:
    """A payment operation committed alone, as IPS did before it wrote the first exchange
    with it: nothing for the janitor to follow, so the order's lifetime ends it."""
    order = await new_order(gateway)
    async with database() as uow:
        begun = await uow.orders.get(order.billnumber, lock=True)
        assert begun is not None and begun.id is not None
        begun.begin_payment(PaymentMeans.CARD, clock())
        await uow.operations.add(
            Operation(begun.id, 1, OperationKind.PAYMENT, begun.amount, clock())
        )
        await uow.orders.save(begun)
        await uow.commit()

    clock.advance(hours=23)
    assert await janitor.sweep(gateway, stale_after=STALE) == 0
    assert await janitor.expire_orders(gateway) == 0
    clock.advance(hours=2)
    assert await janitor.expire_orders(gateway) == 1

    fresh, [payment] = await reload(database, order)
    assert fresh.state is OrderState.TIMEOUT and not fresh.holds_ordernumber
    assert payment.status is OperationStatus.TIMEOUT
    await new_order(gateway)


class Dies(BaseException):
    """The process dies here: nothing after this point runs, no ``except`` stops it."""


@dataclasses.dataclass
class DyingProcessing:
    """The processing center over TCP; the process dies as it sends an authorization
    (``after``: once the simulator has acted on it, before its answer is recorded)."""

    real: ProcessingCenter
    after: bool

    async def authorize(self, request: AuthorizationRequest) -> Answer:
        if self.after:
            await self.real.authorize(request)
        raise Dies

    async def reverse(self, request: ReversalRequest) -> Answer:
        return await self.real.reverse(request)

    async def advise(self, advice: FinancialAdvice) -> Answer:
        return await self.real.advise(advice)

    async def close_batch(self, totals: BatchTotals) -> Answer:
        return await self.real.close_batch(totals)


@dataclasses.dataclass
class DyingDirectory:
    """The simulator's ACS over HTTP; the process dies as it asks whether the card is
    enrolled (``after``: once the ACS has made the challenge)."""

    real: ThreeDSecure
    after: bool

    async def may_take_part(self, pan: Pan) -> bool:
        return await self.real.may_take_part(pan)

    async def enroll(
        self, pan: object, amount: Money, merchant_id: str, return_url: str
    ) -> Challenge | None:
        if self.after:
            await self.real.enroll(pan, amount, merchant_id, return_url)  # type: ignore[arg-type]
        raise Dies

    async def result(self, transaction: str) -> Authentication:
        return await self.real.result(transaction)


@dataclasses.dataclass
class DyingWallet:
    """The Demo Wallet over HTTP; the process dies as it creates the payment (``after``:
    once the wallet has it)."""

    real: Wallet
    after: bool

    async def create(
        self, reference: str, amount: Money, merchant_id: str, description: str, return_url: str
    ) -> WalletPayment:
        if self.after:
            await self.real.create(reference, amount, merchant_id, description, return_url)
        raise Dies

    async def status(self, payment_id: str) -> WalletState:
        return await self.real.status(payment_id)

    async def refund(self, payment_id: str, amount: Money, reference: str) -> bool:
        return await self.real.refund(payment_id, amount, reference)

    async def cancel(self, payment_id: str) -> WalletState:
        return await self.real.cancel(payment_id)


@pytest.fixture
async def bank(gateway: Gateway, real_processing: RealProcessing) -> AsyncIterator[Gateway]:
    """The node after its restart: the simulator's host over TCP, its ACS and Demo Wallet
    over HTTP."""
    url = real_processing.simulator.http_url
    acs, wallet = HttpThreeDSecure(url, timeout=5.0), HttpWallet(url, timeout=5.0)
    yield dataclasses.replace(gateway, processing=real_processing.client, secure=acs, wallet=wallet)
    await acs.close()
    await wallet.close()


ENROLLED = "4000000000003220"
BACK = "https://shop.example/back"


async def crash(path: str, bank: Gateway, order: Order) -> None:
    """Pays ``order`` the way ``path`` names, on a node that dies on the way."""
    kind, _, when = path.partition(":")
    after = when == "after"
    assert bank.wallet is not None
    if kind == "authorization":  # a card without 3-D Secure: no directory to ask
        dying = dataclasses.replace(
            bank, secure=NoThreeDSecure(), processing=DyingProcessing(bank.processing, after)
        )
        await pay_by_card(PayByCard(order.billnumber, card()), dying)
    elif kind == "enrollment":
        dying = dataclasses.replace(bank, secure=DyingDirectory(bank.secure, after))
        await pay_by_card(PayByCard(order.billnumber, card(ENROLLED), return_url=BACK), dying)
    elif kind == "authentication":  # the buyer passed the check; the authorization is sent
        step = await pay_by_card(PayByCard(order.billnumber, card(ENROLLED), return_url=BACK), bank)
        async with new_browser() as at_the_bank:
            challenge = await open_form(at_the_bank, step.go_to)
            passed = await challenge.post(code="1234", action="submit")
        [reference] = parse_qs(urlsplit(passed.headers["location"]).query)["transaction"]
        dying = dataclasses.replace(bank, processing=DyingProcessing(bank.processing, after))
        await authentication.complete(order.billnumber, reference, dying)
    else:
        dying = dataclasses.replace(bank, wallet=DyingWallet(bank.wallet, after))
        await pay_by_wallet(PayByWallet(order.billnumber, BACK), dying)


@pytest.mark.parametrize(
    "path",
    [
        "authorization:before",
        "authorization:after",
        "enrollment:before",
        "enrollment:after",
        "authentication:after",
        "wallet:before",
        "wallet:after",
    ],
)
async def test_a_crash_after_the_first_commit_leaves_nothing_stuck(
    bank: Gateway,
    database: Database,
    clock: ManualClock,
    real_processing: RealProcessing,
    path: str,
) -> None:
    order = await new_order(bank)
    with pytest.raises(Dies):
        await crash(path, bank, order)
    fresh, [payment] = await reload(database, order)
    assert fresh.state is OrderState.IN_PROCESS and fresh.holds_ordernumber
    assert payment.status is OperationStatus.IN_PROCESS

    for _ in range(4):  # the janitor of the restarted node, every few minutes
        clock.advance(minutes=5)
        await janitor.sweep(bank, stale_after=STALE)
    clock.advance(days=1)
    await janitor.sweep(bank, stale_after=STALE)
    await janitor.expire_orders(bank)

    fresh, [payment] = await reload(database, order)
    assert fresh.state in (OrderState.DECLINED, OrderState.TIMEOUT)
    assert not fresh.holds_ordernumber
    assert payment.status is not OperationStatus.IN_PROCESS
    assert payment.response_code is ResponseCode.SYSTEM_ERROR
    async with database(readonly=True) as uow:
        waiting = {TransactionStatus.CREATED, TransactionStatus.SENT, TransactionStatus.UNKNOWN}
        assert not [
            t for t in await uow.transactions.of_order(payment.order_id) if t.status in waiting
        ]
    bank_books = real_processing.simulator.ledger
    assert await bank_books.active_holds() == []
    assert all(p.status is not PaymentStatus.PAID for p in await bank_books.wallet.payments())
    again = await new_order(bank)  # the number is free: a new order is paid with it
    paid = await pay_by_card(
        PayByCard(again.billnumber, card()), dataclasses.replace(bank, secure=NoThreeDSecure())
    )
    assert paid.order.state is OrderState.APPROVED


@dataclasses.dataclass
class SlowDirectory(FakeThreeDSecure):
    """Answers an enrollment only once the test opens ``gate``."""

    gate: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    arrived: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    async def enroll(
        self, pan: Pan, amount: Money, merchant_id: str, return_url: str
    ) -> Challenge | None:
        self.arrived.set()
        await self.gate.wait()
        return await super().enroll(pan, amount, merchant_id, return_url)


@dataclasses.dataclass
class SlowWallet(FakeWallet):
    """Answers a creation only once the test opens ``gate``."""

    gate: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    arrived: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    async def create(
        self, reference: str, amount: Money, merchant_id: str, description: str, return_url: str
    ) -> WalletPayment:
        self.arrived.set()
        await self.gate.wait()
        return await super().create(reference, amount, merchant_id, description, return_url)


async def test_a_check_given_up_while_the_directory_answers_sends_the_buyer_nowhere(
    gateway: Gateway, database: Database, clock: ManualClock
) -> None:
    directory = SlowDirectory()
    node = dataclasses.replace(gateway, secure=directory)
    order = await new_order(node)
    paying = asyncio.create_task(
        pay_by_card(PayByCard(order.billnumber, card(ENROLLED), return_url=BACK), node)
    )
    await directory.arrived.wait()
    clock.advance(minutes=16)
    assert await janitor.sweep(node, stale_after=STALE) == 1  # no database transaction waits
    directory.gate.set()
    step = await paying

    assert step.go_to == "" and step.order.state is OrderState.DECLINED
    fresh, [payment] = await reload(database, order)
    assert fresh.state is OrderState.DECLINED and not fresh.holds_ordernumber
    assert payment.response_code is ResponseCode.SYSTEM_ERROR
    async with database.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(kept_cvcs))).scalar() == 0


async def test_a_wallet_payment_given_up_while_the_wallet_answers_is_not_shown(
    gateway: Gateway, database: Database, clock: ManualClock
) -> None:
    wallet = SlowWallet()
    node = dataclasses.replace(gateway, wallet=wallet)
    order = await new_order(node)
    paying = asyncio.create_task(pay_by_wallet(PayByWallet(order.billnumber, BACK), node))
    await wallet.arrived.wait()
    clock.advance(minutes=2)
    assert await janitor.sweep(node, stale_after=STALE) == 1
    wallet.gate.set()
    step = await paying

    assert step.go_to == "" and step.order.state is OrderState.DECLINED
    fresh, [payment] = await reload(database, order)
    assert fresh.state is OrderState.DECLINED and not fresh.holds_ordernumber
    assert payment.response_code is ResponseCode.SYSTEM_ERROR


async def test_an_authorization_in_flight_is_not_cut_off_by_the_lifetime(
    gateway: Gateway,
    database: Database,
    clock: ManualClock,
    fake_processing: FakeProcessingCenter,
) -> None:
    order = await new_order(gateway)
    fake_processing.gate = asyncio.Event()
    paying = asyncio.create_task(pay_by_card(PayByCard(order.billnumber, card()), gateway))
    await fake_processing.arrived.wait()
    clock.advance(hours=25)
    assert await janitor.expire_orders(gateway) == 0
    fake_processing.gate.set()

    assert (await paying).order.state is OrderState.APPROVED
    fresh, _ = await reload(database, order)
    assert fresh.state is OrderState.APPROVED


async def test_the_lifetime_ends_a_check_the_buyer_never_came_back_from(
    gateway: Gateway,
    database: Database,
    clock: ManualClock,
    fake_processing: FakeProcessingCenter,
) -> None:
    directory = FakeThreeDSecure()
    node = dataclasses.replace(gateway, secure=directory)
    order = await new_order(node)
    step = await pay_by_card(PayByCard(order.billnumber, card(ENROLLED), return_url=BACK), node)
    assert step.go_to
    clock.advance(hours=25)  # no janitor ran meanwhile
    assert await janitor.expire_orders(node) == 1

    fresh, [payment] = await reload(database, order)
    assert fresh.state is OrderState.TIMEOUT and not fresh.holds_ordernumber
    assert payment.status is OperationStatus.TIMEOUT
    directory.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
    back = await authentication.complete(order.billnumber, "acs-1", node)
    assert back.order.state is OrderState.TIMEOUT
    assert fake_processing.authorizations == []
