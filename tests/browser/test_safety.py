"""What keeps the card form safe, seen from the browser: the security headers, no script or
style from anywhere but IPS, no frame around the pages, the form's token, and no card data
left in addresses or pages once the form is sent."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.async_api import ConsoleMessage, Page, Request, Response, expect
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


def _directives(policy: str) -> dict[str, str]:
    named = (part.strip().partition(" ") for part in policy.split(";"))
    return {name: value for name, _, value in named}


def _record(page: Page) -> tuple[list[Request], list[Response]]:
    requests: list[Request] = []
    responses: list[Response] = []
    page.on("request", lambda request: requests.append(request))
    page.on("response", lambda response: responses.append(response))
    return requests, responses


async def test_every_page_and_file_of_ips_carries_the_security_headers(
    new_page: NewPage, order_url: Callable[..., str], ips: IpsServer, shop: ReturnShop
) -> None:
    page = await new_page()
    requests, responses = _record(page)
    await page.goto(order_url(Language="EN"))
    await page.get_by_role("button", name=re.compile("Bank card")).click()
    await expect(page.locator("form.card")).to_be_visible()
    await fill_card(page, TEST_CARDS["declined"])
    await declined_and_gives_up(page, shop, page.locator("#pay").click())

    ours = [answer for answer in responses if answer.url.startswith(ips.url)]
    kinds = {urlsplit(answer.url).path.rsplit("/", 1)[-1] for answer in ours}
    assert {"order.cfm", "card", "ips.css", "pay.js"} <= kinds, kinds
    nonces = []
    for answer in ours:
        headers = await answer.all_headers()
        policy = _directives(headers["content-security-policy"])
        assert policy["default-src"] == "'none'"
        assert re.fullmatch(r"'nonce-[A-Za-z0-9_-]{20,}'", policy["script-src"]), policy
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert policy["style-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["strict-transport-security"].startswith("max-age=31536000")
        if answer.request.resource_type == "document":
            nonces.append(policy["script-src"])
    assert len(set(nonces)) == len(nonces) > 2  # a new nonce for every page

    scripts_and_styles = [r for r in requests if r.resource_type in ("script", "stylesheet")]
    assert scripts_and_styles
    assert all(r.url.startswith(f"{ips.url}/static/") for r in scripts_and_styles)


async def test_the_pages_ask_nothing_of_anyone_but_ips(
    new_page: NewPage, order_url: Callable[..., str], ips: IpsServer, shop: ReturnShop
) -> None:
    """From the shop's request to the shop's page, every request the browser makes goes to
    IPS, except the redirect back to the shop."""
    page = await new_page()
    requests, _ = _record(page)
    await page.goto(order_url(Language="EN", YMPayment="0"))
    await fill_card(page, TEST_CARDS["approved"])
    await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())

    elsewhere = [r.url for r in requests if not r.url.startswith((ips.url, shop.origin))]
    assert elsewhere == []
    from_the_shop = [r for r in requests if r.url.startswith(shop.origin)]
    assert [r.resource_type for r in from_the_shop] == ["document"]


async def test_a_shop_page_cannot_show_the_card_form_in_a_frame(
    new_page: NewPage, order_url: Callable[..., str], shop: ReturnShop
) -> None:
    page = await new_page()
    refused: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def told(message: ConsoleMessage) -> None:
        if "frame-ancestors" in message.text and not refused.done():
            refused.set_result(message.text)

    page.on("console", told)
    await page.goto(shop.url("/frame?") + f"src={order_url(Language='EN', YMPayment='0')}")
    assert "has been blocked" in await asyncio.wait_for(refused, 15)
    frame = page.frame_locator("iframe")
    await expect(frame.locator("form.card")).to_have_count(0)


async def test_a_form_with_a_forged_token_pays_nothing_and_says_the_page_expired(
    new_page: NewPage, order_url: Callable[..., str], ordernumber: str, ips: IpsServer
) -> None:
    page = await new_page()
    await page.goto(order_url(Language="EN", YMPayment="0"))
    await fill_card(page, TEST_CARDS["approved"])
    await page.locator("input[name=token]").evaluate("token => token.value = 'forged'")
    await page.locator("#pay").click()

    await expect(page.get_by_role("alert")).to_have_text("The page has expired. Please try again.")
    assert await ips.operations(ordernumber) == []
    assert (await ips.orderstate(ordernumber))["orderstate"] == "In Process"
    # The form is given again with a good token: the buyer can pay from it.
    await fill_card(page, TEST_CARDS["approved"])
    await page.locator("#pay").click()
    await page.wait_for_url("**/ok?*")
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"


async def test_no_card_data_in_addresses_or_pages_after_sending(
    new_page: NewPage, order_url: Callable[..., str], ips: IpsServer, shop: ReturnShop
) -> None:
    page = await new_page()
    requests, _ = _record(page)
    await page.goto(order_url(Language="EN", YMPayment="0"))
    await fill_card(page, TEST_CARDS["declined"], cvc="987")
    back = await declined_and_gives_up(page, shop, page.locator("#pay").click())
    await page.goto(f"/pay/{back['billnumber']}/result")
    await expect(page.get_by_role("heading", name="Payment declined")).to_be_visible()

    [posted] = [r for r in requests if r.method == "POST"]
    assert posted.url.endswith("/card")
    assert TEST_CARDS["declined"] in (posted.post_data or "").replace("+", "")  # in the body
    for request in requests:
        assert TEST_CARDS["declined"] not in request.url
        assert "987" not in urlsplit(request.url).query
    shown = await page.content()
    assert TEST_CARDS["declined"] not in shown
    assert "987" not in shown
