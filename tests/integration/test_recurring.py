"""Recurring payments: a first order agrees the terms; the shop charges its card again — the
card kept for them when the first order was paid, until it expires or the terms end."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy import func, select, update

from ips.crypto.keyring import KeyRing
from ips.domain.acquirers import Rules
from ips.domain.errors import Refused
from ips.domain.kept_cards import KeptCard
from ips.services import janitor
from ips.services.gateway import Gateway
from ips.services.merchants import Credentials, add_merchant
from ips.services.recurring import RecurringPayment, pay_recurring
from ips.storage.migrate import migrate
from ips.storage.tables import kept_cards, operations
from ips.storage.unit_of_work import Database
from tests.conftest import MERCHANT, SETUP, RealProcessing, make_client
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_http_payment import REQUEST, card_form
from tests.integration.test_kept_cards import card_page, kept_ids, signed_request, token
from tests.racing import ONE_AND_TWO_NODES, browser, nodes

AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password", "Format": "3"}
TERMS = {
    "RecurringIndicator": "1",
    "RecurringMinAmount": "10.00",
    "RecurringMaxAmount": "200.00",
    "RecurringPeriod": "30",
    "RecurringMaxDate": "31.12.2099",
}


async def first_payment(client: httpx.AsyncClient, **terms: str) -> str:
    """The buyer pays a first order that sets up recurring payments; its billnumber."""
    created = await client.post("/pay/order.cfm", data={**REQUEST, **TERMS, **terms})
    assert created.status_code == 303, created.text
    card_page = created.headers["location"]
    page = (await client.get(card_page)).text
    token = page.split('name="token" value="')[1].split('"')[0]
    paid = await client.post(f"{card_page}/card", data=card_form(token))
    assert "/ok?" in paid.headers["location"]
    return card_page.rsplit("/", 1)[1]


async def rp(client: httpx.AsyncClient, **params: str) -> ET.Element:
    return ET.fromstring((await client.post("/recurrent/rp.cfm", data={**AUTH, **params})).content)


def first_order(result: ET.Element) -> dict[str, str]:
    found = result.find("orders/order")
    assert found is not None, ET.tostring(result)
    return {child.tag: child.text or "" for child in found}


def codes(result: ET.Element) -> tuple[str, str]:
    return result.attrib["firstcode"], result.attrib["secondcode"]


async def test_the_shop_charges_the_stored_card_within_the_terms(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> None:
    bill = await first_payment(client)
    result = await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="150", Currency="RUB")
    assert codes(result) == ("0", "0")
    order = first_order(result)
    assert order["orderstate"] == "Approved" and order["amount"] == "150.00"
    assert order["operationtype"] == "100" and order["ordernumber"] == "R-1"
    assert order["meannumber"] == "411111****1111"

    first, again = fake_processing.authorizations
    assert again.recurring and not first.recurring
    assert again.card.cvc is None and again.card.pan == first.card.pan

    too_soon = await rp(client, Billnumber=bill, OrderNumber="R-2", Amount="20.00")
    assert codes(too_soon) == ("15", "320")
    clock.advance(days=30)
    assert codes(await rp(client, Billnumber=bill, OrderNumber="R-2", Amount="20.00")) == (
        "0",
        "0",
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"Amount": "9.99"}, ("17", "108")),
        ({"Amount": "200.01"}, ("17", "108")),
        ({"Amount": "50.00", "Currency": "USD"}, ("5", "105")),
        ({"Amount": ""}, ("3", "108")),
        ({"OrderNumber": ""}, ("3", "107")),
        ({"Billnumber": "1234567890123456"}, ("10", "143")),
    ],
)
async def test_payments_outside_the_terms_are_refused(
    client: httpx.AsyncClient,
    fake_processing: FakeProcessingCenter,
    params: dict[str, str],
    expected: tuple[str, str],
) -> None:
    bill = await first_payment(client)
    request = {"Billnumber": bill, "OrderNumber": "R-1", "Amount": "50.00"} | params
    assert codes(await rp(client, **request)) == expected
    assert len(fake_processing.authorizations) == 1


async def test_an_order_without_terms_cannot_be_charged_again(client: httpx.AsyncClient) -> None:
    created = await client.post("/pay/order.cfm", data=REQUEST)
    bill = created.headers["location"].rsplit("/", 1)[1]
    assert codes(await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="50")) == (
        "15",
        "143",
    )


async def test_the_terms_end_on_their_last_day(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    last_day = clock.now.strftime("%d.%m.%Y")
    bill = await first_payment(client, RecurringMaxDate=last_day)
    clock.advance(days=1)
    assert codes(await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="50")) == (
        "15",
        "320",
    )


@pytest.mark.parametrize(
    "terms",
    [
        {"RecurringMinAmount": ""},
        {"RecurringMinAmount": "300.00"},
        {"RecurringPeriod": "0"},
        {"RecurringPeriod": "x"},
        {"RecurringMaxDate": "2099-12-31"},
        {"RecurringMaxDate": "01.01.2000"},
    ],
)
async def test_wrong_terms_are_refused_with_the_payment_request(
    client: httpx.AsyncClient, terms: dict[str, str]
) -> None:
    response = await client.post("/pay/order.cfm", data={**REQUEST, **TERMS, **terms})
    assert response.status_code == 400 and "Recurring" in response.text


async def test_the_simulator_takes_a_stored_card_without_cvc(
    database: Database, real_processing: RealProcessing
) -> None:
    gateway = Gateway(database, real_processing.client, database.keyring)
    await add_merchant(MERCHANT, database, actor=SETUP)
    async with make_client(gateway) as client:
        bill = await first_payment(client)
    result = await pay_recurring(
        RecurringPayment(bill, "R-1", "99.00"), Credentials("111111", "shop", "shop-password"),
        gateway,
    )  # fmt: skip
    assert result.order.state.value == "Approved"
    holds = await real_processing.simulator.ledger.holds()
    assert sorted(h.amount.minor for h in holds) == [9900, 10000]


@ONE_AND_TWO_NODES
async def test_two_charges_at_once_pass_the_period_once(
    postgres_url: str, keyring: KeyRing, fake_processing: FakeProcessingCenter, node_count: int
) -> None:
    async with nodes(postgres_url, keyring, node_count, fake_processing) as gateways:
        await add_merchant(MERCHANT, gateways[0].uow_factory, actor=SETUP)
        async with browser(gateways) as client:
            bill = await first_payment(client)
            answers = await asyncio.gather(
                *(rp(client, Billnumber=bill, OrderNumber=f"R-{n}", Amount="50") for n in range(6))
            )
    assert sorted(codes(a) for a in answers) == [("0", "0")] + [("15", "320")] * 5


async def test_a_declined_charge_does_not_count_and_json_is_flat_under_rp(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter
) -> None:
    from ips.domain.responses import ResponseCode

    bill = await first_payment(client)
    fake_processing.outcomes["4111111111111111"] = ResponseCode.INSUFFICIENT_FUNDS
    declined = await client.post(
        "/recurrent/rp.cfm",
        data={**AUTH, "Format": "5", "Billnumber": bill, "OrderNumber": "R-1", "Amount": "50"},
    )
    assert declined.json()["rp"]["orderstate"] == "Declined"
    assert declined.json()["rp"]["responsecode"] == "AS102"
    del fake_processing.outcomes["4111111111111111"]
    again = await client.post(
        "/recurrent/rp.cfm",
        data={**AUTH, "Format": "5", "Billnumber": bill, "OrderNumber": "R-1", "Amount": "50"},
    )
    assert again.json()["rp"]["orderstate"] == "Approved"


async def test_delay_1_holds_the_recurring_payment_where_stored_cards_may_be_held(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, database: Database
) -> None:
    bill = await first_payment(client)

    result = await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="150", Delay="1")

    assert codes(result) == ("0", "0")
    order = first_order(result)
    assert order["orderstate"] == "Delayed" and order["amount"] == "150.00"
    assert fake_processing.authorizations[-1].recurring
    assert fake_processing.authorizations[-1].double_stage  # a pre-authorization (field 25)
    assert not fake_processing.authorizations[0].double_stage  # the first order's: Delay 0
    async with database(readonly=True) as uow:
        held = await uow.orders.get(order["billnumber"].split(".")[0])
        assert held is not None and held.id is not None and held.books is not None
        kinds = [t.kind.value for t in await uow.transactions.of_order(held.id)]
    assert (held.books.held, held.books.confirmed) == (15000, 0)
    assert kinds == ["authorization"]  # nothing to settle until the shop confirms


@pytest.mark.parametrize(
    ("delay", "stored_card_double_stage", "expected"),
    [("1", False, ("15", "109")), ("2", True, ("4", "109"))],
)
async def test_delay_1_is_refused_before_any_money_moves_where_it_may_not_be_held(
    gateway: Gateway,
    merchant: object,
    fake_processing: FakeProcessingCenter,
    database: Database,
    delay: str,
    stored_card_double_stage: bool,
    expected: tuple[str, str],
) -> None:
    rules = Rules(stored_card_double_stage=stored_card_double_stage)
    async with make_client(dataclasses.replace(gateway, rules=rules)) as client:
        bill = await first_payment(client)
        result = await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="150", Delay=delay)

    assert codes(result) == expected
    assert len(fake_processing.authorizations) == 1  # the first order's alone
    async with database(readonly=True) as uow:
        assert (
            await uow.orders.of_ordernumber(
                "111111", "R-1", datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
            )
            == []
        )


async def recurring_card(database: Database, bill: str) -> KeptCard | None:
    async with database(readonly=True) as uow:
        first = await uow.orders.get(bill)
        assert first is not None and first.id is not None
        return await uow.kept_cards.for_recurring(first.id)


async def test_the_first_order_s_card_is_kept_for_its_recurring_payments_and_charged_from_there(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, database: Database
) -> None:
    bill = await first_payment(client, RecurringMaxDate="15.06.2099")

    async with database.engine.connect() as conn:
        [row] = (await conn.execute(select(kept_cards))).all()
    async with database(readonly=True) as uow:
        first = await uow.orders.get(bill)
    assert first is not None
    assert (row.recurring_order_id, row.customer_number, row.pan_mac) == (first.id, None, None)
    assert (row.masked_pan, row.card_expiry, row.valid_until) == (
        "411111****1111",
        "12/2099",
        date(2099, 6, 16),  # the day after the terms' last: before the card's own end
    )
    assert "4111111111111111" not in row.sealed_pan
    async with database.engine.begin() as conn:  # the payment's copy is not what is charged
        await conn.execute(
            update(operations).where(operations.c.order_id == first.id).values(sealed_pan=None)
        )

    result = await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="150")

    assert codes(result) == ("0", "0") and first_order(result)["orderstate"] == "Approved"
    paid, again = fake_processing.authorizations
    assert again.recurring and again.card.pan == paid.card.pan and again.card.cvc is None
    assert again.card.expiry == paid.card.expiry and again.card.holder == "IVAN PETROV"


async def test_a_card_kept_for_recurring_payments_is_not_the_buyer_s_to_choose_nor_remove(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, database: Database
) -> None:
    page, html = await card_page(client, signed_request("F-1", "C-1", **TERMS))
    paid = await client.post(f"{page}/card", data=card_form(token(html)))  # no box ticked
    assert paid.headers["location"].startswith("https://shop.example/ok?")
    bill = page.rsplit("/", 1)[1]
    kept = await recurring_card(database, bill)
    assert kept is not None and kept.customer_number is None

    page, html = await card_page(client, signed_request("K-1", "C-1"))
    assert kept_ids(html) == []  # not offered to the customer whose order kept it
    removed = await client.post(f"{page}/kept/{kept.id}/remove", data={"token": token(html)})
    assert removed.status_code == 404
    taken = await client.post(
        f"{page}/card", data={"token": token(html), "kept_card": str(kept.id), "cvc": "321"}
    )
    assert taken.status_code == 404
    assert len(fake_processing.authorizations) == 1
    assert await recurring_card(database, bill) == kept


async def test_a_first_order_whose_buyer_keeps_the_card_keeps_it_twice(
    client: httpx.AsyncClient, database: Database
) -> None:
    page, html = await card_page(client, signed_request("F-1", "C-1", **TERMS))
    paid = await client.post(f"{page}/card", data=card_form(token(html)) | {"keep_card": "1"})
    assert paid.status_code == 303
    bill = page.rsplit("/", 1)[1]
    async with database.engine.connect() as conn:
        rows = (await conn.execute(select(kept_cards).order_by(kept_cards.c.id))).all()
    assert sorted((r.customer_number or "", r.recurring_order_id is not None) for r in rows) == [
        ("", True),
        ("C-1", False),
    ]
    customers = next(r.id for r in rows if r.customer_number == "C-1")

    page, html = await card_page(client, signed_request("K-1", "C-1"))

    assert kept_ids(html) == [str(customers)]  # the customer's alone
    removed = await client.post(f"{page}/kept/{customers}/remove", data={"token": token(html)})
    assert removed.status_code == 303
    assert await recurring_card(database, bill) is not None  # the shop's stays


async def test_the_janitor_deletes_the_recurring_card_once_the_terms_ended(
    client: httpx.AsyncClient, gateway: Gateway, database: Database, clock: ManualClock
) -> None:
    clock.now = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)
    bill = await first_payment(client, RecurringMaxDate="12.03.2030")

    clock.advance(days=2)  # 12 March, the terms' last day
    await janitor.sweep(gateway, stale_after=timedelta(seconds=30))
    assert await recurring_card(database, bill) is not None
    clock.advance(days=1)
    await janitor.sweep(gateway, stale_after=timedelta(seconds=30))

    assert await recurring_card(database, bill) is None
    assert codes(await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="50")) == (
        "15",
        "320",
    )


async def test_a_recurring_payment_on_a_card_no_longer_kept_is_refused_before_anything_moves(
    client: httpx.AsyncClient,
    gateway: Gateway,
    fake_processing: FakeProcessingCenter,
    database: Database,
    clock: ManualClock,
) -> None:
    clock.now = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)
    created = await client.post("/pay/order.cfm", data={**REQUEST, **TERMS})
    card_page_url = created.headers["location"]
    html = (await client.get(card_page_url)).text
    form = card_form(token(html), exp_month="03", exp_year="2030")  # expires with March
    assert "/ok?" in (await client.post(f"{card_page_url}/card", data=form)).headers["location"]
    bill = card_page_url.rsplit("/", 1)[1]
    assert codes(await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="50")) == ("0", "0")

    clock.advance(days=35)  # 14 April: the card expired; the terms run on
    refused = await rp(client, Billnumber=bill, OrderNumber="R-2", Amount="50")
    assert codes(refused) == ("15", "320")  # expired, not yet purged
    await janitor.sweep(gateway, stale_after=timedelta(seconds=30))
    assert await recurring_card(database, bill) is None
    with pytest.raises(Refused, match="no longer kept for recurring payments"):
        await pay_recurring(
            RecurringPayment(bill, "R-3", "50"), Credentials("111111", "shop", "shop-password"),
            gateway,
        )  # fmt: skip
    assert codes(await rp(client, Billnumber=bill, OrderNumber="R-4", Amount="50")) == (
        "15",
        "320",
    )
    assert len(fake_processing.authorizations) == 2  # the first order's and R-1's
    async with database(readonly=True) as uow:
        never = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
        assert await uow.orders.of_ordernumber("111111", "R-2", *never) == []


async def test_a_first_order_not_paid_cannot_be_charged(client: httpx.AsyncClient) -> None:
    created = await client.post("/pay/order.cfm", data={**REQUEST, **TERMS})
    bill = created.headers["location"].rsplit("/", 1)[1]
    assert codes(await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="50")) == (
        "15",
        "143",
    )


async def test_a_first_order_paid_before_the_cards_were_kept_is_charged_after_0016(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, database: Database
) -> None:
    """Revision 0015 kept no card for recurring payments: 0016 keeps the first orders' from
    their payment, sealed as it was, and the shop charges it as before."""
    bill = await first_payment(client)
    before = await recurring_card(database, bill)
    await migrate(database.engine, "0015", down=True)  # its card as 0015 had it: none
    async with database.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(kept_cards))).scalar() == 0

    await migrate(database.engine, "head")

    after = await recurring_card(database, bill)
    assert before is not None and after is not None
    assert (after.sealed_pan, after.card, after.valid_until, after.recurring_order_id) == (
        before.sealed_pan,
        before.card,
        before.valid_until,
        before.recurring_order_id,
    )
    assert codes(await rp(client, Billnumber=bill, OrderNumber="R-1", Amount="50")) == ("0", "0")
    paid, again = fake_processing.authorizations
    assert again.card.pan == paid.card.pan
