"""Payment notifications: written with the result, delivered over real HTTP to a shop that
may be down, answer in its own way, or refuse. The shops are on 127.0.0.1, a network the
operator allows here (``test_notification_addresses.py`` tries the addresses refused)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from ips.callbacks import HttpCallbackSender
from ips.domain.checkvalue import answer_checkvalue
from ips.domain.errors import InvalidInput
from ips.domain.notifications import AnswerMode, NotificationStatus, Outcome
from ips.domain.orders import OperationKind, Order
from ips.domain.responses import ResponseCode
from ips.metrics import Metrics
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, SignedIn, add_merchant
from ips.services.notifications import Delivery, deliver_due
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP
from tests.fakes import SILENT, FakeProcessingCenter, ManualClock
from tests.integration.test_payment_service import card
from tests.shop import Shop

SHOP_ID = "444444"
NOTIFICATION_FIELDS = (
    "merchant_id",
    "ordernumber",
    "billnumber",
    "testmode",
    "ordercomment",
    "orderamount",
    "ordercurrency",
    "amount",
    "currency",
    "rate",
    "orderdate",
    "orderstate",
    "firstname",
    "lastname",
    "middlename",
    "email",
    "clientip",
    "ipaddress",
    "meantype_id",
    "meantypename",
    "meansubtype",
    "meannumber",
    "cardholder",
    "cardexpirationdate",
    "issuebank",
    "bankcountry",
    "responsecode",
    "message",
    "customermessage",
    "recommendation",
    "approvalcode",
    "protocoltypename",
    "processingname",
    "operationtype",
    "operationdate",
    "authresult",
    "slipno",
    "packetdate",
    "signature",
    "checkvalue",
)
"""Every field ASSIST-API.md lists for a notification."""


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    shop = Shop()
    await shop.open()
    yield shop
    await shop.close()


def delivery(gateway: Gateway, sender: HttpCallbackSender, shop: Shop) -> Delivery:
    return Delivery(gateway.uow_factory, sender, gateway.clock, frozenset({shop.port}))


async def notified_shop(
    gateway: Gateway,
    shop: Shop,
    kinds: frozenset[OperationKind] = frozenset({OperationKind.PAYMENT}),
    answer: AnswerMode = AnswerMode.PUSHPAYMENTRESULT,
) -> None:
    await add_merchant(
        AddMerchant(
            SHOP_ID, "Notified", "notified", "notified-pw", "salt-4",
            double_stage=True, callback_url=shop.url, notify_kinds=kinds, notify_answer=answer,
        ),
        gateway.uow_factory,
        gateway.clock,
        frozenset({shop.port}), actor=SETUP,
    )  # fmt: skip


async def paid(gateway: Gateway, number: str = "4111111111111111", delay: bool = False) -> Order:
    order = await create_order(
        CreateOrder(SHOP_ID, f"N-{number}", "100.00", "RUB", delay=delay), gateway
    )
    return (await pay_by_card(PayByCard(order.billnumber, card(number)), gateway)).order


async def history(database: Database, order: Order) -> list[tuple[str, list[Outcome]]]:
    async with database(readonly=True) as uow:
        assert order.id is not None
        found = await uow.notifications.of_order(order.id)
    return [(n.status.value, [a.outcome for a in n.history]) for n in found]


async def test_a_payment_is_notified_with_fields_that_verify(
    gateway: Gateway, database: Database, shop: Shop, sender: HttpCallbackSender
) -> None:
    await notified_shop(gateway, shop)
    order = await paid(gateway)
    assert await deliver_due(delivery(gateway, sender, shop)) == 1

    [fields] = shop.received
    assert fields["billnumber"] == order.billnumber and fields["orderstate"] == "Approved"
    assert fields["responsecode"] == "AS000" and fields["operationtype"] == "100"
    assert fields["meannumber"] == "411111****1111"
    assert fields["amount"] == fields["orderamount"] == "100.00"
    assert fields["checkvalue"] == answer_checkvalue(
        "salt-4", SHOP_ID, order.ordernumber, "100.00", "RUB", "Approved"
    )
    assert set(NOTIFICATION_FIELDS) <= set(fields)
    assert await history(database, order) == [("delivered", [Outcome.DELIVERED])]
    assert await deliver_due(delivery(gateway, sender, shop)) == 0


async def test_a_shop_that_was_down_gets_it_once_it_is_back(
    gateway: Gateway, database: Database, clock: ManualClock, sender: HttpCallbackSender
) -> None:
    shop = Shop()  # not listening yet
    await notified_shop(gateway, shop)
    order = await paid(gateway)
    metrics = Metrics()
    shipment = dataclasses.replace(delivery(gateway, sender, shop), metrics=metrics)
    assert await deliver_due(shipment) == 1
    assert await deliver_due(shipment) == 0  # the next attempt is not due yet
    clock.advance(minutes=1)
    assert await deliver_due(shipment) == 1
    assert await history(database, order) == [("pending", [Outcome.NO_ANSWER, Outcome.NO_ANSWER])]
    await shop.open()
    try:
        clock.advance(minutes=4)
        assert await deliver_due(shipment) == 1
    finally:
        await shop.close()
    assert len(shop.received) == 1
    assert (await history(database, order))[0][0] == "delivered"
    tried = {
        outcome: metrics.registry.get_sample_value(
            "ips_deliveries_total", {"outbox": "notifications", "outcome": outcome}
        )
        for outcome in ("no_answer", "delivered")
    }
    assert tried == {"no_answer": 2, "delivered": 1}


async def test_eight_attempts_over_four_hours_then_it_gives_up(
    gateway: Gateway, database: Database, clock: ManualClock, sender: HttpCallbackSender
) -> None:
    shop = Shop()
    await notified_shop(gateway, shop)
    order = await paid(gateway)
    shipment = delivery(gateway, sender, shop)
    tried = 0
    for _ in range(300):
        tried += await deliver_due(shipment)
        clock.advance(minutes=1)
    assert tried == 8
    async with database(readonly=True) as uow:
        assert order.id is not None
        [notification] = await uow.notifications.of_order(order.id)
    assert notification.status is NotificationStatus.GAVE_UP
    times = [attempt.at for attempt in notification.history]
    pauses = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert pauses == sorted(pauses)  # growing
    assert timedelta(hours=4) <= times[-1] - times[0] < timedelta(hours=4, minutes=10)


async def test_an_explicit_refusal_is_not_sent_again(
    gateway: Gateway, database: Database, clock: ManualClock, shop: Shop,
    sender: HttpCallbackSender,
) -> None:  # fmt: skip
    shop.body = '<pushpaymentresult firstcode="13" secondcode="0"/>'
    await notified_shop(gateway, shop)
    order = await paid(gateway)
    metrics = Metrics()
    shipment = dataclasses.replace(delivery(gateway, sender, shop), metrics=metrics)
    assert await deliver_due(shipment) == 1
    clock.advance(hours=5)
    assert await deliver_due(shipment) == 0
    assert await history(database, order) == [("refused", [Outcome.REFUSED])]


@pytest.mark.parametrize(
    ("answer", "body", "status", "outcome"),
    [
        (AnswerMode.PLAIN, "-1", 200, Outcome.DELIVERED),
        (AnswerMode.PUSHPAYMENTRESULT, "-1", 200, Outcome.NO_ANSWER),
        (AnswerMode.PUSHPAYMENTRESULT, "", 200, Outcome.NO_ANSWER),
        (AnswerMode.PLAIN, "ok", 500, Outcome.NO_ANSWER),
        (AnswerMode.PUSHPAYMENTRESULT, "<pushpaymentresult firstcode='0'/>", 503,
         Outcome.NO_ANSWER),
    ],
)  # fmt: skip
async def test_the_answer_is_read_by_the_merchants_setting(
    gateway: Gateway,
    database: Database,
    shop: Shop,
    sender: HttpCallbackSender,
    answer: AnswerMode,
    body: str,
    status: int,
    outcome: Outcome,
) -> None:
    shop.body, shop.status = body, status
    await notified_shop(gateway, shop, answer=answer)
    order = await paid(gateway)
    await deliver_due(delivery(gateway, sender, shop))
    [(_, outcomes)] = await history(database, order)
    assert outcomes == [outcome]


async def test_confirmations_and_cancels_are_notified_when_chosen(
    gateway: Gateway, database: Database, shop: Shop, sender: HttpCallbackSender
) -> None:
    await notified_shop(
        gateway, shop, frozenset({OperationKind.CONFIRMATION, OperationKind.CANCEL})
    )
    order = await paid(gateway, delay=True)
    await confirm(Confirm(order.billnumber, "40.00", "RUB"), SignedIn(SHOP_ID), gateway)
    await cancel(Cancel(order.billnumber, "10.00", "RUB"), SignedIn(SHOP_ID), gateway)
    await deliver_due(delivery(gateway, sender, shop))
    kinds = [(n["operationtype"], n["amount"], n["orderstate"]) for n in shop.received]
    assert sorted(kinds) == [
        ("200", "40.00", "PartialDelayed"),
        ("300", "10.00", "PartialCanceled"),
    ]
    assert {n["billnumber"] for n in shop.received} == {
        f"{order.billnumber}.2",
        f"{order.billnumber}.3",
    }


async def test_declines_are_notified_and_timeouts_are_not(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    shop = Shop()
    await notified_shop(gateway, shop)
    fake_processing.outcomes["4000000000000002"] = ResponseCode.DECLINED
    fake_processing.outcomes["4000000000000119"] = SILENT
    declined = await paid(gateway, "4000000000000002")
    timed_out = await paid(gateway, "4000000000000119")
    assert len(await history(database, declined)) == 1
    assert await history(database, timed_out) == []
    async with database(readonly=True) as uow:
        assert declined.id is not None
        [notification] = await uow.notifications.of_order(declined.id)
    assert notification.fields["responsecode"] == "AS100"
    assert notification.fields["orderstate"] == "Declined"
    assert notification.status is NotificationStatus.PENDING


async def test_only_the_allowed_ports_are_used(
    gateway: Gateway, shop: Shop, sender: HttpCallbackSender, database: Database
) -> None:
    with pytest.raises(InvalidInput, match="ports"):
        await add_merchant(
            AddMerchant("555555", "Odd", "odd", "odd-password", "s",
                        callback_url="http://127.0.0.1:9/notify"),
            gateway.uow_factory, actor=SETUP,
        )  # fmt: skip
    await notified_shop(gateway, shop)
    order = await paid(gateway)
    elsewhere = Delivery(gateway.uow_factory, sender, gateway.clock, frozenset({80, 443}))
    await deliver_due(elsewhere)  # the operator closed the shop's port meanwhile
    assert shop.received == []
    [(status, outcomes)] = await history(database, order)
    assert (status, outcomes) == ("pending", [Outcome.NO_ANSWER])
