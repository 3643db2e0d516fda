"""Paying part of an order with bonus points and the rest by card (issue 13): over HTTP as a
buyer and a shop see it, against the simulator's points program (Demo Points) over HTTP and
the fake processing center; cancels in shares; the janitor's part; raced."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from xml.etree import ElementTree as ET

import httpx
import pytest

from demobank import Simulator
from ips.domain.cards import Secret
from ips.domain.merchants import BuyerField
from ips.domain.orders import Operation, PaymentMeans, TransactionKind
from ips.domain.responses import ResponseCode
from ips.domain.signed_fields import payment_request_checkvalue
from ips.domain.states import OperationStatus, OrderState
from ips.processing.wallet import WalletStatus
from ips.services import janitor, monitor
from ips.services.cancellations import Cancel, cancel
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, SignedIn, add_merchant
from ips.services.monitor import OrderFilter
from ips.services.payments import PayByCard, PaymentStep, pay_by_card
from ips.services.points import PointsPart, pay_with_points
from ips.services.points_report import report_points
from ips.services.settlement import settle
from ips.storage.unit_of_work import Database
from ips.web.cabinet import order_routes
from tests.conftest import SETUP, make_client
from tests.fakes import FakeProcessingCenter, FakeWallet, ManualClock
from tests.integration.conftest import POINTS_SHOP
from tests.integration.test_http_payment import card_form
from tests.integration.test_payment_service import card
from tests.racing import ONE_AND_TWO_NODES, nodes

SHOP = POINTS_SHOP
RICH, POOR = "7000000001", "7000000002"
REQUEST = {
    "Merchant_ID": SHOP,
    "OrderNumber": "P-1",
    "OrderAmount": "300.00",
    "OrderCurrency": "RUB",
    "URL_RETURN_OK": "https://shop.example/ok",
    "URL_RETURN_NO": "https://shop.example/no",
}
AUTH = {"Merchant_ID": SHOP, "Login": "points", "Password": "points-password"}
DECLINED = "4000000000000002"
PART = PointsPart(RICH, Secret("1111"), 100)
STALE = timedelta(seconds=60)
"""The janitor's ``stale_after``: older than any request still under way."""


@pytest.fixture
async def client(points_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(points_gateway) as http:
        yield http


async def balance(simulator: Simulator, account: str = RICH) -> tuple[int, int]:
    """The account's balance and the points reserved on it."""
    found = await simulator.ledger.loyalty.account(account)
    return found.balance, found.reserved


async def order_page(client: httpx.AsyncClient, **params: str) -> str:
    created = await client.post("/pay/order.cfm", data={**REQUEST, **params})
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


async def pay(
    client: httpx.AsyncClient,
    page: str,
    number: str = "4111111111111111",
    *,
    points: str = "100",
    account: str = RICH,
    pin: str = "1111",
) -> httpx.Response:
    form = (await client.get(page)).text
    token = re.search(r'name="token" value="([^"]+)"', form)
    assert token is not None, form
    points_form = {"points": points, "points_account": account, "points_pin": pin}
    return await client.post(f"{page}/card", data=card_form(token.group(1), number) | points_form)


async def payments(database: Database, page: str) -> list[tuple[str, str, int, str]]:
    async with database(readonly=True) as uow:
        order = await uow.orders.get(page.rsplit("/", 1)[1])
        assert order is not None and order.id is not None
        return [
            (op.means.value, op.status.value, op.amount.minor, _code(op))
            for op in await uow.operations.of_order(order.id)
        ]


def _code(operation: Operation) -> str:
    return operation.response_code.value if operation.response_code else ""


async def web_service(client: httpx.AsyncClient, name: str) -> ET.Element:
    answer = await client.post(
        f"/{name}/{name}.cfm", data={**AUTH, "OrderNumber": REQUEST["OrderNumber"], "Format": "3"}
    )
    assert answer.status_code == 200, answer.text
    return ET.fromstring(answer.content)


async def test_300_paid_as_100_points_and_200_by_card(
    client: httpx.AsyncClient,
    simulator: Simulator,
    database: Database,
    fake_processing: FakeProcessingCenter,
) -> None:
    page = await order_page(client)
    form = (await client.get(page)).text
    assert "Up to 150 points, 1.00\u00a0RUB each" in form  # the merchant's 50 %

    paid = await pay(client, page)

    assert paid.status_code == 303, paid.text
    assert paid.headers["location"].startswith("https://shop.example/ok")
    assert [a.amount.minor for a in fake_processing.authorizations] == [20000]
    assert await balance(simulator) == (100000 - 100, 0)
    assert await payments(database, page) == [
        ("points", "success", 10000, "AS000"),
        ("card", "success", 20000, "AS000"),
    ]
    state = await web_service(client, "orderstate")
    assert state.findtext(".//orderstate") == "Approved"
    result = await web_service(client, "orderresult")
    assert [
        (op.findtext("amount"), op.findtext("meantypename"), op.findtext("meannumber"))
        for op in result.iter("operation")
    ] == [("100.00", "Bonus points", "****0001"), ("200.00", "VISA", "411111****1111")]
    async with database(readonly=True) as uow:
        order = await uow.orders.get(page.rsplit("/", 1)[1])
        assert order is not None and order.id is not None and order.books is not None
        assert (order.books.held, order.books.in_points, order.books.presented) == (
            30000, 10000, 10000,
        )  # fmt: skip
        told = await uow.notifications.of_order(order.id)
    assert len(told) == 2  # a bonus-points payment sends both operations
    rows = monitor.export_rows(OrderFilter(SHOP), database)
    exported = b"".join([piece async for piece in order_routes.csv_pieces(rows)]).decode()
    assert exported.splitlines()[1].endswith(",card,411111****1111,100.00")


async def test_a_declined_card_releases_the_points_and_the_order_is_paid_again(
    client: httpx.AsyncClient,
    simulator: Simulator,
    database: Database,
    fake_processing: FakeProcessingCenter,
) -> None:
    fake_processing.outcomes[DECLINED] = ResponseCode.DECLINED
    page = await order_page(client)

    declined = await pay(client, page, DECLINED)

    assert declined.headers["location"] == page
    assert await balance(simulator) == (100000, 0)
    assert await payments(database, page) == [
        ("points", "declined", 10000, "AS100"),
        ("card", "declined", 20000, "AS100"),
    ]
    again = await pay(client, page, points="")
    assert again.headers["location"].startswith("https://shop.example/ok")
    assert [a.amount.minor for a in fake_processing.authorizations][-1] == 30000
    assert (await web_service(client, "orderstate")).findtext(".//orderstate") == "Approved"


@pytest.mark.parametrize(
    ("account", "pin", "points", "said"),
    [
        (RICH, "9999", "100", "The points account number or its PIN is wrong."),
        (POOR, "2222", "100", "The points account holds too few points."),
    ],
)
async def test_points_refused_send_nothing_to_the_bank(
    client: httpx.AsyncClient,
    simulator: Simulator,
    database: Database,
    fake_processing: FakeProcessingCenter,
    account: str,
    pin: str,
    points: str,
    said: str,
) -> None:
    page = await order_page(client)

    refused = await pay(client, page, account=account, pin=pin, points=points)

    assert refused.headers["location"] == page
    assert fake_processing.authorizations == []
    assert said in (await client.get(page)).text
    assert [status for _, status, _, _ in await payments(database, page)] == ["declined"]
    assert await balance(simulator, account) == ((100000 if account == RICH else 50), 0)


@pytest.mark.parametrize(
    ("points", "field"),
    [("151", "At most 150 points"), ("12x", "whole number")],
)
async def test_points_above_the_limit_or_malformed_are_refused_on_the_form(
    client: httpx.AsyncClient,
    simulator: Simulator,
    database: Database,
    fake_processing: FakeProcessingCenter,
    points: str,
    field: str,
) -> None:
    page = await order_page(client)
    answer = await pay(client, page, points=points)
    assert answer.status_code == 400
    assert field.lower() in answer.text.lower()
    assert await payments(database, page) == []
    assert fake_processing.authorizations == []
    assert await balance(simulator) == (100000, 0)


async def test_order_max_points_signed_by_the_shop_lowers_the_limit(
    client: httpx.AsyncClient, database: Database
) -> None:
    fields = {"merchant_id": SHOP, "ordernumber": "P-1", "orderamount": "300.00",
              "ordercurrency": "RUB", "ordermaxpoints": "20"}  # fmt: skip
    signed = payment_request_checkvalue("salt", fields)
    page = await order_page(client, OrderMaxPoints="20", Checkvalue=signed)
    assert "Up to 20 points" in (await client.get(page)).text
    unsigned = await order_page(client, OrderNumber="P-2", OrderMaxPoints="20")
    assert "Up to 150 points" in (await client.get(unsigned)).text  # not covered: not trusted


async def test_a_full_cancel_gives_back_points_and_money(
    client: httpx.AsyncClient,
    points_gateway: Gateway,
    simulator: Simulator,
    database: Database,
    fake_processing: FakeProcessingCenter,
) -> None:
    page = await order_page(client)
    await pay(client, page)
    caller = SignedIn(SHOP)

    part = await cancel(Cancel(page.rsplit("/", 1)[1], "150.50", "RUB"), caller, points_gateway)
    assert part.operation.amount.minor == 15050
    assert await balance(simulator) == (100000 - 100 + 50, 0)  # a third of it: 50 points
    await cancel(Cancel(page.rsplit("/", 1)[1]), caller, points_gateway)

    assert await balance(simulator) == (100000, 0)
    assert (await web_service(client, "orderstate")).findtext(".//orderstate") == "Canceled"
    async with database(readonly=True) as uow:
        order = await uow.orders.get(page.rsplit("/", 1)[1])
        assert order is not None and order.id is not None
        exchanges = await uow.transactions.of_order(order.id)
    sent = {kind: sum(t.amount.minor for t in exchanges if t.kind is kind)
            for kind in (TransactionKind.REVERSAL, TransactionKind.POINTS_GIVE_BACK)}  # fmt: skip
    assert sent == {TransactionKind.REVERSAL: 20000, TransactionKind.POINTS_GIVE_BACK: 10000}


async def test_the_janitor_spends_points_whose_request_died_after_the_card_was_approved(
    points_gateway: Gateway,
    simulator: Simulator,
    database: Database,
    clock: ManualClock,
) -> None:
    """The request that paid the rest died before it followed the points: the janitor does."""
    page = await order_page_of(points_gateway)
    billnumber = page.rsplit("/", 1)[1]

    async def rest_then_die(points: Operation) -> PaymentStep:
        await pay_by_card(PayByCard(billnumber, card(), beside=points), points_gateway)
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await pay_with_points(billnumber, PART, rest_then_die, points_gateway)
    assert await balance(simulator) == (100000, 100)  # still reserved

    clock.advance(minutes=5)
    await janitor.sweep(points_gateway, stale_after=STALE)

    assert await balance(simulator) == (100000 - 100, 0)
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        assert order is not None and order.books is not None
        assert order.state is OrderState.APPROVED and order.books.in_points == 10000


async def test_the_janitor_releases_points_reserved_for_a_rest_never_begun(
    points_gateway: Gateway, simulator: Simulator, database: Database, clock: ManualClock
) -> None:
    page = await order_page_of(points_gateway)
    billnumber = page.rsplit("/", 1)[1]

    async def die(points: Operation) -> PaymentStep:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await pay_with_points(
            billnumber, PointsPart(RICH, Secret("1111"), 100), die, points_gateway
        )
    clock.advance(minutes=5)
    await janitor.sweep(points_gateway, stale_after=STALE)

    assert await balance(simulator) == (100000, 0)
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        assert order is not None and order.state is OrderState.DECLINED


@ONE_AND_TWO_NODES
async def test_points_and_card_raced_on_one_order_pay_once(
    points_gateway: Gateway,
    simulator: Simulator,
    database: Database,
    fake_processing: FakeProcessingCenter,
    database_url: str,
    node_count: int,
) -> None:
    billnumber = (await order_page_of(points_gateway)).rsplit("/", 1)[1]
    async with nodes(
        database_url, database.keyring, node_count - 1, fake_processing, clock=points_gateway.clock
    ) as others:
        loyalty = points_gateway.loyalty
        each = [points_gateway, *(dataclasses.replace(g, loyalty=loyalty) for g in others)]

        async def one(n: int) -> object:
            node = each[n % len(each)]
            try:
                return await pay_with_points(
                    billnumber,
                    PART,
                    lambda points: pay_by_card(PayByCard(billnumber, card(), beside=points), node),
                    node,
                )
            except Exception as exc:
                return exc

        await asyncio.gather(*(one(n) for n in range(6)))

    assert await balance(simulator) == (100000 - 100, 0)
    assert len(fake_processing.authorizations) == 1
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        assert order is not None and order.id is not None and order.books is not None
        assert order.state is OrderState.APPROVED and order.books.held == 30000
        done = [
            op.means
            for op in await uow.operations.of_order(order.id)
            if op.status is OperationStatus.SUCCESS
        ]
    assert sorted(m.value for m in done) == ["card", "points"]


async def order_page_of(gateway: Gateway) -> str:
    async with make_client(gateway) as http:
        return await order_page(http)


ACCRUING = "666666"


async def accruing_order(client: httpx.AsyncClient, gateway: Gateway) -> str:
    """An order of 300.00 at a shop that accrues 10 % of card payments in points."""
    await add_merchant(
        AddMerchant(
            ACCRUING, "Accruing Shop", "accruing", "accruing-password", "salt",
            means=frozenset({PaymentMeans.CARD}), points_accrual=10,
            return_hosts=("shop.example",),
        ),
        gateway.uow_factory, actor=SETUP,
    )  # fmt: skip
    return await order_page(client, Merchant_ID=ACCRUING)


async def test_a_card_payment_accrues_points_and_a_full_cancel_takes_them_back(
    client: httpx.AsyncClient, points_gateway: Gateway, simulator: Simulator, database: Database
) -> None:
    page = await accruing_order(client, points_gateway)
    form = (await client.get(page)).text
    assert "10% of a card payment comes back to your points account." in form
    assert 'name="points_pin"' not in form  # the shop takes no points: it only gives them

    paid = await pay(client, page, points="", pin="")

    assert paid.headers["location"].startswith("https://shop.example/ok")
    assert await balance(simulator) == (100000 + 30, 0)
    assert await payments(database, page) == [
        ("card", "success", 30000, "AS000"),
        ("points", "success", 3000, "AS000"),  # the accrual: 30 points, worth 30.00
    ]
    async with database(readonly=True) as uow:
        order = await uow.orders.get(page.rsplit("/", 1)[1])
        assert order is not None and order.id is not None
        accrued = [op for op in await uow.operations.of_order(order.id) if op.kind.value == "500"]
    assert [(op.points, op.status) for op in accrued] == [(30, OperationStatus.SUCCESS)]

    caller = SignedIn(ACCRUING)
    await cancel(Cancel(page.rsplit("/", 1)[1], "100.00", "RUB"), caller, points_gateway)
    assert await balance(simulator) == (100000 + 30, 0)  # a part cancelled keeps them
    await cancel(Cancel(page.rsplit("/", 1)[1]), caller, points_gateway)
    assert await balance(simulator) == (100000, 0)

    today = points_gateway.clock().date()
    reported = await report_points(today, points_gateway)
    assert [(m.merchant_id, m.operations, m.differences) for m in reported.merchants] == [
        (ACCRUING, 2, [])
    ]


async def test_an_unknown_account_accrues_nothing_and_the_payment_stands(
    client: httpx.AsyncClient, points_gateway: Gateway, database: Database
) -> None:
    page = await accruing_order(client, points_gateway)
    paid = await pay(client, page, points="", pin="", account="7000000099")
    assert paid.headers["location"].startswith("https://shop.example/ok")
    async with database(readonly=True) as uow:
        order = await uow.orders.get(page.rsplit("/", 1)[1])
        assert order is not None and order.id is not None
        kinds = [(op.kind.value, op.status) for op in await uow.operations.of_order(order.id)]
    assert kinds == [("100", OperationStatus.SUCCESS), ("500", OperationStatus.DECLINED)]


async def test_an_order_is_not_expired_while_its_points_are_reserved(
    points_gateway: Gateway, simulator: Simulator, database: Database, clock: ManualClock
) -> None:
    billnumber = (await order_page_of(points_gateway)).rsplit("/", 1)[1]

    async def die(points: Operation) -> PaymentStep:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await pay_with_points(billnumber, PART, die, points_gateway)
    clock.advance(hours=25)

    assert await janitor.expire_orders(points_gateway) == 0  # the points come first
    await janitor.sweep(points_gateway, stale_after=STALE)

    assert await balance(simulator) == (100000, 0)
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        assert order is not None and order.state is OrderState.DECLINED


async def test_points_beside_the_wallet_are_spent_once_the_buyer_is_back_from_it(
    points_gateway: Gateway, simulator: Simulator, database: Database
) -> None:
    wallet = FakeWallet()
    gateway = dataclasses.replace(points_gateway, wallet=wallet)
    await add_merchant(
        AddMerchant(
            "777888", "Wallet Shop", "wallet", "wallet-password", "salt",
            means=frozenset({PaymentMeans.WALLET, PaymentMeans.POINTS}),
            return_hosts=("shop.example",),
        ),
        gateway.uow_factory, actor=SETUP,
    )  # fmt: skip
    async with make_client(gateway) as client:
        page = await order_page(client, Merchant_ID="777888")
        form = (await client.get(page)).text
        token = re.search(r'name="token" value="([^"]+)"', form)
        assert token is not None and 'action="/pay/' in form and "/wallet" in form
        points = {"points": "100", "points_account": RICH, "points_pin": "1111"}
        went = await client.post(f"{page}/wallet", data={"token": token.group(1), **points})
        assert went.headers["location"].startswith("https://wallet.example/pay/")
        [(_, amount)] = wallet.created
        assert amount.minor == 20000 and await balance(simulator) == (100000, 100)

        [payment_id] = wallet.payments
        wallet.payments[payment_id] = WalletStatus.PAID
        back = await client.get(f"{wallet.returns[payment_id]}&payment={payment_id}")

    assert back.headers["location"].startswith("https://shop.example/ok")
    assert await balance(simulator) == (100000 - 100, 0)
    assert await payments(database, page) == [
        ("points", "success", 10000, "AS000"),
        ("wallet", "success", 20000, "AS000"),
    ]


async def test_after_settlement_a_cancel_refunds_the_money_and_gives_back_the_points(
    client: httpx.AsyncClient, points_gateway: Gateway, simulator: Simulator, database: Database
) -> None:
    page = await order_page(client)
    await pay(client, page)
    [batch] = await settle(points_gateway)
    assert [(m.debits, m.debit_total) for m in batch.merchants] == [(1, 20000)]  # no points

    await cancel(Cancel(page.rsplit("/", 1)[1]), SignedIn(SHOP), points_gateway)

    assert await balance(simulator) == (100000, 0)
    async with database(readonly=True) as uow:
        order = await uow.orders.get(page.rsplit("/", 1)[1])
        assert order is not None and order.id is not None
        exchanges = await uow.transactions.of_order(order.id)
    back = (TransactionKind.REFUND, TransactionKind.POINTS_GIVE_BACK, TransactionKind.REVERSAL)
    given = sorted((t.kind.value, t.amount.minor) for t in exchanges if t.kind in back)
    assert given == [("points_give_back", 10000), ("refund", 20000)]


async def test_data_the_shop_requires_is_asked_before_any_point_is_held(
    points_gateway: Gateway, simulator: Simulator, database: Database
) -> None:
    await add_merchant(
        AddMerchant(
            "555666", "Asking Shop", "asking", "asking-password", "salt",
            means=frozenset({PaymentMeans.CARD, PaymentMeans.POINTS}),
            required_fields=frozenset({BuyerField.EMAIL}), return_hosts=("shop.example",),
        ),
        points_gateway.uow_factory, actor=SETUP,
    )  # fmt: skip
    async with make_client(points_gateway) as client:
        page = await order_page(client, Merchant_ID="555666")
        asked = await pay(client, page)
        assert asked.status_code == 400 and "e-mail" in asked.text.lower()
        assert await payments(database, page) == []
        assert await balance(simulator) == (100000, 0)
        form = (await client.get(page)).text
        token = re.search(r'name="token" value="([^"]+)"', form)
        assert token is not None
        points = {"points": "100", "points_account": RICH, "points_pin": "1111"}
        data = card_form(token.group(1)) | points | {"email": "buyer@example.com"}
        paid = await client.post(f"{page}/card", data=data)
    assert paid.headers["location"].startswith("https://shop.example/ok")
