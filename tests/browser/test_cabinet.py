"""The Personal Account in Chromium, as a shop's staff uses it: signing in, the Order Monitor
and its filters, confirming a held order and cancelling a paid one from their pages, the CSV
export, another merchant's orders out of reach, ten wrong passwords locking the account, an
administrator's API keys, and an accountant whose browser speaks Russian.

The orders are paid the way buyers pay them, through the payment pages."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect
from tests.browser.conftest import NewPage
from tests.browser.harness import (
    CABINET_PASSWORD,
    TEST_CARDS,
    IpsServer,
    ReturnShop,
    fill_card,
    lands_on,
    payment_request,
)

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _buyer_pays(page: Page, url: str, shop: ReturnShop) -> str:
    """Pays the order at ``url`` by card; its billnumber."""
    await page.goto(url)
    await fill_card(page, TEST_CARDS["approved"])
    back = await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())
    return back["billnumber"]


async def _sign_in(page: Page, login: str, password: str = CABINET_PASSWORD) -> None:
    await page.goto("/cabinet")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_an_operator_confirms_a_held_order_and_cancels_a_paid_one(
    new_page: NewPage, order_url: Callable[..., str], ordernumber: str, ips: IpsServer,
    shop: ReturnShop,
) -> None:  # fmt: skip
    buyer = await new_page()
    held = await _buyer_pays(buyer, order_url(Language="EN", YMPayment="0", Delay="1"), shop)
    paid_number = f"{ordernumber}-paid"
    paid = await _buyer_pays(
        buyer, payment_request(ips, shop, paid_number, "250.00", Language="EN", YMPayment="0"),
        shop,
    )  # fmt: skip
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Delayed"

    page = await new_page()
    await _sign_in(page, "anna")
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    await expect(page.get_by_text("anna · Demo Shop (operator)")).to_be_visible()

    await page.get_by_label("Order number").fill(ordernumber)
    await page.get_by_role("button", name="Show").click()
    rows = page.locator("table.orders tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Delayed")
    await expect(rows.first).to_contain_text("411111****1111")

    await page.get_by_role("link", name=held).click()
    await expect(page.get_by_role("heading", name=f"Order {ordernumber}")).to_be_visible()
    await expect(page.locator(".operation").first).to_contain_text("authorization")
    await page.get_by_role("link", name="Confirm…").click()
    await expect(page.get_by_role("heading", name=f"Confirm order {ordernumber}?")).to_be_visible()
    await expect(page.get_by_label("Amount (RUB)")).to_have_value("100.00")
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("status")).to_contain_text("Confirmed 100.00")
    await expect(page.locator("dd.state")).to_have_text("Approved")
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"

    await page.goto(f"/cabinet/orders/{paid}")
    await page.get_by_role("link", name="Cancel…").click()
    await page.get_by_label("Reason").select_option(label="Customer")
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.locator("dd.state")).to_have_text("Canceled")
    assert (await ips.orderstate(paid_number))["orderstate"] == "Canceled"


async def test_the_monitor_filters_totals_and_exports_what_it_shows(
    new_page: NewPage, ordernumber: str, ips: IpsServer, shop: ReturnShop
) -> None:
    buyer = await new_page()
    numbers = [f"{ordernumber}-{n}" for n in range(3)]
    for number, amount in zip(numbers, ("10.00", "20.00", "30.00"), strict=True):
        await _buyer_pays(
            buyer, payment_request(ips, shop, number, amount, Language="EN", YMPayment="0"), shop
        )

    page = await new_page()
    await _sign_in(page, "vera")
    await page.get_by_label("Amount from").fill("15")
    await page.get_by_label("Amount to").fill("30.00")
    await page.get_by_label("Approved").check()
    await page.get_by_role("button", name="Show").click()
    await expect(page).to_have_url(re.compile(r"amount_min=15&.*state=Approved"))
    rows = page.locator("table.orders tbody tr")
    shown = {await row.locator("td").nth(1).inner_text() for row in await rows.all()}
    assert {numbers[1], numbers[2]} <= shown and numbers[0] not in shown
    await expect(page.locator(".chart svg")).to_have_attribute("role", "img")
    await expect(page.locator("table.totals")).to_contain_text("Approved")

    await page.get_by_label("Order number").fill(numbers[2])
    await page.get_by_role("button", name="Show").click()
    await expect(rows).to_have_count(1)
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download CSV").click()
    download = await download_info.value
    text = (await download.path()).read_bytes().decode("utf-8-sig")
    [header, *lines] = list(csv.reader(io.StringIO(text)))
    assert header[:2] == ["billnumber", "ordernumber"]
    assert [line[1] for line in lines] == [numbers[2]]
    assert lines[0][3:6] == ["Approved", "30.00", "RUB"]

    await page.get_by_label("From", exact=True).fill("2030-01-02")
    await page.get_by_label("To", exact=True).fill("2030-01-01")
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_role("alert")).to_have_text("The period ends before it begins.")
    await expect(page.get_by_label("To", exact=True)).to_have_attribute("aria-invalid", "true")


async def test_another_merchant_s_user_cannot_open_the_order(
    new_page: NewPage, order_url: Callable[..., str], ordernumber: str, shop: ReturnShop
) -> None:
    buyer = await new_page()
    bill = await _buyer_pays(buyer, order_url(Language="EN", YMPayment="0"), shop)

    page = await new_page()
    await _sign_in(page, "olga")
    await expect(page.get_by_text("olga · Other Shop (admin)")).to_be_visible()
    for path in (f"/cabinet/orders/{bill}", f"/cabinet/orders/{bill}/cancel"):
        answer = await page.goto(path)
        assert answer is not None and answer.status == 404
        await expect(page.get_by_role("alert")).to_have_text("Not found.")
    await page.goto(f"/cabinet/orders?ordernumber={ordernumber}")
    await expect(page.locator("table.orders tbody")).to_contain_text("No orders match.")


async def test_ten_wrong_passwords_lock_the_account(new_page: NewPage) -> None:
    page = await new_page()
    for _ in range(9):
        await _sign_in(page, "lena", "not the password")
        await expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")
    await _sign_in(page, "lena", "not the password")
    locked = "Too many failed sign-ins: the account is locked for 30 minutes."
    await expect(page.get_by_role("alert")).to_have_text(locked)
    await _sign_in(page, "lena")
    await expect(page.get_by_role("alert")).to_have_text(locked)
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_signing_out_needs_signing_in_again(new_page: NewPage, ips: IpsServer) -> None:
    page = await new_page()
    await _sign_in(page, "anna")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.goto("/cabinet/orders")
    await expect(page).to_have_url(f"{ips.url}/cabinet/login?next=%2Fcabinet%2Forders")


async def test_an_administrator_makes_an_api_key_sees_it_once_and_revokes_it(
    new_page: NewPage, ips: IpsServer
) -> None:
    page = await new_page()
    await _sign_in(page, "olga")
    await page.get_by_role("link", name="API keys").click()
    await expect(page.get_by_role("heading", name="API keys of Other Shop")).to_be_visible()
    await page.get_by_label("Name").fill("browser test")
    await page.get_by_label("Scope").select_option("read")
    await page.get_by_role("button", name="Create the key").click()
    await expect(page.get_by_role("status")).to_contain_text("it will not be shown again")
    key = await page.get_by_label(re.compile(r"^Key ")).input_value()
    assert re.fullmatch(r"ipsk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}", key)
    assert key not in page.url
    key_id = key.split("_")[1]
    listed = ips.ips("apikey", "list", "--merchant-id", "222222").stdout
    assert re.search(rf"^{key_id}  read .* active .* browser test$", listed, re.M), listed

    await page.goto("/cabinet/api-keys")
    assert key not in await page.content()
    await page.get_by_role("button", name=f"Revoke the key {key_id}").click()
    await expect(page.get_by_role("status")).to_have_text("The key is revoked.")
    await expect(page.get_by_role("row", name=re.compile(key_id))).to_contain_text("revoked")
    listed = ips.ips("apikey", "list", "--merchant-id", "222222").stdout
    assert re.search(rf"^{key_id}  read .* revoked ", listed, re.M), listed
    assert key not in ips.log.read_text()


async def test_an_accountant_with_a_russian_browser_works_in_russian_and_may_switch(
    new_page: NewPage, order_url: Callable[..., str], ordernumber: str, shop: ReturnShop
) -> None:
    buyer = await new_page()
    bill = await _buyer_pays(buyer, order_url(YMPayment="0", OrderAmount="1234.56"), shop)

    page = await new_page(locale="ru-RU")
    await page.goto("/cabinet")
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.get_by_role("heading", name="Вход")).to_be_visible()
    await page.get_by_label("Логин").fill("vera")
    await page.get_by_label("Пароль").fill(CABINET_PASSWORD)
    await page.get_by_role("button", name="Войти").click()

    await expect(page.get_by_role("heading", name="Заказы", exact=True)).to_be_visible()
    await expect(page).to_have_title("Заказы — Личный кабинет IPS")
    await page.get_by_label("Номер заказа").fill(ordernumber)
    await page.get_by_role("button", name="Показать").click()
    rows = page.locator("table.orders tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Оплачен")
    await expect(rows.first).to_contain_text("1\u00a0234,56\u00a0RUB")
    await expect(page.locator("table.totals")).to_contain_text("Оплачен")
    chart = page.get_by_role("img", name=re.compile(r"^Оборот по дням в RUB с "))
    await expect(chart).to_be_visible()
    await expect(chart.locator(".legend")).to_contain_text("оплачено")
    await expect(chart.locator(".y-labels")).to_contain_text(",00")

    await page.get_by_role("link", name=bill).click()
    await expect(page.get_by_role("heading", name=f"Заказ {ordernumber}")).to_be_visible()
    await expect(page.locator("dd.state")).to_have_text("Оплачен")
    await expect(page.locator(".operation").first).to_contain_text("оплата")
    await expect(page.locator(".summary")).to_contain_text("Создан (UTC)")

    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name=f"Order {ordernumber}")).to_be_visible()
    await expect(page.locator("dd.state")).to_have_text("Approved")
    await page.get_by_role("link", name="Orders", exact=True).first.click()
    await expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "en")  # remembered
