"""Cards kept for a shop's customer (issue 13): kept with the buyer's consent once paid,
offered on the customer's next order, paid with by the CVC alone, removed; never offered to
another customer or shop, nor for a customer number the checkvalue does not cover."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from ips.domain.acquirers import Rules
from ips.domain.cards import Brand
from ips.domain.kept_cards import KeptCard
from ips.domain.orders import CardSummary
from ips.domain.signed_fields import payment_request_checkvalue
from ips.domain.states import OrderState
from ips.services import janitor
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, add_merchant
from ips.storage.tables import kept_cards
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP, make_client
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_http_payment import card_form

CARD = "4111111111111111"


def signed_request(ordernumber: str, customer: str, **extra: str) -> dict[str, str]:
    fields = {
        "merchant_id": extra.pop("Merchant_ID", "111111"),
        "ordernumber": ordernumber,
        "orderamount": "100.00",
        "ordercurrency": "RUB",
        "customernumber": customer,
    }
    return {
        "Merchant_ID": fields["merchant_id"],
        "OrderNumber": ordernumber,
        "OrderAmount": "100.00",
        "OrderCurrency": "RUB",
        "CustomerNumber": customer,
        "Checkvalue": payment_request_checkvalue(extra.pop("secret", "secret"), fields),
        "URL_RETURN_OK": "https://shop.example/ok",
        "URL_RETURN_NO": "https://shop.example/no",
        **extra,
    }


async def card_page(client: httpx.AsyncClient, request: dict[str, str]) -> tuple[str, str]:
    created = await client.post("/pay/order.cfm", data=request)
    assert created.status_code == 303, created.text
    page = created.headers["location"]
    shown = await client.get(f"{page}/card")
    return page, shown.text


def token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def kept_ids(html: str) -> list[str]:
    return re.findall(r'name="kept_card" value="(\d+)"', html)


async def pay_and_keep(client: httpx.AsyncClient, ordernumber: str, customer: str) -> None:
    page, html = await card_page(client, signed_request(ordernumber, customer))
    assert 'name="keep_card"' in html and not kept_ids(html)
    paid = await client.post(f"{page}/card", data=card_form(token(html), CARD) | {"keep_card": "1"})
    assert paid.headers["location"].startswith("https://shop.example/ok?")


async def test_a_card_kept_for_a_customer_pays_the_next_order_by_its_cvc(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, database: Database
) -> None:
    await pay_and_keep(client, "K-1", "C-1")
    async with database.engine.connect() as conn:
        [row] = (await conn.execute(select(kept_cards))).all()
    assert (row.customer_number, row.masked_pan, row.card_expiry) == (
        "C-1",
        "411111****1111",
        "12/2099",
    )
    assert CARD not in row.sealed_pan and CARD not in row.pan_mac

    page, html = await card_page(client, signed_request("K-2", "C-1"))
    [kept] = kept_ids(html)
    assert "411111****1111" in html and CARD not in html
    paid = await client.post(
        f"{page}/card", data={"token": token(html), "kept_card": kept, "cvc": "321"}
    )

    assert paid.headers["location"].startswith("https://shop.example/ok?")
    first, again = fake_processing.authorizations
    assert again.card.pan == first.card.pan and again.card.cvc is not None
    assert again.card.cvc.reveal() == "321" and not again.recurring
    late = await client.post(f"{page}/kept/{kept}/remove", data={"token": token(html)})
    assert late.status_code == 409  # the page of a paid order removes nothing
    async with database.engine.connect() as conn:
        assert len((await conn.execute(select(kept_cards))).all()) == 1


async def test_the_same_card_is_kept_once_and_only_when_the_buyer_asks(
    client: httpx.AsyncClient, database: Database
) -> None:
    await pay_and_keep(client, "K-1", "C-1")
    await pay_and_keep(client, "K-2", "C-2")
    page, html = await card_page(client, signed_request("K-3", "C-1"))
    assert len(kept_ids(html)) == 1
    paid = await client.post(f"{page}/card", data=card_form(token(html), CARD) | {"keep_card": "1"})
    assert paid.status_code == 303
    page, html = await card_page(client, signed_request("K-4", "C-3"))
    await client.post(f"{page}/card", data=card_form(token(html), CARD))  # no consent

    async with database.engine.connect() as conn:
        rows = (await conn.execute(select(kept_cards.c.customer_number))).scalars().all()
    assert sorted(rows) == ["C-1", "C-2"]


async def test_a_removed_card_is_no_longer_offered_nor_taken(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter
) -> None:
    await pay_and_keep(client, "K-1", "C-1")
    page, html = await card_page(client, signed_request("K-2", "C-1"))
    [kept] = kept_ids(html)

    removed = await client.post(f"{page}/kept/{kept}/remove", data={"token": token(html)})

    assert removed.headers["location"] == f"{page}/card"
    html = (await client.get(f"{page}/card")).text
    assert kept_ids(html) == []
    refused = await client.post(
        f"{page}/card", data={"token": token(html), "kept_card": kept, "cvc": "321"}
    )
    assert refused.status_code == 404
    assert len(fake_processing.authorizations) == 1


async def test_no_card_of_another_customer_or_shop_nor_for_an_unsigned_customer(
    gateway: Gateway,
    client: httpx.AsyncClient,
    fake_processing: FakeProcessingCenter,
    database: Database,
) -> None:
    await add_merchant(
        AddMerchant("222222", "Other", "other", "other-password", "other-secret",
                    return_hosts=("shop.example",)),
        gateway.uow_factory, actor=SETUP,
    )  # fmt: skip
    await pay_and_keep(client, "K-1", "C-1")
    async with database.engine.connect() as conn:
        kept = str((await conn.execute(select(kept_cards.c.id))).scalar_one())

    other_customer, html = await card_page(client, signed_request("K-2", "C-2"))
    other_shop, html2 = await card_page(
        client, signed_request("K-3", "C-1", Merchant_ID="222222", secret="other-secret")
    )
    unsigned = {**signed_request("K-4", "C-1")}
    del unsigned["Checkvalue"]
    not_signed, html3 = await card_page(client, unsigned)

    for page, shown in ((other_customer, html), (other_shop, html2), (not_signed, html3)):
        assert kept_ids(shown) == []
        taken = await client.post(
            f"{page}/card", data={"token": token(shown), "kept_card": kept, "cvc": "321"}
        )
        assert taken.status_code == 404, page
        removed = await client.post(f"{page}/kept/{kept}/remove", data={"token": token(shown)})
        assert removed.status_code == 404, page
    assert 'name="keep_card"' not in html3  # an unsigned customer keeps nothing
    assert len(fake_processing.authorizations) == 1


@pytest.mark.parametrize(("stored_card_double_stage", "held"), [(True, True), (False, False)])
async def test_a_double_stage_order_on_a_kept_card_follows_the_processing_center_s_rule(
    gateway: Gateway,
    merchant: object,
    fake_processing: FakeProcessingCenter,
    database: Database,
    stored_card_double_stage: bool,
    held: bool,
) -> None:
    rules = Rules(stored_card_double_stage=stored_card_double_stage)
    async with make_client(dataclasses.replace(gateway, rules=rules)) as client:
        await pay_and_keep(client, "K-1", "C-1")
        page, html = await card_page(client, signed_request("K-2", "C-1", Delay="1"))
        assert len(kept_ids(html)) == (1 if held else 0)  # offered only where it may be held
        async with database.engine.connect() as conn:
            kept = str((await conn.execute(select(kept_cards.c.id))).scalar_one())
        sent = await client.post(
            f"{page}/card", data={"token": token(html), "kept_card": kept, "cvc": "321"}
        )
    billnumber = page.rsplit("/", 1)[1]
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
    assert order is not None
    if held:
        assert sent.headers["location"].startswith("https://shop.example/ok?")
        assert order.state is OrderState.DELAYED
    else:
        assert sent.status_code == 409 and "type the card" in sent.text
        assert order.state is OrderState.IN_PROCESS
        assert len(fake_processing.authorizations) == 1


async def test_the_janitor_deletes_the_cards_past_their_expiry_month(
    gateway: Gateway, database: Database, clock: ManualClock, merchant: object
) -> None:
    clock.now = datetime(2030, 12, 31, 23, 0, tzinfo=UTC)
    async with database() as uow:
        for n, expiry in enumerate(("12/2030", "01/2031")):
            summary = CardSummary(f"411111****111{n}", Brand.VISA, expiry, "IVAN PETROV")
            await uow.kept_cards.keep(KeptCard("111111", "C-1", summary, "s", f"m{n}", clock()))
        await uow.commit()

    assert await janitor.sweep(gateway, stale_after=timedelta(seconds=30)) == 0
    assert len(await customer_cards(database)) == 2
    clock.advance(hours=1)  # 1 January 2031: the first card expired with December
    await janitor.sweep(gateway, stale_after=timedelta(seconds=30))
    assert [c.card.expiry for c in await customer_cards(database)] == ["01/2031"]


async def customer_cards(database: Database) -> list[KeptCard]:
    async with database(readonly=True) as uow:
        return await uow.kept_cards.of_customer("111111", "C-1")


@pytest.mark.parametrize("card_on_file", [True, False])
async def test_a_kept_card_pays_without_its_cvc_only_where_the_card_on_file_is_taken(
    gateway: Gateway,
    merchant: object,
    fake_processing: FakeProcessingCenter,
    card_on_file: bool,
) -> None:
    rules = Rules(card_on_file=card_on_file)
    async with make_client(dataclasses.replace(gateway, rules=rules)) as client:
        await pay_and_keep(client, "K-1", "C-1")
        page, html = await card_page(client, signed_request("K-2", "C-1"))
        [kept] = kept_ids(html)
        assert ('id="kept-cvc-' in html) is not card_on_file
        sent = await client.post(f"{page}/card", data={"token": token(html), "kept_card": kept})

    if card_on_file:
        assert sent.headers["location"].startswith("https://shop.example/ok?")
        assert fake_processing.authorizations[-1].card.cvc is None
    else:
        assert sent.status_code == 400 and "CVC" in sent.text
        assert len(fake_processing.authorizations) == 1
