"""Paying by card in Chromium: approved, declined with the reason in words, without
JavaScript, and the card form's own checks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from playwright.async_api import Request, expect
from tests.browser.conftest import NewPage
from tests.browser.harness import (
    TEST_CARDS,
    IpsServer,
    ReturnShop,
    declined_and_gives_up,
    fill_card,
    lands_on,
    next_year,
    until,
)

from ips.domain.orders import Language
from ips.domain.responses import ResponseCode
from ips.protocol.messages import texts

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_an_approved_card_returns_the_buyer_to_the_shop_s_ok_page(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await page.goto(order_url(Language="EN"))
    await page.get_by_role("button", name=re.compile("Bank card")).click()
    await expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    await expect(page.locator(".order .amount")).to_have_text("100.00\u00a0RUB")
    await expect(page.locator(".order .shop")).to_have_text("Demo Shop")
    await fill_card(page, TEST_CARDS["approved"])
    back = await lands_on(
        page, f"{shop.origin}/ok?*", page.get_by_role("button", name="Pay 100.00\u00a0RUB").click()
    )
    await expect(page.get_by_role("heading")).to_have_text("Thank you: paid")
    assert back["ordernumber"] == ordernumber and back["payerdenial"] == "0"
    assert [visit.query for visit in shop.visited("/ok")].count(back) == 1

    state = await ips.orderstate(ordernumber)
    assert state["orderstate"] == "Approved"
    assert state["billnumber"] == back["billnumber"]
    assert state["orderamount"] == "100.00"


async def test_a_declined_card_says_why_and_another_card_pays_the_same_order(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await page.goto(order_url(Language="EN", YMPayment="0"))
    billnumber = page.url.rsplit("/", 1)[1]
    await fill_card(page, TEST_CARDS["declined"])
    await page.locator("#pay").click()

    await expect(page).to_have_url(f"{ips.url}/pay/{billnumber}")
    said = texts(ResponseCode.DECLINED, Language.EN)
    await expect(page.locator(".declined h2")).to_have_text("Payment declined")
    await expect(page.locator(".declined .reason")).to_have_text(said.customer_message)
    await expect(page.locator(".declined .next")).to_have_text(said.recommendation)
    await expect(page.locator(".declined .attempts")).to_have_text("Attempts left: 2.")
    assert "AS100" not in await page.locator(".declined").inner_text()
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Declined"
    back_link = page.get_by_role("link", name="Back to Demo Shop")
    assert (await back_link.get_attribute("href") or "").startswith(f"{shop.origin}/no?")

    await fill_card(page, TEST_CARDS["approved"])
    back = await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())
    assert back["billnumber"] == billnumber and back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"
    declined, paid = await ips.operations(ordernumber)
    assert (declined["responsecode"], paid["responsecode"]) == ("AS100", "AS000")


async def test_a_page_without_javascript_still_pays(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page(java_script_enabled=False)
    await page.goto(order_url(Language="EN"))
    await page.get_by_role("button", name=re.compile("Bank card")).click()
    await fill_card(page, "4111 1111 1111 1111")
    await expect(page.locator("#brand")).to_have_text("")  # no script: nothing shown as typed
    back = await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())
    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"


async def test_without_javascript_the_server_refuses_a_mistyped_card_with_a_message(
    new_page: NewPage, order_url: Callable[..., str], ordernumber: str, ips: IpsServer
) -> None:
    page = await new_page(java_script_enabled=False)
    await page.goto(order_url(Language="EN", YMPayment="0"))
    await fill_card(page, "4111111111111112", cvc="456")
    await page.locator("#pay").click()

    await expect(page.get_by_role("alert")).to_have_text("Check the card number.")
    await expect(page.locator("#card_number")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#card_number")).to_have_value("")  # not sent back to the page
    await expect(page.locator("#cvc")).to_have_value("")
    await expect(page.locator("#exp_month")).to_have_value("12")  # kept for the next try
    assert "4111111111111112" not in await page.content()
    assert await ips.operations(ordernumber) == []


async def test_the_script_checks_the_card_before_sending_it(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await page.goto(order_url(Language="EN", YMPayment="0"))
    posted: list[Request] = []
    page.on("request", lambda request: posted.append(request) if request.method == "POST" else None)
    number, brand = page.locator("#card_number"), page.locator("#brand")
    alert = page.get_by_role("alert")
    await expect(alert).to_be_hidden()

    for typed, shown in (("4", "VISA"), ("5555", "MasterCard"), ("2200", "Mir"),
                         ("3782", "American Express")):  # fmt: skip
        await number.fill("")
        await number.press_sequentially(typed)
        await expect(brand).to_have_text(shown)
    await number.fill("")
    await number.press_sequentially("378282246310005")
    await expect(number).to_have_value("3782 822463 10005")  # American Express: 4-6-5

    await number.fill("")
    await fill_card(page, "4111-1111 1111x1112")  # a typo: the Luhn check fails
    await expect(number).to_have_value("4111 1111 1111 1112")
    await expect(brand).to_have_text("VISA")
    await page.locator("#pay").click()
    await expect(alert).to_have_text("Check the card number.")
    await expect(number).to_have_attribute("aria-invalid", "true")
    await expect(number).to_be_focused()

    await number.fill("")
    await number.press_sequentially("4111111111111111")
    await page.locator("#exp_year").fill("2001")
    await page.locator("#pay").click()
    await expect(alert).to_have_text("Check the expiry date.")
    await expect(page.locator("#exp_month")).to_be_focused()

    await page.locator("#exp_year").fill(next_year()[2:])
    await page.locator("#cvc").fill("12")
    await page.locator("#pay").click()
    await expect(alert).to_have_text("Enter the 3 digits of the CVC.")
    await expect(page.locator("#cvc")).to_have_attribute("aria-invalid", "true")
    await expect(number).not_to_have_attribute("aria-invalid", "true")
    assert posted == []  # nothing was sent while the card was wrong
    assert await ips.operations(ordernumber) == []

    await page.locator("#cvc").fill("123")
    await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())
    assert len(posted) == 1
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"


async def test_while_the_answer_is_late_the_result_says_please_wait_then_declined(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    """The processing center never answers this card: the buyer who looks at the order's
    result meanwhile is asked to wait, and then told the truth; the order is never paid."""
    paying = await new_page()
    await paying.goto(order_url(Language="EN", YMPayment="0"))
    billnumber = paying.url.rsplit("/", 1)[1]
    await fill_card(paying, TEST_CARDS["no answer"])
    sent = asyncio.ensure_future(
        declined_and_gives_up(paying, shop, paying.locator("#pay").click())
    )

    async def begun() -> bool:
        return bool(await ips.operations(ordernumber))

    await until(begun)

    looking = await new_page()
    await looking.goto(f"/pay/{billnumber}/result")
    await expect(looking.get_by_role("heading", name="Please wait")).to_be_visible()
    await expect(looking.get_by_role("heading", name="Payment declined")).to_be_visible()
    assert (await sent)["billnumber"] == billnumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Declined"
