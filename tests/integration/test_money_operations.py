"""Confirmation, cancellation, settlement, expiry and conversion, on real storage with the
fake processing center (the real one is exercised in test_settlement_real.py)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from sqlalchemy import select

from ips.domain.acquirers import Rules
from ips.domain.errors import LimitExceeded, NotFound, Refused, WrongValue
from ips.domain.money import currency
from ips.domain.orders import CancelReason, Order
from ips.domain.responses import ResponseCode
from ips.domain.settlement import BatchStatus
from ips.domain.states import OrderState
from ips.services import janitor
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, Credentials, SignedIn, add_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.rates import SetRate, set_rate
from ips.services.settlement import settle
from ips.storage.tables import transactions
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_payment_service import card

SHOP = SignedIn("111111")
pytestmark = pytest.mark.usefixtures("merchant")


async def paid_order(gateway: Gateway, amount: str = "100.00", *, delay: bool = False) -> Order:
    order = await create_order(
        CreateOrder("111111", f"N-{amount}-{delay}", amount, "RUB", delay=delay), gateway
    )
    result = (await pay_by_card(PayByCard(order.billnumber, card()), gateway)).order
    assert result.state is (OrderState.DELAYED if delay else OrderState.APPROVED)
    return result


async def state_of(database: Database, order: Order) -> OrderState:
    async with database(readonly=True) as uow:
        fresh = await uow.orders.get(order.billnumber)
    assert fresh is not None
    return fresh.state


async def ledger(database: Database, order: Order) -> Sequence[tuple[str, str, int]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            select(transactions.c.kind, transactions.c.status, transactions.c.amount_minor)
            .where(transactions.c.order_id == order.id)
            .order_by(transactions.c.id)
        )
        return [tuple(row) for row in rows]


async def test_the_double_stage_life_of_an_order(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    """The "done when" of issue 3, step by step."""
    order = await paid_order(gateway, delay=True)
    rrn = fake_processing.authorizations[0].id.rrn
    bill = order.billnumber

    first = await confirm(Confirm(bill, "40.00", "RUB"), SHOP, gateway)
    assert first.order.state is OrderState.PARTIAL_DELAYED
    assert first.operation.kind.value == "200" and first.operation.amount.minor == 4000
    second = await confirm(Confirm(bill, "60.00", "RUB"), SHOP, gateway)
    assert second.order.state is OrderState.APPROVED
    with pytest.raises(Refused, match="nothing is held"):
        await confirm(Confirm(bill), SHOP, gateway)  # a repeat changes nothing
    assert await state_of(database, order) is OrderState.APPROVED

    partly = await cancel(Cancel(bill, "30.00", "RUB"), SHOP, gateway)
    assert partly.order.state is OrderState.PARTIAL_CANCELED
    assert [r.amount.minor for r in fake_processing.reversals] == [3000]  # a reversal
    assert fake_processing.reversals[0].original.rrn == rrn

    [report] = await settle(gateway)
    assert report.batch.status is BatchStatus.ACCEPTED
    assert (report.batch.debits, report.batch.debit_total) == (2, 7000)  # 40 + (60 - 30)
    assert sorted(a.amount.minor for a in fake_processing.posted) == [3000, 4000]

    rest = await cancel(Cancel(bill), SHOP, gateway)
    assert rest.order.state is OrderState.CANCELED
    assert rest.operation.amount.minor == 7000
    assert len(fake_processing.reversals) == 1  # the rest was presented: a refund, not a reversal
    with pytest.raises(Refused, match="nothing is left"):
        await cancel(Cancel(bill, "1.00", "RUB"), SHOP, gateway)

    [refunds] = await settle(gateway)
    assert (refunds.batch.credits, refunds.batch.credit_total, refunds.batch.debits) == (1, 7000, 0)
    assert [a.credit for a in fake_processing.posted].count(True) == 1


async def test_over_confirmation_and_over_cancellation_are_refused(
    gateway: Gateway, database: Database
) -> None:
    order = await paid_order(gateway, delay=True)
    with pytest.raises(LimitExceeded, match=r"at most 100\.00 RUB"):
        await confirm(Confirm(order.billnumber, "100.01", "RUB"), SHOP, gateway)
    await confirm(Confirm(order.billnumber, "10.00", "RUB"), SHOP, gateway)
    with pytest.raises(LimitExceeded, match=r"at most 100\.00 RUB can be cancelled"):
        await cancel(Cancel(order.billnumber, "100.01", "RUB"), SHOP, gateway)
    assert await state_of(database, order) is OrderState.PARTIAL_DELAYED


async def test_auto_deposit_releases_the_unconfirmed_rest(
    gateway: Gateway, fake_processing: FakeProcessingCenter
) -> None:
    order = await paid_order(gateway, delay=True)
    result = await confirm(
        Confirm(order.billnumber, "25.00", "RUB", auto_deposit=True), SHOP, gateway
    )
    assert result.order.state is OrderState.APPROVED
    assert [r.amount.minor for r in fake_processing.reversals] == [7500]
    with pytest.raises(Refused):
        await confirm(Confirm(order.billnumber, "1.00", "RUB"), SHOP, gateway)


async def test_cancelling_a_hold_releases_it_and_it_cannot_be_confirmed(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    order = await paid_order(gateway, delay=True)
    result = await cancel(Cancel(order.billnumber), SHOP, gateway)
    assert result.order.state is OrderState.CANCELED
    assert fake_processing.holds == {}
    with pytest.raises(Refused):
        await confirm(Confirm(order.billnumber), SHOP, gateway)
    assert await settle(gateway) == []  # nothing was charged
    assert await ledger(database, order) == [
        ("authorization", "approved", 10000),
        ("reversal", "approved", 10000),
    ]


async def test_settled_single_stage_payment_is_refunded(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    order = await paid_order(gateway)
    await settle(gateway)
    partly = await cancel(Cancel(order.billnumber, "40.00", "RUB"), SHOP, gateway)
    assert partly.order.state is OrderState.PARTIAL_CANCELED
    await cancel(Cancel(order.billnumber), SHOP, gateway)
    assert fake_processing.reversals == []
    [report] = await settle(gateway)
    assert (report.batch.credits, report.batch.credit_total) == (2, 10000)
    assert await state_of(database, order) is OrderState.CANCELED


async def test_cancel_before_settlement_shrinks_what_is_presented(
    gateway: Gateway, database: Database
) -> None:
    order = await paid_order(gateway)
    await cancel(Cancel(order.billnumber, "0.01", "RUB"), SHOP, gateway)
    assert await ledger(database, order) == [
        ("authorization", "approved", 10000),
        ("financial", "reversed", 10000),
        ("financial", "created", 9999),
        ("reversal", "approved", 1),
    ]
    [report] = await settle(gateway)
    assert (report.batch.debits, report.batch.debit_total) == (1, 9999)


async def test_externalrefundid_makes_a_cancel_idempotent(
    gateway: Gateway, fake_processing: FakeProcessingCenter
) -> None:
    order = await paid_order(gateway)
    request = Cancel(order.billnumber, "10.00", "RUB", external_id="refund-0001")
    first = await cancel(request, SHOP, gateway)
    again = await cancel(request, SHOP, gateway)
    assert again.operation.id == first.operation.id
    assert again.order.state is OrderState.PARTIAL_CANCELED
    assert len(fake_processing.reversals) == 1
    with pytest.raises(Exception, match="Externalrefundid"):
        await cancel(Cancel(order.billnumber, external_id="short"), SHOP, gateway)


async def test_requests_name_the_payment_currency_and_existing_operations(gateway: Gateway) -> None:
    order = await paid_order(gateway)
    with pytest.raises(WrongValue):
        await cancel(Cancel(order.billnumber, "1.00", "USD"), SHOP, gateway)
    with pytest.raises(Exception, match="Amount goes with Currency"):
        await cancel(Cancel(order.billnumber, currency="RUB"), SHOP, gateway)
    await cancel(Cancel(f"{order.billnumber}.1", "1.00", "RUB"), SHOP, gateway)
    with pytest.raises(NotFound):
        await cancel(Cancel(f"{order.billnumber}.9", "1.00", "RUB"), SHOP, gateway)


async def test_another_merchants_order_is_not_found(gateway: Gateway) -> None:
    order = await paid_order(gateway)
    await add_merchant(
        AddMerchant("222222", "Other", "other", "other-pass", "s"), gateway.uow_factory, actor=SETUP
    )
    with pytest.raises(NotFound):
        await cancel(Cancel(order.billnumber), SignedIn("222222"), gateway)
    with pytest.raises(NotFound):
        await confirm(
            Confirm(order.billnumber), Credentials("222222", "other", "other-pass"), gateway
        )


async def test_operations_on_unpaid_orders_are_refused(gateway: Gateway) -> None:
    order = await create_order(CreateOrder("111111", "U-1", "5.00"), gateway)
    with pytest.raises(Refused, match="not paid"):
        await cancel(Cancel(order.billnumber), SHOP, gateway)


async def test_double_stage_needs_the_merchant_and_the_processing_center(
    gateway: Gateway,
) -> None:
    await add_merchant(
        AddMerchant("333333", "One", "one", "one-password", "s"), gateway.uow_factory, actor=SETUP
    )
    with pytest.raises(Refused, match="not enabled for this shop"):
        await create_order(CreateOrder("333333", "D-1", "5.00", delay=True), gateway)
    no_double = Gateway(
        gateway.uow_factory, gateway.processing, gateway.keyring, gateway.clock,
        rules=Rules(double_stage=False),
    )  # fmt: skip
    with pytest.raises(Refused, match="processing center does not take"):
        await create_order(CreateOrder("111111", "D-2", "5.00", delay=True), no_double)


async def test_unpaid_orders_time_out_and_unconfirmed_holds_are_released(
    gateway: Gateway,
    database: Database,
    clock: ManualClock,
    fake_processing: FakeProcessingCenter,
) -> None:
    unpaid = await create_order(CreateOrder("111111", "T-1", "5.00"), gateway)
    held = await paid_order(gateway, delay=True)
    partly = await paid_order(gateway, "50.00", delay=True)
    await confirm(Confirm(partly.billnumber, "20.00", "RUB"), SHOP, gateway)

    clock.advance(hours=23)
    assert await janitor.expire_orders(gateway) == 0
    clock.advance(hours=2)
    assert await janitor.expire_orders(gateway) == 1
    assert await state_of(database, unpaid) is OrderState.TIMEOUT

    assert await janitor.release_expired_holds(gateway) == 0
    clock.advance(days=7)
    assert await janitor.release_expired_holds(gateway) == 2
    assert await state_of(database, held) is OrderState.CANCELED
    assert await state_of(database, partly) is OrderState.PARTIAL_CANCELED
    assert sorted(r.amount.minor for r in fake_processing.reversals) == [3000, 10000]
    assert await janitor.release_expired_holds(gateway) == 0


async def test_interrupted_batch_is_sent_again_and_posted_once(
    gateway: Gateway, fake_processing: FakeProcessingCenter
) -> None:
    await paid_order(gateway)
    fake_processing.silent_closes = 1
    [interrupted] = await settle(gateway)
    assert interrupted.batch.status is BatchStatus.CLOSING
    assert fake_processing.posted == []
    [again] = await settle(gateway)
    assert again.batch.id == interrupted.batch.id
    assert again.batch.status is BatchStatus.ACCEPTED
    assert len(fake_processing.posted) == 1
    assert all(a.repeat for a in fake_processing.staged[again.batch.id or 0].values())


async def test_order_in_a_currency_the_processing_center_does_not_take_is_converted(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    rub_only = Gateway(
        gateway.uow_factory, gateway.processing, gateway.keyring, gateway.clock,
        rules=Rules(currencies=(currency("RUB"),)),
    )  # fmt: skip
    with pytest.raises(Refused, match="no rate"):
        await create_order(CreateOrder("111111", "C-1", "10.00", "USD"), rub_only)
    await set_rate(SetRate("USD", "RUB", "92.5"), gateway.uow_factory, gateway.clock)
    await set_rate(SetRate("USD", "RUB", "92.123456"), gateway.uow_factory, gateway.clock)
    order = await create_order(CreateOrder("111111", "C-1", "10.01", "USD"), rub_only)
    paid = (await pay_by_card(PayByCard(order.billnumber, card()), rub_only)).order
    assert paid.state is OrderState.APPROVED
    [request] = fake_processing.authorizations
    assert request.amount.currency.code == "RUB"
    assert request.amount.minor == 92216  # 1001 × 92.123456 = 92215.579… → 92216 (922.16)
    async with database(readonly=True) as uow:
        assert order.id is not None
        [payment] = await uow.operations.of_order(order.id)
    assert payment.rate == Decimal("92.123456")
    result = await cancel(Cancel(order.billnumber, "2.16", "RUB"), SHOP, rub_only)
    assert result.order.paid_books.currency.code == "RUB"


async def test_reasons_are_recorded(gateway: Gateway) -> None:
    order = await paid_order(gateway)
    result = await cancel(Cancel(order.billnumber, reason=CancelReason.FRAUD), SHOP, gateway)
    assert result.operation.cancel_reason is CancelReason.FRAUD
    assert result.operation.response_code is ResponseCode.SUCCESS


async def test_hold_period_counts_from_the_payment(gateway: Gateway, clock: ManualClock) -> None:
    clock.advance(hours=-20)
    order = await create_order(CreateOrder("111111", "H-1", "5.00", delay=True), gateway)
    clock.advance(hours=20)
    await pay_by_card(PayByCard(order.billnumber, card()), gateway)
    clock.advance(days=6, hours=23)
    assert await janitor.release_expired_holds(gateway) == 0
    clock.advance(hours=2)
    assert await janitor.release_expired_holds(gateway) == 1


async def test_the_schedule_settles_once_a_day_after_the_cutoff(
    gateway: Gateway, clock: ManualClock, fake_processing: FakeProcessingCenter
) -> None:
    from datetime import UTC, datetime, time

    from ips.services.settlement import settle_if_due

    cutoff = time(23, 0)
    clock.now = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    await paid_order(gateway, "1.00")
    assert await settle_if_due(gateway, cutoff) == []
    clock.advance(minutes=90)
    [first] = await settle_if_due(gateway, cutoff)
    assert first.batch.debit_total == 100
    await paid_order(gateway, "2.00")
    clock.advance(minutes=10)
    assert await settle_if_due(gateway, cutoff) == []  # today's batch is closed
    clock.advance(hours=23, minutes=30)
    [second] = await settle_if_due(gateway, cutoff)
    assert second.batch.debit_total == 200
    assert len(fake_processing.closes) == 2
