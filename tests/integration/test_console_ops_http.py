"""The operator console's settlement, reconciliation, attention and order pages over HTTP, for
each role: a viewer reads every page and may send nothing again (403), an operator and an
administrator send again; an unknown id is 404, a form without the session's token 403."""

from __future__ import annotations

import httpx
import pytest

from ips.callbacks import HttpCallbackSender
from ips.domain.orders import Order
from ips.domain.reconciliation import Figures
from ips.domain.settlement import BatchStatus
from ips.services import audit, settlement
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, add_merchant
from ips.services.notifications import Delivery, deliver_due
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.reconciliation import reconcile_and_keep
from ips.services.webhooks import add_endpoint
from ips.services.webhooks import deliver_due as deliver_webhooks
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP
from tests.console import Console, csrf_of
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_notifications import delivery, history, notified_shop
from tests.integration.test_notifications import paid as notified_payment
from tests.integration.test_payment_service import card
from tests.shop import Shop

pytestmark = pytest.mark.usefixtures("merchant")

STAFF = ("vika", "otto", "ada")
OTHER = AddMerchant("222222", "Other Shop", "other", "other-password", "salt-2")


async def paid(gateway: Gateway, merchant_id: str, ordernumber: str) -> Order:
    order = await create_order(CreateOrder(merchant_id, ordernumber, "12.34", "RUB"), gateway)
    return (await pay_by_card(PayByCard(order.billnumber, card()), gateway)).order


async def post(http: httpx.AsyncClient, url: str, **form: str) -> httpx.Response:
    return await http.post(url, data={"csrf": await csrf_of(http)} | form)


async def test_every_page_is_read_by_every_role_and_none_without_signing_in(
    console: Console, gateway: Gateway, database: Database, clock: ManualClock
) -> None:
    await add_merchant(OTHER, gateway.uow_factory, clock, actor=SETUP)
    order = await paid(gateway, "222222", "O-1")
    [report] = await settlement.settle(gateway)
    async with database(readonly=True) as uow:
        authorization, _debit = await uow.transactions.of_order(order.id or 0)
    await reconcile_and_keep(
        gateway.uow_factory, {(authorization.terminal_id, authorization.rrn): Figures("RUB", 1)},
        "default", clock(),
    )  # fmt: skip
    today = clock().date().isoformat()
    pages = {
        f"/admin/settlement?day={today}": f'href="/admin/settlement/{report.batch.id}"',
        "/admin/settlement?day=&state=accepted": f'href="/admin/settlement/{report.batch.id}"',
        f"/admin/settlement/{report.batch.id}": f'href="/admin/orders/{order.billnumber}"',
        "/admin/reconciliation": f"/admin/orders?q={authorization.rrn}",
        "/admin/reconciliation?state=resolved&acquirer=default": "No differences resolved",
        "/admin/attention": "Nothing needs attention",
        f"/admin/orders?q={authorization.rrn}": f'href="/admin/orders/{order.billnumber}"',
        "/admin/orders?q=O-1&merchant=222222": f'href="/admin/orders/{order.billnumber}"',
        f"/admin/orders/{order.billnumber}": authorization.rrn,
    }
    for login in STAFF:
        async with console.signed_in(login) as http:
            for url, shown in pages.items():
                page = await http.get(url)
                assert page.status_code == 200, (login, url, page.text)
                assert shown in page.text, (login, url)
                assert "send-again" not in page.text and "4111111111111111" not in page.text
    async with console.client() as stranger:
        for url in pages:
            answer = await stranger.get(url)
            assert answer.status_code == 303 and answer.headers["location"].startswith(
                "/admin/login"
            )


async def test_unknown_ids_are_not_found_and_bad_filters_refused(console: Console) -> None:
    async with console.signed_in("otto") as http:
        for url in ("/admin/settlement/999", "/admin/orders/1234567890123456", "/admin/orders/x"):
            assert (await http.get(url)).status_code == 404, url
        for url in (
            "/admin/settlement?day=yesterday",
            "/admin/settlement?day=0001-01-01",
            "/admin/settlement?day=9999-12-31",
            "/admin/settlement?state=lost",
            "/admin/reconciliation?state=maybe",
            "/admin/settlement/0",
            "/admin/settlement/x",
        ):
            assert (await http.get(url)).status_code == 400, url
        for url in (
            "/admin/settlement/999/resend",
            "/admin/notifications/999/send-again",
            "/admin/webhooks/999/send-again",
        ):
            assert (await post(http, url)).status_code == 404, url


async def test_the_batch_of_yesterday_is_found_from_todays_page(
    console: Console, gateway: Gateway, clock: ManualClock
) -> None:
    clock.now = clock.now.replace(hour=12)
    await paid(gateway, "111111", "Y-1")
    [report] = await settlement.settle(gateway)
    yesterday = clock().date()
    clock.advance(days=1)
    async with console.signed_in("vika") as vika:
        today = await vika.get("/admin/settlement")
        assert "No batches." in today.text
        earlier = f"/admin/settlement?day={yesterday.isoformat()}"
        assert f'href="{earlier}"' in today.text
        page = await vika.get(earlier)
        assert f'href="/admin/settlement/{report.batch.id}"' in page.text
        assert f"Settlement of {yesterday.isoformat()}" in page.text and "12.34" in page.text


async def test_an_operator_sends_a_batch_out_of_balance_again_and_a_viewer_may_not(
    console: Console, gateway: Gateway, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> None:
    await paid(gateway, "111111", "B-1")
    fake_processing.unbalanced_closes = 2
    [report] = await settlement.settle(gateway)
    resend = f"/admin/settlement/{report.batch.id}/resend"
    async with console.signed_in("vika") as vika:
        page = await vika.get(f"/admin/settlement/{report.batch.id}")
        assert "out of balance" in page.text and "Send the batch again" not in page.text
        assert (await post(vika, resend)).status_code == 403
    async with console.signed_in("otto") as otto:
        listed = await otto.get("/admin/settlement?day=&state=out_of_balance")
        assert f'href="/admin/settlement/{report.batch.id}"' in listed.text
        assert (
            "Send the batch again" in (await otto.get(f"/admin/settlement/{report.batch.id}")).text
        )
        assert (await otto.post(resend, data={"csrf": "forged"})).status_code == 403
        sent = await post(otto, resend)
        assert sent.status_code == 303
        assert "sent again" in (await otto.get(sent.headers["location"])).text
        assert (await post(otto, resend)).status_code == 409  # closing: the schedule sends it
    [entry] = await audit.trail(gateway.uow_factory, action="batch.send_again")
    assert (entry.actor.name, entry.actor.source) == ("otto", "203.0.113.7")
    [again] = await settlement.resend_unfinished(gateway)
    assert again.batch.status is BatchStatus.ACCEPTED
    async with console.signed_in("ada") as ada:
        assert (await post(ada, resend)).status_code == 409  # accepted


async def test_a_notification_given_up_is_sent_again_from_the_attention_list(
    console: Console,
    gateway: Gateway,
    database: Database,
    clock: ManualClock,
    sender: HttpCallbackSender,
) -> None:
    shop = Shop()  # down
    await notified_shop(gateway, shop)
    order = await notified_payment(gateway)
    shipment = delivery(gateway, sender, shop)
    for _ in range(8):
        await deliver_due(shipment)
        clock.advance(hours=2)
    async with database(readonly=True) as uow:
        [notification] = await uow.notifications.of_order(order.id or 0)
    again = f"/admin/notifications/{notification.id}/send-again"
    async with console.signed_in("vika") as vika:
        page = await vika.get("/admin/attention")
        assert f'href="/admin/orders/{order.billnumber}"' in page.text and "gave up" in page.text
        assert again not in page.text
        assert (await post(vika, again)).status_code == 403
    async with console.signed_in("otto") as otto:
        assert again in (await otto.get("/admin/attention")).text
        assert again in (await otto.get(f"/admin/orders/{order.billnumber}")).text
        sent = await post(otto, again)
        assert (
            sent.status_code == 303
            and sent.headers["location"] == "/admin/attention?done=notification"
        )
        page = await otto.get(sent.headers["location"])
        assert "sent again" in page.text and again not in page.text
        assert (await post(otto, again)).status_code == 409  # pending now
    await shop.open()
    try:
        assert await deliver_due(shipment) == 1
    finally:
        await shop.close()
    assert (await history(database, order))[0][0] == "delivered"
    async with console.signed_in("ada") as ada:
        page = await ada.get(f"/admin/orders/{order.billnumber}")
        assert "notification.send_again" in page.text and "operator otto" in page.text
        assert "Notification: delivered, 9 attempt(s)" in page.text


async def test_a_webhook_given_up_is_sent_again_from_the_order_page(
    console: Console, gateway: Gateway, clock: ManualClock, sender: HttpCallbackSender
) -> None:
    shop = Shop()
    ports = frozenset({shop.port})
    await add_endpoint("111111", shop.webhook_url, "payment.succeeded", gateway.uow_factory,
                       gateway.clock, ports)  # fmt: skip
    order = await paid(gateway, "111111", "W-1")
    shipping = Delivery(gateway.uow_factory, sender, gateway.clock, ports)
    await deliver_webhooks(shipping)
    clock.advance(days=3)
    await deliver_webhooks(shipping)
    async with console.signed_in("ada") as ada:
        page = await ada.get("/admin/attention")
        [action] = [
            line.split('action="')[1].split('"')[0]
            for line in page.text.splitlines()
            if "/admin/webhooks/" in line and "send-again" in line
        ]
        async with console.signed_in("vika") as vika:
            assert (await post(vika, action)).status_code == 403
        back = f"/admin/orders/{order.billnumber}"
        sent = await post(ada, action, back=back)
        assert sent.status_code == 303 and sent.headers["location"] == f"{back}?done=webhook"
        page = await ada.get(sent.headers["location"])
        assert "The webhook is sent again" in page.text and "webhook.send_again" in page.text
        assert "pending" in page.text
        outside = await post(ada, action, back="https://elsewhere.example/")
        assert outside.headers["location"].startswith("/admin?")
