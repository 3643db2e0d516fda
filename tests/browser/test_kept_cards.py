"""A card kept for the shop's customer, in Chromium: kept with the buyer's consent, paid with
again by its CVC alone on the customer's next order, and removed."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect
from tests.browser.conftest import NewPage
from tests.browser.harness import (
    MERCHANT_ID,
    SECRET_WORD,
    TEST_CARDS,
    IpsServer,
    ReturnShop,
    fill_card,
    lands_on,
    payment_request,
)

from ips.domain.signed_fields import payment_request_checkvalue

pytestmark = pytest.mark.asyncio(loop_scope="package")


def signed(ips: IpsServer, shop: ReturnShop, ordernumber: str, customer: str) -> str:
    fields = {
        "merchant_id": MERCHANT_ID,
        "ordernumber": ordernumber,
        "orderamount": "100.00",
        "ordercurrency": "RUB",
        "customernumber": customer,
    }
    checkvalue = payment_request_checkvalue(SECRET_WORD, fields)
    return payment_request(
        ips, shop, ordernumber, Language="EN", YMPayment="0", CustomerNumber=customer,
        Checkvalue=checkvalue,
    )  # fmt: skip


async def pay_with_the_kept_card(page: Page, shop: ReturnShop, cvc: str) -> dict[str, str]:
    kept = page.locator("form.kept-pay")
    await expect(kept.locator(".kept-number")).to_contain_text("411111****1111")
    await kept.get_by_label("CVC of the card ending 1111").fill(cvc)
    return await lands_on(page, f"{shop.origin}/ok?*", kept.get_by_role("button").click())


async def test_a_kept_card_pays_the_customer_s_next_order_by_its_cvc_and_is_removed(
    new_page: NewPage, ordernumber: str, ips: IpsServer, shop: ReturnShop
) -> None:
    customer = f"C-{ordernumber}"
    page = await new_page()
    await page.goto(signed(ips, shop, ordernumber, customer))
    await expect(page.locator(".kept-cards")).to_have_count(0)
    await fill_card(page, TEST_CARDS["approved"])
    await page.get_by_label(re.compile("Keep this card for my next payments")).check()
    await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())

    again = f"{ordernumber}-2"
    await page.goto(signed(ips, shop, again, customer))
    await expect(page.get_by_role("heading", name="Your saved cards")).to_be_visible()
    assert TEST_CARDS["approved"] not in await page.content()
    back = await pay_with_the_kept_card(page, shop, "321")
    assert back["ordernumber"] == again
    assert (await ips.orderstate(again))["orderstate"] == "Approved"

    third = f"{ordernumber}-3"
    await page.goto(signed(ips, shop, third, customer))
    await page.get_by_role("button", name="Remove the card ending 1111").click()
    await expect(page.locator("form.card")).to_be_visible()
    await expect(page.locator(".kept-cards")).to_have_count(0)
    await page.goto(signed(ips, shop, f"{ordernumber}-4", customer))
    await expect(page.locator(".kept-cards")).to_have_count(0)
