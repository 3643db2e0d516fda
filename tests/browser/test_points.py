"""Paying part of an order with bonus points and the rest by card, in Chromium, against the
simulator's points program (Demo Points, test accounts in docs/operations.md)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from tests.browser.conftest import NewPage
from tests.browser.harness import (
    TEST_CARDS,
    IpsServer,
    ReturnShop,
    fill_card,
    lands_on,
    payment_request,
)

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def fill_points(page: Page, account: str, pin: str, points: str) -> None:
    points_box = page.get_by_role("group", name="Pay part with bonus points")
    await expect(points_box).to_contain_text("Up to 150 points, 1.00\u00a0RUB each")
    await points_box.get_by_label("Points account number").fill(account)
    await points_box.get_by_label("PIN of the points account").fill(pin)
    await points_box.get_by_label("Points to use").fill(points)


async def test_300_paid_as_100_points_and_200_by_card(
    new_page: NewPage, ordernumber: str, ips: IpsServer, shop: ReturnShop
) -> None:
    page = await new_page()
    await page.goto(payment_request(ips, shop, ordernumber, "300.00", Language="EN", YMPayment="0"))
    await fill_card(page, TEST_CARDS["approved"])
    await fill_points(page, "7000000001", "1111", "100")

    back = await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())

    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"
    paid = [
        (op["amount"], op["meantypename"], op["responsecode"])
        for op in await ips.operations(ordernumber)
    ]
    assert paid == [("100.00", "Bonus points", "AS000"), ("200.00", "VISA", "AS000")]


async def test_a_wrong_pin_is_told_and_the_order_paid_without_points(
    new_page: NewPage, ordernumber: str, ips: IpsServer, shop: ReturnShop
) -> None:
    page = await new_page()
    await page.goto(payment_request(ips, shop, ordernumber, "300.00", Language="EN", YMPayment="0"))
    await fill_card(page, TEST_CARDS["approved"])
    await fill_points(page, "7000000001", "0000", "100")
    await page.locator("#pay").click()

    notice = page.locator(".declined")
    await expect(notice).to_contain_text("The points account number or its PIN is wrong.")
    await fill_card(page, TEST_CARDS["approved"])
    await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())
    paid = [(op["amount"], op["responsecode"]) for op in await ips.operations(ordernumber)]
    assert paid == [("100.00", "AS101"), ("300.00", "AS000")]
