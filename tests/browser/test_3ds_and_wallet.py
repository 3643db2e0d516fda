"""The buyer leaves IPS for another party's page and comes back: the issuer's 3-D Secure page
and the Demo Wallet, both served over HTTP by the simulator ``ips serve`` runs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from playwright.async_api import Page, Route, expect
from tests.browser.conftest import NewPage
from tests.browser.harness import (
    TEST_CARDS,
    IpsServer,
    ReturnShop,
    declined_and_gives_up,
    fill_card,
    lands_on,
)

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _to_the_issuer(page: Page, url: str, ips: IpsServer) -> None:
    await page.goto(url)
    await fill_card(page, TEST_CARDS["3ds"])
    await page.locator("#pay").click()
    await page.wait_for_url(f"{ips.simulator_url}/3ds/challenge/*")
    await expect(page.get_by_role("heading", name="Confirm your payment")).to_be_visible()
    await expect(page.locator("dl.summary")).to_contain_text("100.00 RUB")
    await expect(page.locator("dl.summary")).to_contain_text("400000****3220")


async def test_3ds_with_the_right_code_approves(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await _to_the_issuer(page, order_url(Language="EN", YMPayment="0"), ips)
    await page.get_by_label("One-time code").fill("1234")
    back = await lands_on(
        page, f"{shop.origin}/ok?*", page.get_by_role("button", name="Submit").click()
    )
    assert back["ordernumber"] == ordernumber
    state = await ips.orderstate(ordernumber)
    assert state["orderstate"] == "Approved"
    assert state["billnumber"] == back["billnumber"]


async def test_3ds_with_a_wrong_code_declines_as110(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await _to_the_issuer(page, order_url(Language="EN", YMPayment="0"), ips)
    await page.get_by_label("One-time code").fill("4321")
    back = await declined_and_gives_up(
        page, shop, page.get_by_role("button", name="Submit").click()
    )
    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Declined"
    [payment] = await ips.operations(ordernumber)
    assert payment["responsecode"] == "AS110"

    await page.goto(f"/pay/{back['billnumber']}/result")
    await expect(page.locator(".result .reason")).to_have_text(payment["customermessage"])


async def test_3ds_passed_in_one_browser_and_returned_to_another_asks_to_continue(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    """The issuer's page sends the buyer back to IPS in another browser (a bank's app may
    open the link in one): nothing happens there until the buyer presses Continue."""
    page = await new_page()
    await _to_the_issuer(page, order_url(Language="EN", YMPayment="0"), ips)
    way_back: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def keep_it(route: Route) -> None:
        """The issuer's answer to the code is a redirect back to IPS: taken, not followed."""
        answer = await route.fetch(max_redirects=0)
        way_back.set_result(answer.headers["location"])
        await route.fulfill(status=200, body="kept")

    await page.route(f"{ips.simulator_url}/3ds/challenge/*", keep_it)
    await page.get_by_label("One-time code").fill("1234")
    await page.get_by_role("button", name="Submit").click()

    elsewhere = await new_page()
    await elsewhere.goto(await asyncio.wait_for(way_back, 15))
    await expect(elsewhere.get_by_role("heading", name="Finish the payment")).to_be_visible()
    assert (await ips.orderstate(ordernumber))["orderstate"] == "In Process"
    back = await lands_on(
        elsewhere,
        f"{shop.origin}/ok?*",
        elsewhere.get_by_role("button", name="Continue").click(),
    )
    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"


async def _to_the_wallet(page: Page, url: str, ips: IpsServer) -> None:
    await page.goto(url)
    await page.get_by_role("button", name=re.compile("Demo Wallet")).click()
    await expect(page.get_by_role("heading", name="Pay with Demo Wallet")).to_be_visible()
    await page.get_by_role("button", name=re.compile("Continue to Demo Wallet")).click()
    await page.wait_for_url(f"{ips.simulator_url}/wallet/pay/*")
    await expect(page.get_by_role("heading", name="Sign in to pay")).to_be_visible()


async def test_the_wallet_pays_from_a_wallet_holding_enough(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await _to_the_wallet(page, order_url(Language="EN"), ips)
    await page.get_by_label("Login").fill("demo")
    await page.get_by_label("Password").fill("demo")
    back = await lands_on(
        page, f"{shop.origin}/ok?*", page.get_by_role("button", name="Pay 100.00 RUB").click()
    )
    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"
    [payment] = await ips.operations(ordernumber)
    assert payment["responsecode"] == "AS000"


async def test_the_wallet_declines_a_wallet_holding_too_little(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await _to_the_wallet(page, order_url(Language="EN"), ips)
    await page.get_by_label("Login").fill("poor")
    await page.get_by_label("Password").fill("wrong")
    await page.get_by_role("button", name="Pay 100.00 RUB").click()
    await expect(page.get_by_role("alert")).to_contain_text("The login or the password is wrong")
    await page.get_by_label("Password").fill("poor")
    back = await declined_and_gives_up(
        page, shop, page.get_by_role("button", name="Pay 100.00 RUB").click()
    )
    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Declined"


async def test_3ds_abandoned_on_the_issuer_s_page_declines_as110(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await _to_the_issuer(page, order_url(Language="EN", YMPayment="0"), ips)
    back = await declined_and_gives_up(
        page, shop, page.get_by_role("button", name="Cancel").click()
    )
    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Declined"
    [payment] = await ips.operations(ordernumber)
    assert payment["responsecode"] == "AS110"


async def test_the_buyer_who_cancels_in_the_wallet_is_not_charged(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await _to_the_wallet(page, order_url(Language="EN"), ips)
    back = await declined_and_gives_up(
        page, shop, page.get_by_role("button", name="Cancel").click()
    )
    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Declined"
    [payment] = await ips.operations(ordernumber)
    assert payment["responsecode"] == "AS100"


_FORGE = """([action, fields]) => {
    const form = document.createElement("form");
    form.method = "post";
    form.action = action;
    for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement("input");
        input.name = name;
        input.value = value;
        form.append(input);
    }
    document.body.append(form);
    form.submit();
}"""
"""Posts a form of the caller's making from the page the browser is on."""


async def test_a_form_posted_from_another_page_changes_nothing_on_the_bank_s_pages(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
) -> None:
    page = await new_page()
    await _to_the_issuer(page, order_url(Language="EN", YMPayment="0"), ips)
    challenge = page.url
    await page.goto(shop.url("/back"))

    forged = {"code": "0000", "action": "submit", "token": "1." + "0" * 64}
    async with page.expect_navigation():
        await page.evaluate(_FORGE, [challenge, forged])

    assert page.url == challenge
    await expect(page.get_by_role("alert")).to_contain_text("nothing was changed")
    await page.get_by_label("One-time code").fill("1234")
    back = await lands_on(
        page, f"{shop.origin}/ok?*", page.get_by_role("button", name="Submit").click()
    )
    assert back["ordernumber"] == ordernumber
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"
