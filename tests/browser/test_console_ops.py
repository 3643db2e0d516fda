"""The operator console in Chromium, as the operator's staff use it: a notification the
workers gave up on, found in the attention list and sent again; a payment found by the RRN a
bank reports, and its order opened.

The shop and the operator are added with ``ips merchant add`` and ``ips operator add``; the
payments are made the way buyers make them, through the payment pages. The shop's
notification address is one IPS may not post to (127.0.0.1, outside the networks the
operator allowed), so each attempt fails at once, sending nothing."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from playwright.async_api import Page, expect
from tests.browser.conftest import NewPage
from tests.browser.harness import (
    PASSWORD,
    SECRET_WORD,
    TEST_CARDS,
    IpsServer,
    ReturnShop,
    fill_card,
    lands_on,
    payment_request,
    until,
)

from demobank.ledger import Ledger

pytestmark = pytest.mark.asyncio(loop_scope="package")

NOTIFIED_SHOP = "333333"
OPERATOR, OPERATOR_PASSWORD = "oleg", "operator password 1"


@pytest.fixture(scope="module")
def staff(ips: IpsServer) -> str:
    """The notified shop and the operator ``oleg``, added once; the operator's login."""
    for command in (
        ("merchant", "add", "--merchant-id", NOTIFIED_SHOP, "--name", "Notified Shop",
         "--login", f"shop-{NOTIFIED_SHOP}", "--password", PASSWORD, "--secret-word", SECRET_WORD,
         "--return-host", "127.0.0.1", "--callback-url", "http://127.0.0.1:8080/notify"),
        ("operator", "add", "--login", OPERATOR, "--password", OPERATOR_PASSWORD,
         "--role", "operator"),
    ):  # fmt: skip
        added = ips.ips(*command)
        assert added.returncode == 0, added.stdout + added.stderr
    return OPERATOR


async def _buyer_pays(page: Page, url: str, shop: ReturnShop) -> str:
    """Pays the order at ``url`` by card; its billnumber."""
    await page.goto(url)
    await fill_card(page, TEST_CARDS["approved"])
    back = await lands_on(page, f"{shop.origin}/ok?*", page.locator("#pay").click())
    return back["billnumber"]


async def _sign_in(page: Page, login: str, password: str) -> None:
    await page.goto("/admin")
    await expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="IPS console")).to_be_visible()


async def _go_to(page: Page, part: str) -> None:
    await page.get_by_role("navigation", name="Console").get_by_role("link", name=part).click()


def _notification(ips: IpsServer, billnumber: str) -> tuple[str, int]:
    """The status and attempts of the order's notification, read from IPS's database."""
    with sqlite3.connect(ips.directory / "ips.sqlite3") as db:
        row = db.execute(
            "SELECT n.status, n.attempts FROM notifications n JOIN orders o ON o.id = n.order_id"
            " WHERE o.billnumber = ?",
            (billnumber,),
        ).fetchone()
    return ("", 0) if row is None else (row[0], row[1])


def _give_up(ips: IpsServer, billnumber: str) -> None:
    """What eight unanswered attempts over four hours come to, without the four hours."""
    with sqlite3.connect(ips.directory / "ips.sqlite3") as db:
        db.execute(
            "UPDATE notifications SET status = 'gave_up', attempts = 8, next_attempt_at = NULL"
            " WHERE order_id = (SELECT id FROM orders WHERE billnumber = ?)",
            (billnumber,),
        )


async def test_an_operator_sends_a_notification_given_up_again_from_the_attention_list(
    new_page: NewPage, ips: IpsServer, shop: ReturnShop, staff: str
) -> None:
    buyer = await new_page()
    ordernumber = f"N-{uuid.uuid4().hex[:12]}"
    url = payment_request(
        ips, shop, ordernumber, Merchant_ID=NOTIFIED_SHOP, Language="EN", YMPayment="0"
    )
    billnumber = await _buyer_pays(buyer, url, shop)

    async def tried() -> bool:
        return _notification(ips, billnumber)[1] >= 1

    await until(tried)  # the workers tried once, and were refused the address
    _give_up(ips, billnumber)

    page = await new_page()
    await _sign_in(page, staff, OPERATOR_PASSWORD)
    await (
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Attention").click()
    )
    section = page.locator(
        "section", has=page.get_by_role("heading", name="Notifications given up")
    )
    row = section.locator("tr", has=page.get_by_role("link", name=billnumber))
    await expect(row).to_contain_text("gave up")
    await row.get_by_role("button", name="Send again").click()
    await expect(page.get_by_role("status")).to_contain_text("The notification is sent again")
    assert _notification(ips, billnumber)[0] in ("pending", "gave_up")

    async def tried_again() -> bool:
        return _notification(ips, billnumber)[1] == 9

    await until(tried_again)  # the workers took it up again at once
    await page.goto(f"/admin/orders/{billnumber}")
    await expect(page.get_by_role("heading", name=f"Order {billnumber}")).to_be_visible()
    await expect(page.locator("details.notification summary")).to_contain_text("9 attempt(s)")
    trail = page.locator("table", has=page.get_by_role("columnheader", name="Who"))
    await expect(trail).to_contain_text("notification.send_again")
    await expect(trail).to_contain_text(f"operator {staff}")


async def test_an_operator_finds_a_payment_by_its_rrn_and_opens_the_order(
    new_page: NewPage, ips: IpsServer, shop: ReturnShop, staff: str
) -> None:
    amount = f"{uuid.uuid4().int % 90000 + 10000}.{uuid.uuid4().int % 90 + 10}"
    ordernumber = f"R-{uuid.uuid4().hex[:12]}"
    buyer = await new_page()
    url = payment_request(ips, shop, ordernumber, amount, Language="EN", YMPayment="0")
    billnumber = await _buyer_pays(buyer, url, shop)
    async with await Ledger.open(ips.store) as ledger:  # the bank's books name it by its RRN
        [hold] = [h for h in await ledger.holds() if h.amount.format() == amount]

    page = await new_page()
    await _sign_in(page, staff, OPERATOR_PASSWORD)
    await _go_to(page, "Orders")
    await page.get_by_label("Billnumber, RRN, approval code or order number").fill(hold.rrn)
    await page.get_by_role("button", name="Find").click()
    rows = page.locator("table.orders tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("RRN")
    await expect(rows.first).to_contain_text(ordernumber)
    await rows.first.get_by_role("link", name=billnumber).click()
    await expect(page.get_by_role("heading", name=f"Order {billnumber}")).to_be_visible()
    await expect(page.locator(".summary")).to_contain_text("Demo Shop")
    await expect(page.locator(".operation").first).to_contain_text("411111****1111")
    await expect(page.locator(".operation").first.locator("table")).to_contain_text(hold.rrn)
    await expect(page.get_by_role("button", name="Send again")).to_have_count(0)
