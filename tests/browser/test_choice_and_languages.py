"""The choice of the way to pay, and the pages in Russian and in English."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect
from tests.browser.conftest import NewPage
from tests.browser.harness import (
    TEST_CARDS,
    IpsServer,
    ReturnShop,
    declined_and_gives_up,
    fill_card,
    lands_on,
    query_of,
)

from ips.domain.orders import Language
from ips.domain.responses import ResponseCode
from ips.protocol.messages import texts

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_both_ways_to_pay_are_offered_and_the_choice_makes_the_payment_in_process(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await page.goto(order_url(Language="EN"))
    bill = page.url.rsplit("/", 1)[1]
    await expect(page.get_by_role("heading", name="How would you like to pay?")).to_be_visible()
    means = page.locator("ul.means button")
    await expect(means).to_have_count(2)
    await expect(means.nth(0)).to_contain_text("Bank card")
    await expect(means.nth(0)).to_contain_text("VISA, MasterCard, Mir and others")
    await expect(means.nth(1)).to_contain_text("Demo Wallet")

    await means.nth(0).click()
    await expect(page).to_have_url(f"{ips.url}/pay/{bill}/card")
    await expect(page.locator("form.card")).to_be_visible()
    await page.get_by_role("link", name="Another way to pay").click()
    await page.get_by_role("button", name=re.compile("Demo Wallet")).click()
    await expect(page).to_have_url(f"{ips.url}/pay/{bill}/wallet")
    await expect(page.get_by_role("heading", name="Pay with Demo Wallet")).to_be_visible()
    [chosen] = await ips.operations(ordernumber)  # one payment, its way changed: no money
    assert (chosen["operationtype"], chosen["responsecode"]) == ("100", "AS300")
    assert (await ips.orderstate(ordernumber))["orderstate"] == "In Process"

    back = await lands_on(
        page, f"{shop.origin}/no?*", page.get_by_role("link", name="Back to Demo Shop").click()
    )
    assert back == {"billnumber": bill, "ordernumber": ordernumber, "payerdenial": "1"}


@pytest.mark.parametrize(
    ("hidden", "form", "heading"),
    [
        ("YMPayment", "form.card", "Pay by card"),
        ("CardPayment", "form.wallet", "Pay with Demo Wallet"),
    ],
)
async def test_when_the_request_leaves_one_way_its_form_opens_at_once(
    new_page: NewPage, order_url: Callable[..., str], hidden: str, form: str, heading: str
) -> None:
    page = await new_page()
    await page.goto(order_url(Language="EN", **{hidden: "0"}))
    await expect(page).to_have_url(re.compile(r"/pay/\d+$"))
    await expect(page.locator(form)).to_be_visible()
    await expect(page.get_by_role("heading", name=heading)).to_be_visible()
    await expect(page.locator("ul.means")).to_have_count(0)
    await expect(page.get_by_role("link", name="Another way to pay")).to_have_count(0)


async def _pay_declined(page: Page) -> None:
    await fill_card(page, TEST_CARDS["declined"])
    await page.locator("#pay").click()


async def test_language_ru_shows_the_pages_in_russian(
    new_page: NewPage, order_url: Callable[..., str], shop: ReturnShop
) -> None:
    page = await new_page()  # the browser prefers English: the shop's choice wins
    answer = await page.goto(order_url(Language="RU", OrderAmount="1234.56"))
    assert answer is not None and answer.headers["content-language"] == "ru"
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.get_by_role("heading", name="Как вы хотите оплатить?")).to_be_visible()
    await expect(page.locator(".order .amount")).to_have_text("1\u00a0234,56\u00a0RUB")
    await expect(page.locator("ul.means button").nth(0)).to_contain_text("Банковская карта")
    await expect(page.locator(".footer")).to_contain_text("Безопасная оплата через IPS")

    await page.get_by_role("button", name=re.compile("Банковская карта")).click()
    await expect(page).to_have_title("Оплата картой — IPS")
    await expect(page.get_by_label("Номер карты")).to_be_visible()
    await expect(page.get_by_label("Владелец (как на карте)")).to_be_visible()
    await expect(page.locator("#cvc-hint")).to_have_text("3 цифры на обороте карты")
    pay = page.get_by_role("button", name="Оплатить 1\u00a0234,56\u00a0RUB")
    await page.locator("#card_number").press_sequentially("4111111111111112")
    await pay.click()
    await expect(page.get_by_role("alert")).to_have_text("Проверьте номер карты.")

    await page.locator("#card_number").fill("")
    back = await declined_and_gives_up(page, shop, _pay_declined(page))
    await page.goto(f"/pay/{back['billnumber']}/result")
    said = texts(ResponseCode.DECLINED, Language.RU)
    await expect(page.get_by_role("heading", name="Платёж отклонён")).to_be_visible()
    await expect(page.locator(".result .reason")).to_have_text(said.customer_message)
    await expect(page.locator(".result .next")).to_have_text(said.recommendation)
    await expect(page.get_by_role("link", name="Вернуться в Demo Shop")).to_be_visible()

    await page.get_by_role("link", name="English").click()  # the buyer's own choice
    await expect(page.get_by_role("heading", name="Payment declined")).to_be_visible()
    await expect(page.locator(".result .reason")).to_have_text(
        texts(ResponseCode.DECLINED, Language.EN).customer_message
    )


async def test_language_en_shows_the_pages_in_english(
    new_page: NewPage, order_url: Callable[..., str], shop: ReturnShop
) -> None:
    page = await new_page(locale="ru-RU")  # the browser prefers Russian: the shop's choice wins
    answer = await page.goto(order_url(Language="EN", OrderAmount="1234.56"))
    assert answer is not None and answer.headers["content-language"] == "en"
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="How would you like to pay?")).to_be_visible()
    await expect(page.locator(".order .amount")).to_have_text("1,234.56\u00a0RUB")
    await expect(page.locator(".footer")).to_contain_text("Secure payment by IPS")

    await page.get_by_role("button", name=re.compile("Bank card")).click()
    await expect(page).to_have_title("Pay by card — IPS")
    await expect(page.get_by_label("Card number")).to_be_visible()
    await expect(page.get_by_label("Cardholder (as on the card)")).to_be_visible()
    await page.locator("#card_number").press_sequentially("4111111111111111")
    await page.locator("#exp_month").fill("13")
    await page.locator("#exp_year").fill("30")
    await page.locator("#cvc").fill("123")
    await page.get_by_role("button", name="Pay 1,234.56\u00a0RUB").click()
    await expect(page.get_by_role("alert")).to_have_text("Check the expiry date.")

    await page.locator("#card_number").fill("")
    back = await declined_and_gives_up(page, shop, _pay_declined(page))
    await page.goto(f"/pay/{back['billnumber']}/result")
    await expect(page.get_by_role("heading", name="Payment declined")).to_be_visible()
    await expect(page.locator(".result .reason")).to_have_text(
        texts(ResponseCode.DECLINED, Language.EN).customer_message
    )


@pytest.mark.parametrize(
    ("locale", "heading"),
    [("ru-RU", "Как вы хотите оплатить?"), ("en-US", "How would you like to pay?")],
)
async def test_without_language_the_browser_s_preference_is_followed(
    new_page: NewPage, order_url: Callable[..., str], locale: str, heading: str
) -> None:
    page = await new_page(locale=locale)
    answer = await page.goto(order_url())
    assert answer is not None
    assert answer.request.headers["accept-language"].startswith(locale)
    await expect(page.get_by_role("heading", name=heading)).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", locale[:2])
    assert query_of(page.url) == {}
