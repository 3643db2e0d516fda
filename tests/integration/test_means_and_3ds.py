"""Ways to pay, 3-D Secure and the e-wallet, over HTTP with fake issuers and a fake wallet
(the real simulated ones are used by the browser tests)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import httpx
import pytest

from ips.domain.merchants import BuyerField
from ips.domain.orders import PaymentMeans, TransactionKind
from ips.domain.responses import ResponseCode
from ips.domain.states import OrderState
from ips.processing.secure import AuthenticationStatus
from ips.processing.wallet import WalletStatus
from ips.services import janitor
from ips.services.cancellations import Cancel, cancel
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, SignedIn, add_merchant
from ips.services.settlement import settle
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP, make_client
from tests.fakes import FakeProcessingCenter, FakeThreeDSecure, FakeWallet, ManualClock
from tests.integration.test_http_payment import card_form

SHOP = "777777"
REQUEST = {
    "Merchant_ID": SHOP,
    "OrderNumber": "M-1",
    "OrderAmount": "100.00",
    "OrderCurrency": "RUB",
    "URL_RETURN_OK": "https://shop.example/ok",
    "URL_RETURN_NO": "https://shop.example/no",
}


@pytest.fixture
def secure() -> FakeThreeDSecure:
    return FakeThreeDSecure()


@pytest.fixture
def wallet() -> FakeWallet:
    return FakeWallet()


@pytest.fixture
def full(gateway: Gateway, secure: FakeThreeDSecure, wallet: FakeWallet) -> Gateway:
    return dataclasses.replace(gateway, secure=secure, wallet=wallet)


async def shop(gateway: Gateway, **settings: object) -> None:
    await add_merchant(
        AddMerchant(
            SHOP, "Means Shop", "means", "means-password", "salt",
            double_stage=True, return_hosts=("shop.example",), **settings,  # type: ignore[arg-type]
        ),
        gateway.uow_factory, actor=SETUP,
    )  # fmt: skip


@pytest.fixture
async def client(full: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(full) as http:
        yield http


async def order_page(client: httpx.AsyncClient, **params: str) -> str:
    created = await client.post("/pay/order.cfm", data={**REQUEST, **params})
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


async def token_of(client: httpx.AsyncClient, path: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', (await client.get(path)).text)
    assert found is not None, path
    return found.group(1)


async def state(database: Database, billnumber: str) -> OrderState:
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
    assert order is not None
    return order.state


def bill(page: str) -> str:
    return page.rsplit("/", 1)[1]


async def to_the_issuer(client: httpx.AsyncClient, page: str) -> str:
    """Pays with the 3-D Secure test card; returns where the issuer's page sends the buyer
    back (IPS's return, with its token bound to this browser)."""
    sent = await client.post(
        f"{page}/card", data=card_form(await token_of(client, page), "4000000000003220")
    )
    return parse_qs(urlsplit(sent.headers["location"]).query)["back"][0]


async def test_the_buyer_chooses_between_card_and_wallet(
    client: httpx.AsyncClient, full: Gateway
) -> None:
    await shop(full)
    page = await order_page(client)
    choice = (await client.get(page)).text
    assert f'action="/pay/{bill(page)}/choose"' in choice
    assert 'name="means" value="card"' in choice and 'name="means" value="wallet"' in choice
    assert "payerdenial=1" in choice  # the way back to the shop without paying


async def choose(client: httpx.AsyncClient, page: str, means: str, token: str = "") -> str:
    """Chooses ``means`` on the order's page; returns where the buyer is sent."""
    token = token or await token_of(client, page)
    chosen = await client.post(f"{page}/choose", data={"token": token, "means": means})
    assert chosen.status_code == 303, chosen.text
    return str(chosen.headers["location"])


async def payments_of(database: Database, billnumber: str) -> list[tuple[int, str, str]]:
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        assert order is not None and order.id is not None
        return [
            (op.number, op.means.value, op.status.value)
            for op in await uow.operations.of_order(order.id)
        ]


async def ask(client: httpx.AsyncClient, service: str) -> str:
    answer = await client.post(
        f"/{service}/{service}.cfm",
        data={"Merchant_ID": SHOP, "Login": "means", "Password": "means-password",
              "OrderNumber": REQUEST["OrderNumber"], "Format": "3"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_choosing_the_way_creates_the_payment_which_the_form_then_makes(
    client: httpx.AsyncClient, full: Gateway, database: Database
) -> None:
    await shop(full)
    page = await order_page(client)

    assert await choose(client, page, "wallet") == f"{page}/wallet"
    assert await payments_of(database, bill(page)) == [(1, "wallet", "in_process")]
    assert "<orderstate>In Process</orderstate>" in await ask(client, "orderstate")
    [operation] = ET.fromstring(await ask(client, "orderresult")).iter("operation")
    assert operation.findtext("operationtype") == "100"
    assert operation.findtext("responsecode") == "AS300"  # in process
    assert await choose(client, page, "card") == f"{page}/card"
    assert await choose(client, page, "card") == f"{page}/card"
    assert await payments_of(database, bill(page)) == [(1, "card", "in_process")]

    paid = await client.post(f"{page}/card", data=card_form(await token_of(client, page)))

    assert paid.headers["location"].startswith("https://shop.example/ok")
    assert await payments_of(database, bill(page)) == [(1, "card", "success")]


async def test_a_choice_of_no_offered_way_or_from_another_browser_makes_nothing(
    client: httpx.AsyncClient, full: Gateway, database: Database
) -> None:
    await shop(full)
    page = await order_page(client, YMPayment="0")
    async with make_client(full) as elsewhere:
        theirs = await token_of(elsewhere, page)

    assert await choose(client, page, "wallet") == page  # hidden by the request
    assert await choose(client, page, "cash") == page
    assert await choose(client, page, "card", token=theirs) == page
    assert await payments_of(database, bill(page)) == []


async def test_choices_after_a_decline_are_not_attempts(
    client: httpx.AsyncClient,
    full: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
) -> None:
    await shop(full, payment_attempts=2)
    fake_processing.outcomes["4000000000000002"] = ResponseCode.DECLINED
    page = await order_page(client)
    await choose(client, page, "card")
    token = await token_of(client, page)
    await client.post(f"{page}/card", data=card_form(token, "4000000000000002"))

    for means in ("wallet", "card", "wallet", "card"):
        await choose(client, page, means)

    assert await payments_of(database, bill(page)) == [
        (1, "card", "declined"),
        (2, "card", "in_process"),
    ]
    assert await state(database, bill(page)) is OrderState.IN_PROCESS
    form = (await client.get(f"{page}/card")).text
    assert "Attempts left: 1." in form  # the decline is still told, the choice took none
    paid = await client.post(f"{page}/card", data=card_form(await token_of(client, page)))
    assert paid.headers["location"].startswith("https://shop.example/ok")
    assert await payments_of(database, bill(page)) == [
        (1, "card", "declined"),
        (2, "card", "success"),
    ]


async def test_an_order_left_at_its_form_ends_with_its_payment(
    client: httpx.AsyncClient, full: Gateway, database: Database, clock: ManualClock
) -> None:
    await shop(full)
    page = await order_page(client)
    await choose(client, page, "wallet")

    clock.advance(hours=23)
    assert await janitor.expire_orders(full) == 0
    clock.advance(hours=2)
    assert await janitor.expire_orders(full) == 1

    assert await state(database, bill(page)) is OrderState.TIMEOUT
    assert await payments_of(database, bill(page)) == [(1, "wallet", "timeout")]
    assert (await client.get(page)).headers["location"] == f"/pay/{bill(page)}/result"


@pytest.mark.parametrize(
    ("params", "form"),
    [({"YMPayment": "0"}, "card"), ({"CardPayment": "0"}, "wallet"), ({"Delay": "1"}, "card")],
)
async def test_a_single_way_left_opens_at_once(
    client: httpx.AsyncClient, full: Gateway, params: dict[str, str], form: str
) -> None:
    await shop(full)
    page = await order_page(client, **params)
    assert f'action="/pay/{bill(page)}/{form}"' in (await client.get(page)).text


async def test_hiding_every_way_refuses_the_request(
    client: httpx.AsyncClient, full: Gateway
) -> None:
    await shop(full, means=frozenset({PaymentMeans.WALLET}))
    refused = await client.post("/pay/order.cfm", data={**REQUEST, "YMPayment": "0"})
    assert refused.status_code == 409 or refused.status_code == 400
    assert "no way to pay" in refused.text


async def test_3ds_passed_then_authorized_with_the_cavv(
    client: httpx.AsyncClient,
    full: Gateway,
    database: Database,
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
) -> None:
    await shop(full)
    page = await order_page(client, YMPayment="0")
    sent = await client.post(
        f"{page}/card", data=card_form(await token_of(client, page), "4000000000003220")
    )
    acs = urlsplit(sent.headers["location"])
    assert acs.netloc == "acs.example" and fake_processing.authorizations == []
    back = parse_qs(acs.query)["back"][0]
    assert back.startswith(f"http://ips.test/pay/{bill(page)}/3ds?token=")

    secure.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
    returned = await client.get(f"{back}&transaction=acs-1")
    assert returned.headers["location"].startswith("https://shop.example/ok?")
    [authorization] = fake_processing.authorizations
    assert authorization.cavv == "cavv-acs-1"
    assert authorization.card.cvc is not None and authorization.card.cvc.reveal() == "123"
    assert await state(database, bill(page)) is OrderState.APPROVED


async def test_3ds_failed_declines_with_as110_and_authorizes_nothing(
    client: httpx.AsyncClient,
    full: Gateway,
    database: Database,
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
) -> None:
    await shop(full)
    page = await order_page(client, YMPayment="0")
    back = await to_the_issuer(client, page)
    secure.outcomes["acs-1"] = AuthenticationStatus.FAILED
    returned = await client.get(f"{back}&transaction=acs-1")
    assert returned.headers["location"] == page
    assert fake_processing.authorizations == []
    assert await state(database, bill(page)) is OrderState.DECLINED
    result = await client.get(f"/pay/{bill(page)}/result")
    assert "Payment declined" in result.text and "confirmed by the bank" in result.text


async def test_a_pending_check_waits_and_two_returns_authorize_once(
    client: httpx.AsyncClient,
    full: Gateway,
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
) -> None:
    await shop(full)
    page = await order_page(client, YMPayment="0")
    back = await to_the_issuer(client, page)
    waiting = await client.get(f"{back}&transaction=acs-1")
    assert waiting.headers["location"] == f"/pay/{bill(page)}/result"
    assert "Please wait" in (await client.get(waiting.headers["location"])).text
    secure.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
    await asyncio.gather(*(client.get(f"{back}&transaction=acs-1") for _ in range(3)))
    assert len(fake_processing.authorizations) == 1


async def test_a_return_to_another_browser_waits_for_the_buyer_to_continue(
    client: httpx.AsyncClient,
    full: Gateway,
    database: Database,
    secure: FakeThreeDSecure,
    fake_processing: FakeProcessingCenter,
) -> None:
    """A return without this browser's token — another site's link, or the bank's app opening
    it in another browser — does nothing until the buyer presses Continue there."""
    await shop(full)
    page = await order_page(client, YMPayment="0")
    back = await to_the_issuer(client, page)
    secure.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
    async with make_client(full) as other:
        asked = await other.get(f"{back}&transaction=acs-1")
        assert asked.status_code == 200 and "Finish the payment" in asked.text
        assert fake_processing.authorizations == []
        forged = await other.post(f"/pay/{bill(page)}/3ds", data={"transaction": "acs-1"})
        assert forged.status_code == 403 and fake_processing.authorizations == []
        token = re.search(r'name="token" value="([^"]+)"', asked.text)
        assert token is not None and 'name="transaction" value="acs-1"' in asked.text
        went_on = await other.post(
            f"/pay/{bill(page)}/3ds", data={"token": token.group(1), "transaction": "acs-1"}
        )
    assert went_on.headers["location"].startswith("https://shop.example/ok?")
    assert await state(database, bill(page)) is OrderState.APPROVED


async def test_a_form_sent_from_another_browser_pays_nothing(
    client: httpx.AsyncClient, full: Gateway, database: Database
) -> None:
    """The card form's token is good only with the cookie of the browser it was given to."""
    await shop(full)
    page = await order_page(client, YMPayment="0")
    token = await token_of(client, page)
    async with make_client(full) as other:
        sent = await other.post(f"{page}/card", data=card_form(token))
    assert sent.status_code == 400 and "The page has expired" in sent.text
    assert await state(database, bill(page)) is OrderState.IN_PROCESS
    assert (await client.post(f"{page}/card", data=card_form(token))).status_code == 303


async def test_an_abandoned_check_is_declined_by_the_janitor(
    client: httpx.AsyncClient,
    full: Gateway,
    database: Database,
    clock: ManualClock,
    fake_processing: FakeProcessingCenter,
) -> None:
    await shop(full)
    page = await order_page(client, YMPayment="0")
    await to_the_issuer(client, page)
    clock.advance(minutes=5)
    await janitor.sweep(full, stale_after=timedelta(minutes=1))
    assert await state(database, bill(page)) is OrderState.IN_PROCESS
    clock.advance(minutes=15)
    await janitor.sweep(full, stale_after=timedelta(minutes=1))
    assert await state(database, bill(page)) is OrderState.DECLINED
    assert fake_processing.authorizations == []


@pytest.mark.parametrize(
    ("settings", "params", "enrolled_checked", "outcome"),
    [
        ({"require_3ds": True}, {}, True, OrderState.DECLINED),  # 4111 is not enrolled
        ({"allow_disable_3ds": True}, {"Disable3DS": "1"}, False, OrderState.APPROVED),
        ({}, {"Disable3DS": "1"}, True, OrderState.APPROVED),  # not allowed: checked anyway
    ],
)
async def test_the_merchant_decides_on_3ds(
    client: httpx.AsyncClient,
    full: Gateway,
    database: Database,
    secure: FakeThreeDSecure,
    settings: dict[str, bool],
    params: dict[str, str],
    enrolled_checked: bool,
    outcome: OrderState,
) -> None:
    await shop(full, **settings)
    secure.silent = not enrolled_checked  # an enrollment call would fail the payment
    page = await order_page(client, YMPayment="0", **params)
    await client.post(f"{page}/card", data=card_form(await token_of(client, page)))
    assert await state(database, bill(page)) is outcome


async def test_no_answer_from_the_directory_declines(
    client: httpx.AsyncClient, full: Gateway, database: Database, secure: FakeThreeDSecure
) -> None:
    await shop(full)
    secure.silent = True
    page = await order_page(client, YMPayment="0")
    sent = await client.post(f"{page}/card", data=card_form(await token_of(client, page)))
    assert sent.headers["location"] == page
    assert await state(database, bill(page)) is OrderState.DECLINED


@pytest.mark.parametrize(
    ("require_3ds", "outcome", "kinds"),
    [
        (False, OrderState.APPROVED, [TransactionKind.AUTHORIZATION, TransactionKind.FINANCIAL]),
        (True, OrderState.DECLINED, [TransactionKind.AUTHENTICATION]),
    ],
)
async def test_a_card_outside_every_card_range_goes_to_its_authorization_without_a_check(
    client: httpx.AsyncClient,
    full: Gateway,
    database: Database,
    secure: FakeThreeDSecure,
    require_3ds: bool,
    outcome: OrderState,
    kinds: list[TransactionKind],
) -> None:
    """The directory publishes ranges holding only the 3-D Secure card: another card is not
    asked about (an enrollment call would fail the payment); its payment opens with the
    authorization — unless the merchant requires 3-D Secure, whose check it then fails."""
    await shop(full, require_3ds=require_3ds)
    secure.ranges, secure.silent = {"4000000000003220"}, True
    page = await order_page(client, YMPayment="0")
    await client.post(f"{page}/card", data=card_form(await token_of(client, page)))
    assert await state(database, bill(page)) is outcome
    async with database(readonly=True) as uow:
        order = await uow.orders.get(bill(page))
        assert order is not None and order.id is not None
        exchanges = await uow.transactions.of_order(order.id)
    assert [t.kind for t in exchanges] == kinds


async def test_the_wallet_pays_and_a_cancel_refunds_at_the_wallet(
    client: httpx.AsyncClient,
    full: Gateway,
    database: Database,
    wallet: FakeWallet,
    fake_processing: FakeProcessingCenter,
) -> None:
    await shop(full)
    page = await order_page(client, CardPayment="0")
    token = await token_of(client, page)
    went = await client.post(f"{page}/wallet", data={"token": token})
    assert went.headers["location"].startswith("https://wallet.example/pay/w-ips-")
    [(_, amount)] = wallet.created
    assert amount.minor == 10000

    [payment_id] = wallet.payments
    back = wallet.returns[payment_id]
    assert back.startswith(f"http://ips.test/pay/{bill(page)}/wallet/return?token=")
    pending = await client.get(f"{back}&payment={payment_id}")
    assert pending.headers["location"].endswith("/result")
    wallet.payments[payment_id] = WalletStatus.PAID
    async with make_client(full) as other:
        asked = await other.get(f"{back}&payment={payment_id}")
    assert "Finish the payment" in asked.text
    assert await state(database, bill(page)) is OrderState.IN_PROCESS
    paid = await client.get(f"{back}&payment={payment_id}")
    assert paid.headers["location"].startswith("https://shop.example/ok?")
    assert await state(database, bill(page)) is OrderState.APPROVED

    result = await cancel(Cancel(bill(page), "40.00", "RUB"), SignedIn(SHOP), full)
    assert result.order.state is OrderState.PARTIAL_CANCELED
    assert list(wallet.refunds.values()) == [4000]
    assert fake_processing.reversals == [] and fake_processing.authorizations == []
    assert await settle(full) == []  # the wallet settles its own money


async def test_a_wallet_payment_left_at_the_provider_is_settled_by_the_janitor(
    client: httpx.AsyncClient, full: Gateway, database: Database, wallet: FakeWallet,
    clock: ManualClock,
) -> None:  # fmt: skip
    await shop(full)
    page = await order_page(client, CardPayment="0")
    await client.post(f"{page}/wallet", data={"token": await token_of(client, page)})
    [payment_id] = wallet.payments
    wallet.payments[payment_id] = WalletStatus.DECLINED
    clock.advance(minutes=2)
    await janitor.sweep(full, stale_after=timedelta(minutes=1))
    assert await state(database, bill(page)) is OrderState.DECLINED


async def test_a_wallet_payment_never_finished_is_cancelled_at_the_provider_when_time_is_up(
    client: httpx.AsyncClient, full: Gateway, database: Database, wallet: FakeWallet,
    clock: ManualClock,
) -> None:  # fmt: skip
    """The buyer left the wallet's page: the payment stays pending there, and the janitor
    waits for it — until the order's lifetime is over; then it cancels it at the provider and
    the order ends, its number free again."""
    await shop(full)
    page = await order_page(client, CardPayment="0")
    await client.post(f"{page}/wallet", data={"token": await token_of(client, page)})
    [payment_id] = wallet.payments
    clock.advance(hours=23)
    await janitor.sweep(full, stale_after=timedelta(minutes=1))
    assert wallet.payments[payment_id] is WalletStatus.PENDING
    assert await state(database, bill(page)) is OrderState.IN_PROCESS
    clock.advance(hours=2)
    await janitor.sweep(full, stale_after=timedelta(minutes=1))
    await janitor.expire_orders(full)
    assert wallet.payments[payment_id] is WalletStatus.DECLINED
    assert await state(database, bill(page)) is OrderState.DECLINED
    assert (await client.post("/pay/order.cfm", data=REQUEST)).status_code == 303


async def test_required_buyer_data_is_asked_and_kept(
    client: httpx.AsyncClient, full: Gateway, database: Database
) -> None:
    await shop(full, required_fields=frozenset({BuyerField.EMAIL, BuyerField.PHONE}))
    page = await order_page(client, YMPayment="0", Email="buyer@example.com")
    form = (await client.get(page)).text
    assert 'name="phone"' in form and 'name="email"' not in form
    token = await token_of(client, page)
    missing = await client.post(f"{page}/card", data=card_form(token))
    assert missing.status_code == 400 and "mobile phone" in missing.text
    done = await client.post(f"{page}/card", data=card_form(token) | {"phone": "+79001234567"})
    assert done.status_code == 303
    async with database(readonly=True) as uow:
        order = await uow.orders.get(bill(page))
    assert order is not None and order.buyer.mobile_phone == "+79001234567"
    assert order.buyer.email == "buyer@example.com"


async def test_pages_follow_the_language(client: httpx.AsyncClient, full: Gateway) -> None:
    await shop(full)
    russian = await client.get(await order_page(client, Language="RU"))
    assert 'lang="ru"' in russian.text and "Как вы хотите оплатить?" in russian.text
    assert "100,00\u00a0RUB" in russian.text
    english = await client.get(await order_page(client, OrderNumber="M-2"))
    assert 'lang="en"' in english.text and "How would you like to pay?" in english.text
    browser = await client.get(
        await order_page(client, OrderNumber="M-3"), headers={"Accept-Language": "ru,en;q=0.5"}
    )
    assert 'lang="ru"' in browser.text
