"""Further payment attempts on one order after a declined one (issue 13): over HTTP as a buyer
and a shop see them, up to the merchant's limit and the order's lifetime, and raced."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from xml.etree import ElementTree as ET

import httpx
import pytest

from ips.domain.notifications import NotificationStatus
from ips.domain.orders import Order, PaymentMeans
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, OrderState
from ips.services.choice import ChooseMeans, choose_means
from ips.services.gateway import Gateway
from ips.services.merchants import add_merchant
from ips.services.payments import PayByCard, pay_by_card
from ips.storage.unit_of_work import Database
from tests.conftest import MERCHANT, SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_http_payment import REQUEST, card_form
from tests.integration.test_payment_service import card, new_order, pay_at_once, reload
from tests.racing import ONE_AND_TWO_NODES, nodes

DECLINED = "4000000000000002"
AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password"}


async def declined_once(gateway: Gateway, fake_processing: FakeProcessingCenter) -> Order:
    """A new order whose first payment the issuer declined."""
    fake_processing.outcomes[DECLINED] = ResponseCode.DECLINED
    order = await new_order(gateway)
    await pay_by_card(PayByCard(order.billnumber, card(DECLINED)), gateway)
    return order


async def pay_on_page(client: httpx.AsyncClient, page: str, number: str) -> httpx.Response:
    token = re.search(r'name="token" value="([^"]+)"', (await client.get(page)).text)
    assert token is not None, page
    return await client.post(f"{page}/card", data=card_form(token.group(1), number))


async def test_declined_then_paid_with_another_card_in_the_same_order(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter
) -> None:
    fake_processing.outcomes[DECLINED] = ResponseCode.DECLINED
    page = (await client.post("/pay/order.cfm", data=REQUEST)).headers["location"]

    declined = await pay_on_page(client, page, DECLINED)
    assert declined.headers["location"] == page
    paid = await pay_on_page(client, page, "4111111111111111")

    assert paid.headers["location"].startswith("https://shop.example/ok?")
    ask = {**AUTH, "OrderNumber": REQUEST["OrderNumber"], "Format": "3"}
    state = await client.post("/orderstate/orderstate.cfm", data=ask)
    assert "<orderstate>Approved</orderstate>" in state.text
    result = ET.fromstring((await client.post("/orderresult/orderresult.cfm", data=ask)).content)
    [order] = result.findall("order")
    codes = [op.findtext("responsecode") for op in order.findall("operation")]
    assert codes == ["AS100", "AS000"]
    assert [op.findtext("meannumber") for op in order.findall("operation")] == [
        "400000****0002",
        "411111****1111",
    ]


async def test_after_the_last_attempt_the_buyer_goes_to_the_shop_and_no_more_is_sent(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, database: Database
) -> None:
    fake_processing.outcomes[DECLINED] = ResponseCode.DECLINED
    page = (await client.post("/pay/order.cfm", data=REQUEST)).headers["location"]
    for left in (2, 1):
        assert (await pay_on_page(client, page, DECLINED)).headers["location"] == page
        assert f"Attempts left: {left}." in (await client.get(page)).text
    token = re.search(r'name="token" value="([^"]+)"', (await client.get(page)).text)
    assert token is not None
    last = await client.post(f"{page}/card", data=card_form(token.group(1), DECLINED))

    assert last.headers["location"] == page
    choice = await client.get(page)
    assert choice.headers["location"] == f"{page}/result"
    result = await client.get(f"{page}/result")
    assert result.headers["location"].startswith("https://shop.example/no?")
    assert "payerdenial=0" in result.headers["location"]
    sent_again = await client.post(f"{page}/card", data=card_form(token.group(1)))
    assert sent_again.status_code == 303
    assert len(fake_processing.authorizations) == 3
    billnumber = page.rsplit("/", 1)[1]
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        assert order is not None and order.id is not None
        operations = await uow.operations.of_order(order.id)
    assert order.state is OrderState.DECLINED and not order.holds_ordernumber
    assert [op.status for op in operations] == [OperationStatus.DECLINED] * 3


@pytest.mark.usefixtures("merchant")
async def test_no_attempt_after_the_order_lifetime(
    gateway: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    clock: ManualClock,
) -> None:
    order = await declined_once(gateway, fake_processing)
    clock.advance(hours=24, seconds=1)

    step = await pay_by_card(PayByCard(order.billnumber, card()), gateway)

    assert step.order.state is OrderState.DECLINED
    assert len(fake_processing.authorizations) == 1
    _, operations = await reload(database, order)
    assert len(operations) == 1


@pytest.mark.usefixtures("merchant")
@ONE_AND_TWO_NODES
async def test_concurrent_attempts_after_a_decline_make_one_payment(
    gateway: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    database_url: str,
    node_count: int,
) -> None:
    order = await declined_once(gateway, fake_processing)
    await pay_at_once(order, gateway, database, fake_processing, database_url, node_count)

    assert len(fake_processing.authorizations) == 2
    fresh, operations = await reload(database, order)
    assert fresh.state is OrderState.APPROVED
    assert [op.status for op in operations] == [OperationStatus.DECLINED, OperationStatus.SUCCESS]


@ONE_AND_TWO_NODES
@pytest.mark.usefixtures("merchant")
async def test_choices_raced_with_payments_leave_one_payment_and_nothing_in_process(
    gateway: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    database_url: str,
    node_count: int,
) -> None:
    order = await declined_once(gateway, fake_processing)
    fake_processing.gate = asyncio.Event()
    async with nodes(
        database_url, database.keyring, node_count - 1, fake_processing, clock=gateway.clock
    ) as others:
        each = [gateway, *others]
        choosing = ChooseMeans(order.billnumber, PaymentMeans.CARD)
        racers = [
            choose_means(choosing, each[n % len(each)])
            if n % 2
            else pay_by_card(PayByCard(order.billnumber, card()), each[n % len(each)])
            for n in range(12)
        ]
        tasks = [asyncio.create_task(racer) for racer in racers]
        await fake_processing.arrived.wait()
        fake_processing.gate.set()
        await asyncio.gather(*tasks)

    assert len(fake_processing.authorizations) == 2
    fresh, operations = await reload(database, order)
    assert fresh.state is OrderState.APPROVED
    assert [op.status for op in operations] == [OperationStatus.DECLINED, OperationStatus.SUCCESS]


async def test_a_declined_attempt_s_notification_still_waiting_is_superseded_by_the_success(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    await add_merchant(
        dataclasses.replace(MERCHANT, callback_url="https://shop.example/notify"),
        gateway.uow_factory,
        actor=SETUP,
    )
    order = await declined_once(gateway, fake_processing)
    await pay_by_card(PayByCard(order.billnumber, card()), gateway)

    async with database(readonly=True) as uow:
        assert order.id is not None
        told = await uow.notifications.of_order(order.id)
    assert [(n.fields["orderstate"], n.status) for n in told] == [
        ("Declined", NotificationStatus.SUPERSEDED),
        ("Approved", NotificationStatus.PENDING),
    ]


async def test_the_result_page_offers_to_pay_only_while_the_order_may_be_paid(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    page = (await client.post("/pay/order.cfm", data=REQUEST | {"Language": "EN"})).headers[
        "location"
    ]
    assert "Pay now" in (await client.get(f"{page}/result")).text

    clock.advance(hours=24, seconds=1)  # the lifetime is over; the janitor has not run yet

    late = await client.get(f"{page}/result")
    assert "Pay now" not in late.text and "Please wait" in late.text
    assert (await client.get(page)).headers["location"] == f"{page}/result"
