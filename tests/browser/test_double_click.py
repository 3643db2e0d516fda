"""A Pay button pressed twice makes one payment: the page's script sends the form once, and
without the script the server takes the second submission of the same form for what it is.

Each test pays its own amount, so that the simulator's books (its holds, one per
authorization) tell its payment from the other tests'."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import ConsoleMessage, Page, Request, expect
from tests.browser.conftest import NewPage
from tests.browser.harness import TEST_CARDS, IpsServer, ReturnShop, fill_card, lands_on

from demobank.ledger import Ledger

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _card_posts(page: Page) -> list[Request]:
    """The submissions of the card form the page makes from now on."""
    posts: list[Request] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/card"):
            posts.append(request)

    page.on("request", seen)
    return posts


async def _holds_of(ips: IpsServer, minor: int) -> int:
    """How many authorizations of ``minor`` units the processing center holds money for."""
    async with await Ledger.open(ips.store) as ledger:
        return sum(1 for hold in await ledger.holds() if hold.amount.minor == minor)


async def _one_payment(ips: IpsServer, ordernumber: str, minor: int) -> None:
    payments = [op for op in await ips.operations(ordernumber) if op["operationtype"] == "100"]
    assert len(payments) == 1, payments
    assert payments[0]["responsecode"] == "AS000"
    assert (await ips.orderstate(ordernumber))["orderstate"] == "Approved"
    assert await _holds_of(ips, minor) == 1


async def _double_click(page: Page) -> None:
    await page.locator("#pay").dblclick()


async def _two_quick_clicks(page: Page) -> None:
    """Two clicks at the button as fast as a mouse sends them, not waiting for the button to
    be clickable again."""
    await page.locator("#pay").scroll_into_view_if_needed()
    box = await page.locator("#pay").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.click(x, y)
    await page.mouse.click(x, y)


@pytest.mark.parametrize(
    ("press", "amount"), [(_double_click, "201.01"), (_two_quick_clicks, "201.02")]
)
async def test_pressing_pay_twice_sends_the_form_once(
    new_page: NewPage,
    order_url: Callable[..., str],
    ordernumber: str,
    ips: IpsServer,
    shop: ReturnShop,
    press: Callable[[Page], Awaitable[None]],
    amount: str,
) -> None:
    page = await new_page()
    await page.goto(order_url(Language="EN", YMPayment="0", OrderAmount=amount))
    await fill_card(page, TEST_CARDS["approved"])
    posts = _card_posts(page)

    back = await lands_on(page, f"{shop.origin}/ok?*", press(page))
    assert back["ordernumber"] == ordernumber
    assert len(posts) == 1
    await _one_payment(ips, ordernumber, int(amount.replace(".", "")))


async def test_pay_is_disabled_and_says_so_once_pressed(
    new_page: NewPage, order_url: Callable[..., str]
) -> None:
    page = await new_page()
    await page.goto(order_url(Language="EN", YMPayment="0"))
    await fill_card(page, TEST_CARDS["approved"])
    # The server never answers while the buyer looks at the button; what the button shows
    # once the page's own submit handler has run is told through the console (the page
    # cannot be evaluated while it navigates).
    await page.route("**/pay/*/card", lambda route: None)
    seen: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def told(message: ConsoleMessage) -> None:
        if not seen.done():
            seen.set_result(message.text)

    page.on("console", told)
    await page.evaluate(
        """() => pay.form.addEventListener("submit", () => setTimeout(
            () => console.log(JSON.stringify([pay.disabled, pay.textContent]))))"""
    )
    await page.locator("#pay").click(no_wait_after=True)
    assert json.loads(await asyncio.wait_for(seen, 15)) == [True, "Paying…"]


async def test_without_javascript_a_double_click_still_makes_one_payment(
    new_page: NewPage, order_url: Callable[..., str], ordernumber: str, ips: IpsServer
) -> None:
    page = await new_page(java_script_enabled=False)
    await page.goto(order_url(Language="EN", YMPayment="0", OrderAmount="201.03"))
    await fill_card(page, TEST_CARDS["approved"])
    await page.locator("#pay").dblclick()
    await page.wait_for_load_state()
    await expect(page.locator("form.card")).to_have_count(0)
    await _one_payment(ips, ordernumber, 20103)
