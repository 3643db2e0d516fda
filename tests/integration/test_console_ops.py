"""The operator console's services on real storage: settlement batches by day with their
totals, a batch out of balance sent again, the attention list, a notification given up sent
again, the differences reconciliation keeps, and an order of any merchant found by what an
operator is told of it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time

import pytest

from ips.callbacks import HttpCallbackSender
from ips.domain.audit import Actor, ActorKind
from ips.domain.errors import NotFound, Refused
from ips.domain.money import Money, currency
from ips.domain.notifications import NotificationStatus
from ips.domain.orders import Order, TransactionKind
from ips.domain.reconciliation import Figures
from ips.domain.settlement import BatchStatus
from ips.domain.states import OrderState, TransactionStatus
from ips.domain.webhooks import DeliveryStatus
from ips.services import attention, audit, batches, notifications, order_search, settlement
from ips.services.batches import BatchFilter
from ips.services.cancellations import Cancel, cancel
from ips.services.gateway import Gateway
from ips.services.merchants import SignedIn
from ips.services.notifications import deliver_due
from ips.services.order_details import order_record
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.reconciliation import kept_differences, reconcile_and_keep
from ips.services.webhooks import add_endpoint, send_again_as_operator
from ips.services.webhooks import deliver_due as deliver_webhooks
from ips.storage.unit_of_work import Database
from tests.fakes import SILENT, FakeProcessingCenter, ManualClock
from tests.integration.test_notifications import SHOP_ID, delivery, history, notified_shop
from tests.integration.test_notifications import paid as notified_payment
from tests.integration.test_payment_service import card
from tests.shop import Shop

pytestmark = pytest.mark.usefixtures("merchant")

OLGA = Actor(ActorKind.OPERATOR, "olga", "192.0.2.10")
CUTOFF = time(23, 0)


async def paid(
    gateway: Gateway, ordernumber: str, amount: str = "100.00", *, delay: bool = False
) -> Order:
    order = await create_order(
        CreateOrder("111111", ordernumber, amount, "RUB", delay=delay), gateway
    )
    return (await pay_by_card(PayByCard(order.billnumber, card()), gateway)).order


async def test_the_batches_of_a_day_are_listed_with_their_totals_summed(
    gateway: Gateway, clock: ManualClock
) -> None:
    clock.now = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    first = await paid(gateway, "B-1", "1.00")
    await paid(gateway, "B-2", "2.50")
    clock.advance(hours=1, minutes=30)  # 23:30: the period of 30 November is due
    [scheduled] = await settlement.settle_if_due(gateway, CUTOFF)
    clock.advance(minutes=20)  # 23:50, by hand: a refund of the first and a new payment
    await cancel(Cancel(first.billnumber, "0.40", "RUB"), SignedIn("111111"), gateway)
    await paid(gateway, "B-3", "7.00")
    [by_hand] = await settlement.settle(gateway)
    clock.advance(minutes=20)  # 1 December, 00:10: another by hand
    await paid(gateway, "B-4", "3.00")
    [today] = await settlement.settle(gateway)

    yesterday = await batches.batches(BatchFilter(day=date(2026, 11, 30)), gateway.uow_factory)
    assert [r.batch.id for r in yesterday.rows] == [by_hand.batch.id, scheduled.batch.id]
    assert [r.day for r in yesterday.rows] == [date(2026, 11, 30)] * 2
    assert scheduled.batch.period == date(2026, 11, 30) and by_hand.batch.period is None
    rub = currency("RUB")
    [total] = yesterday.totals
    assert (total.acquirer, total.currency, total.batches, total.out_of_balance) == (
        "default", rub, 2, 0,
    )  # fmt: skip
    assert (total.debits, total.debit_total) == (3, Money(1050, rub))
    assert (total.credits, total.credit_total) == (1, Money(40, rub))

    december = await batches.batches(BatchFilter(day=date(2026, 12, 1)), gateway.uow_factory)
    assert [r.batch.id for r in december.rows] == [today.batch.id]
    assert december.totals[0].debit_total == Money(300, rub)
    accepted = BatchFilter(day=date(2026, 11, 30), status=BatchStatus.ACCEPTED, acquirer="other")
    assert (await batches.batches(accepted, gateway.uow_factory)).rows == []

    details = await batches.batch_details(by_hand.batch.id or 0, gateway.uow_factory)
    assert sorted((m.credit, m.transaction.amount.minor) for m in details.members) == [
        (False, 700), (True, 40),
    ]  # fmt: skip
    assert {m.merchant_id for m in details.members} == {"111111"}
    with pytest.raises(NotFound):
        await batches.batch_details(999_999, gateway.uow_factory)


async def test_a_batch_out_of_balance_is_sent_again_by_the_schedule_once_an_operator_asks(
    gateway: Gateway, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> None:
    await paid(gateway, "O-1")
    fake_processing.unbalanced_closes = 2  # the close, and its resend
    [report] = await settlement.settle(gateway)
    batch_id = report.batch.id
    assert batch_id is not None and report.batch.status is BatchStatus.OUT_OF_BALANCE
    out = await batches.batches(BatchFilter(status=BatchStatus.OUT_OF_BALANCE), gateway.uow_factory)
    assert [r.batch.id for r in out.rows] == [batch_id] and out.totals[0].out_of_balance == 1
    assert await settlement.resend_unfinished(gateway) == []  # left for an operator
    assert fake_processing.posted == []

    again = await settlement.send_again(batch_id, OLGA, gateway)
    assert again.status is BatchStatus.CLOSING
    [entry] = await audit.trail(gateway.uow_factory, action="batch.send_again")
    assert (entry.actor, entry.subject.key) == (OLGA, str(batch_id))
    assert (entry.before, entry.after) == ({"status": "out_of_balance"}, {"status": "closing"})

    clock.advance(minutes=1)
    [sent] = await settlement.settle_if_due(gateway, CUTOFF)  # the workers' next look
    assert (sent.batch.id, sent.batch.status) == (batch_id, BatchStatus.ACCEPTED)
    assert len(fake_processing.posted) == 1
    assert all(a.repeat for a in fake_processing.staged[batch_id].values())
    with pytest.raises(Refused, match="accepted"):
        await settlement.send_again(batch_id, OLGA, gateway)
    with pytest.raises(NotFound):
        await settlement.send_again(batch_id + 1, OLGA, gateway)
    assert len(await audit.trail(gateway.uow_factory, action="batch.send_again")) == 1


async def test_a_notification_given_up_is_listed_and_sent_again(
    gateway: Gateway, database: Database, clock: ManualClock, sender: HttpCallbackSender
) -> None:
    shop = Shop()  # down
    await notified_shop(gateway, shop)
    order = await notified_payment(gateway)
    shipment = delivery(gateway, sender, shop)
    for _ in range(8):
        assert await deliver_due(shipment) == 1
        clock.advance(hours=2)
    assert (await history(database, order))[0][0] == "gave_up"
    [listed] = (await attention.attention(gateway)).notifications
    notification_id = listed.notification.id
    assert notification_id is not None
    assert (listed.order.billnumber, listed.notification.attempts) == (order.billnumber, 8)

    sent = await notifications.send_again(notification_id, OLGA, gateway.uow_factory, gateway.clock)
    assert sent.status is NotificationStatus.PENDING
    assert (await attention.attention(gateway)).notifications == []
    [entry] = await audit.trail(gateway.uow_factory, billnumber=order.billnumber)
    assert (entry.action, entry.actor, entry.subject.merchant_id) == (
        "notification.send_again", OLGA, SHOP_ID,
    )  # fmt: skip
    assert entry.after == {"status": "pending"}
    await shop.open()
    try:
        assert await deliver_due(shipment) == 1
    finally:
        await shop.close()
    assert len(shop.received) == 1
    [(status, outcomes)] = await history(database, order)
    assert (status, len(outcomes)) == ("delivered", 9)
    with pytest.raises(Refused, match="delivered"):
        await notifications.send_again(notification_id, OLGA, gateway.uow_factory, gateway.clock)
    with pytest.raises(NotFound):
        await notifications.send_again(
            notification_id + 1, OLGA, gateway.uow_factory, gateway.clock
        )


async def test_the_attention_list_names_the_work_the_workers_have_not_finished(
    gateway: Gateway,
    fake_processing: FakeProcessingCenter,
    clock: ManualClock,
    sender: HttpCallbackSender,
) -> None:
    unpaid = await create_order(CreateOrder("111111", "U-1", "5.00", "RUB"), gateway)
    held = await paid(gateway, "H-1", delay=True)
    fake_processing.outcomes["4000000000000119"] = SILENT
    fake_processing.reversal_outcomes = [SILENT]
    timed_out = await create_order(CreateOrder("111111", "T-1", "6.00", "RUB"), gateway)
    await pay_by_card(PayByCard(timed_out.billnumber, card("4000000000000119")), gateway)
    fake_processing.gate = asyncio.Event()  # the next authorization waits for its answer
    fake_processing.arrived = asyncio.Event()
    waiting = await create_order(CreateOrder("111111", "W-1", "7.00", "RUB"), gateway)
    paying = asyncio.create_task(pay_by_card(PayByCard(waiting.billnumber, card()), gateway))
    await fake_processing.arrived.wait()
    try:
        assert (await attention.attention(gateway)).empty  # nothing is late yet
        clock.advance(minutes=6)
        late = await attention.attention(gateway)
        assert [(w.order.billnumber, w.transaction.status) for w in late.authorizations] == [
            (waiting.billnumber, TransactionStatus.SENT),
        ]  # fmt: skip
        assert [(w.order.billnumber, w.transaction.kind) for w in late.reversals] == [
            (timed_out.billnumber, TransactionKind.REVERSAL),
        ]  # fmt: skip
        assert late.in_process == [] and late.holds == []
        clock.advance(days=7)
        later = await attention.attention(gateway)
        assert [o.billnumber for o in later.in_process] == [unpaid.billnumber, waiting.billnumber]
        assert [o.billnumber for o in later.holds] == [held.billnumber]
    finally:
        fake_processing.gate.set()
        await paying


async def test_a_webhook_delivery_given_up_is_listed_and_sent_again(
    gateway: Gateway, clock: ManualClock, sender: HttpCallbackSender
) -> None:
    shop = Shop()  # never listening
    ports = frozenset({shop.port})
    await add_endpoint("111111", shop.webhook_url, "payment.succeeded", gateway.uow_factory,
                       gateway.clock, ports)  # fmt: skip
    order = await paid(gateway, "WH-1")
    shipping = notifications.Delivery(gateway.uow_factory, sender, gateway.clock, ports)
    assert await deliver_webhooks(shipping) == 1
    clock.advance(days=3)
    assert await deliver_webhooks(shipping) == 1
    [failed] = (await attention.attention(gateway)).webhooks
    assert (failed.status, failed.billnumber) == (DeliveryStatus.FAILED, order.billnumber)
    assert failed.id is not None and len(failed.history) == 2

    await send_again_as_operator(failed.id, OLGA, gateway.uow_factory, gateway.clock)
    assert (await attention.attention(gateway)).webhooks == []
    [entry] = await audit.trail(gateway.uow_factory, billnumber=order.billnumber)
    assert (entry.action, entry.subject.kind) == ("webhook.send_again", "webhook_delivery")
    with pytest.raises(NotFound):
        await send_again_as_operator(failed.id + 1, OLGA, gateway.uow_factory, gateway.clock)


async def test_reconciliation_differences_are_listed_open_or_resolved(
    gateway: Gateway, database: Database, clock: ManualClock
) -> None:
    order = await paid(gateway, "R-1")
    async with database(readonly=True) as uow:
        authorization, _debit = await uow.transactions.of_order(order.id or 0)
    key = (authorization.terminal_id, authorization.rrn)
    found_at = clock()
    await reconcile_and_keep(gateway.uow_factory, {key: Figures("RUB", 9000)}, "default", clock())
    listed = await kept_differences(gateway.uow_factory, resolved=False)
    assert [(k.difference.rrn, k.difference.what, k.open) for k in listed.differences] == [
        (authorization.rrn, "amount", True),
    ]  # fmt: skip
    assert listed.differences[0].difference.found_at == found_at
    assert listed.acquirers == ["default"]
    assert (await kept_differences(gateway.uow_factory, resolved=True)).differences == []
    assert (
        await kept_differences(gateway.uow_factory, resolved=False, acquirer="x")
    ).differences == []

    clock.advance(hours=1)
    await reconcile_and_keep(gateway.uow_factory, {key: Figures("RUB", 10000)}, "default", clock())
    assert (await kept_differences(gateway.uow_factory, resolved=False)).differences == []
    [resolved] = (await kept_differences(gateway.uow_factory, resolved=True)).differences
    assert resolved.resolved_at == clock() and resolved.difference.found_at == found_at


async def test_an_order_of_any_merchant_is_found_by_billnumber_rrn_approval_or_number(
    gateway: Gateway, database: Database
) -> None:
    order = await paid(gateway, "F-1")
    other = await paid(gateway, "F-2")
    async with database(readonly=True) as uow:
        authorization, _debit = await uow.transactions.of_order(order.id or 0)
    factory = gateway.uow_factory

    async def found(text: str, merchant_id: str = "") -> list[tuple[str, str]]:
        orders = await order_search.find_orders(text, merchant_id, factory)
        return [(f.order.billnumber, f.by) for f in orders]

    assert await found(order.billnumber) == [(order.billnumber, "billnumber")]
    assert await found(f" {authorization.rrn} ") == [(order.billnumber, "RRN")]
    assert await found("A1B2C3") == [
        (other.billnumber, "approval code"), (order.billnumber, "approval code"),
    ]  # fmt: skip
    assert await found("F-1") == []  # an order number needs its merchant
    assert await found("F-1", "111111") == [(order.billnumber, "order number")]
    assert await found("F-1", "222222") == []
    rrn = authorization.rrn
    assert await found(rrn[:4] + f"{int(rrn[4:]) + 7:08d}") == []
    assert await found("") == [] and await found("x" * 500) == []

    record = await order_record(order.billnumber, factory)
    assert record.details.order.state is OrderState.APPROVED
    assert record.merchant_name == "Test Shop"
    assert [t.rrn for t in record.details.transactions if t.shows_rrn] == [rrn]
    assert record.deliveries == [] and record.audit == []
    for missing in ("1", "not a number", other.billnumber + "0"):
        with pytest.raises(NotFound):
            await order_record(missing, factory)
