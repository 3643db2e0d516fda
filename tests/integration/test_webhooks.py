"""Webhooks: written with each change, posted over real HTTP to a receiver on 127.0.0.1 (a
network allowed here, as in ``test_notifications.py``) that checks every signature with the
recipe of ``docs/json-api.md``; retried, given up, claimed, rolled and sent again."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from ips.callbacks import HttpCallbackSender
from ips.domain.errors import InvalidInput, NotFound
from ips.domain.merchants import Merchant
from ips.domain.orders import Order
from ips.domain.responses import ResponseCode
from ips.domain.webhooks import EVENT_TYPES, DeliveryStatus, WebhookDelivery
from ips.metrics import Metrics
from ips.services.cancellations import Cancel, cancel
from ips.services.claims import LEASE
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchants import SignedIn
from ips.services.notifications import Delivery
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.settlement import settle
from ips.services.webhooks import (
    add_endpoint,
    deliver_due,
    deliveries_of,
    endpoints_of,
    remove_endpoint,
    roll_secret,
)
from tests.cabinet import Cabinet, csrf_of
from tests.conftest import SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_payment_service import card
from tests.webhook_receiver import Receiver, verify

SHOP = SignedIn("111111")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.open()
    yield receiver
    await receiver.close()


def shipping(gateway: Gateway, sender: HttpCallbackSender, receiver: Receiver) -> Delivery:
    return Delivery(gateway.uow_factory, sender, gateway.clock, frozenset({receiver.port}))


async def endpoint(gateway: Gateway, receiver: Receiver, events: str = "") -> str:
    """Registers the receiver; its secret."""
    ports = frozenset({receiver.port})
    _, secret = await add_endpoint(
        "111111", receiver.url, events, gateway.uow_factory, gateway.clock, ports
    )
    return secret


async def paid(gateway: Gateway, number: str, delay: bool = False) -> Order:
    order = await create_order(CreateOrder("111111", number, "100.00", "RUB", delay=delay), gateway)
    return (await pay_by_card(PayByCard(order.billnumber, card()), gateway)).order


def verified(receiver: Receiver, secret: str, clock: ManualClock) -> None:
    for received in receiver.received:
        assert verify(secret, received.headers, received.body, now=clock().timestamp())
        assert received.headers["webhook-id"] == received.event["id"]


async def test_every_event_of_a_paid_captured_and_refunded_order_arrives_signed(
    gateway: Gateway, merchant: Merchant, clock: ManualClock, receiver: Receiver,
    sender: HttpCallbackSender, fake_processing: FakeProcessingCenter,
) -> None:  # fmt: skip
    fake_processing.outcomes["4000000000000002"] = ResponseCode.DECLINED
    secret = await endpoint(gateway, receiver)
    refunds = Receiver()  # a second endpoint, of refunds only, never listening
    await endpoint(gateway, refunds, "refund.succeeded")
    declined = await create_order(CreateOrder("111111", "W-0", "5.00", "RUB"), gateway)
    await pay_by_card(PayByCard(declined.billnumber, card("4000000000000002")), gateway)
    order = await paid(gateway, "W-1", delay=True)
    await confirm(Confirm(order.billnumber, "100.00", "RUB"), SHOP, gateway)
    await settle(gateway)
    await cancel(Cancel(order.billnumber, "40.00", "RUB"), SHOP, gateway)
    await cancel(Cancel(order.billnumber), SHOP, gateway)

    tried = await deliver_due(shipping(gateway, sender, receiver))
    verified(receiver, secret, clock)
    mine = [r.event for r in receiver.received if r.event["data"]["order_number"] == "W-1"]
    assert sorted({e["type"] for e in mine}) == sorted(
        {
            "order.delayed", "order.approved", "order.partially_canceled", "order.canceled",
            "operation.succeeded", "payment.succeeded", "capture.succeeded",
            "cancel.succeeded", "refund.succeeded",
        }
    )  # fmt: skip
    assert {r.event["type"] for r in receiver.received} - {e["type"] for e in mine} == {
        "order.declined", "operation.declined", "payment.declined",
    }  # fmt: skip
    refunded = [e for e in mine if e["type"] == "refund.succeeded"]
    assert [
        (e["data"]["operation"]["amount"], e["data"]["operation"]["method"]) for e in refunded
    ] == [
        (4000, "refund"),
        (6000, "refund"),
    ]
    assert all(e["data"]["amount"] == 10000 and e["data"]["currency"] == "RUB" for e in mine)
    paid_event = next(e for e in mine if e["type"] == "payment.succeeded")
    assert paid_event["data"]["operation"]["masked_pan"] == "411111****1111"
    bodies = b"".join(r.body for r in receiver.received)
    assert b"4111111111111111" not in bodies and b"cvc" not in bodies.lower()
    assert len({r.event["id"] for r in receiver.received}) == len(receiver.received)
    assert tried == len(receiver.received) + 2  # and the refunds' endpoint's two, unanswered
    assert set(EVENT_TYPES) >= {e["type"] for e in mine}


async def test_a_rolled_secret_signs_beside_the_new_one_for_a_day(
    gateway: Gateway, merchant: Merchant, clock: ManualClock, receiver: Receiver,
    sender: HttpCallbackSender,
) -> None:  # fmt: skip
    old = await endpoint(gateway, receiver, "payment.succeeded")
    [made] = await endpoints_of("111111", gateway.uow_factory)
    new = await roll_secret(
        "111111", made.endpoint_id, gateway.uow_factory, gateway.clock, actor=SETUP
    )
    assert new != old and new.startswith("whsec_")
    await paid(gateway, "R-1")
    clock.advance(hours=23)
    await deliver_due(shipping(gateway, sender, receiver))
    [both] = receiver.received
    assert len(both.signatures) == 2
    verified(receiver, old, clock)
    verified(receiver, new, clock)

    clock.advance(hours=1)
    await paid(gateway, "R-2")
    await deliver_due(shipping(gateway, sender, receiver))
    [_, only_new] = receiver.received
    assert len(only_new.signatures) == 1
    now = clock().timestamp()
    assert verify(new, only_new.headers, only_new.body, now=now)
    assert not verify(old, only_new.headers, only_new.body, now=now)
    assert not verify(new, only_new.headers, only_new.body, now=now + 301)  # too late


async def history(gateway: Gateway) -> list[WebhookDelivery]:
    return await deliveries_of("111111", gateway.uow_factory)


async def test_a_failing_endpoint_is_retried_with_growing_pauses_and_given_up_after_three_days(
    gateway: Gateway, merchant: Merchant, clock: ManualClock, receiver: Receiver,
    sender: HttpCallbackSender,
) -> None:  # fmt: skip
    receiver.status = 500
    await endpoint(gateway, receiver, "payment.succeeded")
    await paid(gateway, "F-1")
    metrics = Metrics()
    ship = dataclasses.replace(shipping(gateway, sender, receiver), metrics=metrics)
    for _ in range(40):
        assert await deliver_due(ship) == 1
        [delivery] = await history(gateway)
        if delivery.next_attempt_at is None:
            break
        clock.now = delivery.next_attempt_at - timedelta(seconds=1)
        assert await deliver_due(ship) == 0  # not due yet
        clock.now = delivery.next_attempt_at
    assert delivery.status is DeliveryStatus.FAILED
    times = [attempt.at for attempt in delivery.history]
    assert (
        [a.http_status for a in delivery.history]
        == [500] * len(times)
        == [500] * len(receiver.received)
    )
    pauses = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert pauses[0] == timedelta(minutes=1) and pauses[:-1] == sorted(pauses[:-1])
    assert times[-1] - times[0] == timedelta(days=3)
    clock.advance(days=1)
    assert await deliver_due(ship) == 0
    refused = {"outbox": "webhooks", "outcome": "refused"}
    assert metrics.registry.get_sample_value("ips_deliveries_total", refused) == len(times)


async def test_a_delivery_another_worker_claimed_is_not_sent_twice(
    gateway: Gateway, merchant: Merchant, clock: ManualClock, receiver: Receiver,
    sender: HttpCallbackSender,
) -> None:  # fmt: skip
    await endpoint(gateway, receiver, "payment.succeeded")
    await paid(gateway, "C-1")
    async with gateway.uow_factory() as uow:
        [claimed] = await uow.webhooks.claim_due(clock(), LEASE, 10, "another worker")
        await uow.commit()
    ship = shipping(gateway, sender, receiver)
    assert await deliver_due(ship) == 0
    assert receiver.received == []
    clock.now += LEASE  # the other worker died: its lease ends
    assert await deliver_due(ship) == 1
    assert len(receiver.received) == 1
    for n in range(2, 7):
        await paid(gateway, f"C-{n}")
    assert sum(await asyncio.gather(*(deliver_due(ship) for _ in range(3)))) == 5
    assert len({r.event["id"] for r in receiver.received}) == len(receiver.received) == 6
    assert {d.status for d in await history(gateway)} == {DeliveryStatus.DELIVERED}
    assert claimed.delivery.id is not None


async def test_endpoints_are_refused_bad_urls_and_types_and_removed_with_their_deliveries(
    gateway: Gateway, merchant: Merchant, receiver: Receiver
) -> None:
    factory, ports = gateway.uow_factory, frozenset({receiver.port})
    with pytest.raises(InvalidInput, match="URL"):
        await add_endpoint("111111", "ftp://shop.example/x", "", factory, gateway.clock, ports)
    with pytest.raises(InvalidInput, match="ports"):
        await add_endpoint("111111", "https://shop.example:9/x", "", factory, gateway.clock, ports)
    with pytest.raises(InvalidInput, match=r"no event type order\.paid"):
        await add_endpoint("111111", receiver.url, "order.paid", factory, gateway.clock, ports)
    with pytest.raises(NotFound):
        await add_endpoint("999", receiver.url, "", factory, gateway.clock, ports)
    await endpoint(gateway, receiver, "payment.succeeded")
    [made] = await endpoints_of("111111", factory)
    with pytest.raises(NotFound):
        await roll_secret("222222", made.endpoint_id, factory, actor=SETUP)
    await paid(gateway, "D-1")
    await remove_endpoint("111111", made.endpoint_id, factory, gateway.clock)
    assert await endpoints_of("111111", factory) == []
    assert [d.status for d in await history(gateway)] == [DeliveryStatus.CANCELED]
    with pytest.raises(NotFound):
        await remove_endpoint("111111", made.endpoint_id, factory, gateway.clock)


async def test_the_personal_account_shows_every_attempt_and_sends_a_delivery_again(
    merchant: Merchant,
    cabinet: Cabinet,
    clock: ManualClock,
    receiver: Receiver,
    sender: HttpCallbackSender,
) -> None:
    gateway = cabinet.gateway
    secret = await endpoint(gateway, receiver, "payment.succeeded")
    order = await paid(gateway, "S-1")
    ship = shipping(gateway, sender, receiver)
    assert await deliver_due(ship) == 1
    [delivery] = await history(gateway)
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.id is not None
    again = f"/cabinet/webhooks/deliveries/{delivery.id}/again"
    async with cabinet.signed_in("vera") as vera:  # a viewer sees, and may not send again
        page = await vera.get(f"/cabinet/webhooks?billnumber={order.billnumber}")
        assert page.status_code == 200
        assert "payment.succeeded" in page.text and "delivered" in page.text
        assert " · 204 · " in page.text and "/again" not in page.text
        assert (await vera.post(again, data={"csrf": await csrf_of(vera)})).status_code == 403
    async with cabinet.signed_in("olga") as olga:  # another merchant's administrator
        assert (await olga.post(again, data={"csrf": await csrf_of(olga)})).status_code == 404
        assert "payment.succeeded" not in (await olga.get("/cabinet/webhooks")).text
    async with cabinet.signed_in("anna") as anna:  # an operator
        assert (await anna.post(again, data={"csrf": "forged"})).status_code == 403
        assert await deliver_due(ship) == 0
        sent = await anna.post(again, data={"csrf": await csrf_of(anna)})
        assert sent.status_code == 303
        assert "sent again" in (await anna.get(sent.headers["location"])).text
    assert await deliver_due(ship) == 1
    first, second = receiver.received
    assert first.body == second.body and first.headers["webhook-id"] == second.headers["webhook-id"]
    verified(receiver, secret, clock)
    [delivery] = await history(gateway)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
