"""The operator console in Chromium: an administrator signs in with its password and a
one-time code, finds a merchant and disables it — and the shop's next payment request is
refused, while the change is in the audit trail under the administrator."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect
from tests.browser.conftest import NewPage
from tests.browser.harness import IpsServer, ReturnShop, payment_request

from ips.domain import totp
from ips.services.clock import utc_now

pytestmark = pytest.mark.asyncio(loop_scope="package")

PASSWORD = "a long console password"


async def test_an_administrator_disables_a_merchant_and_its_buyers_are_refused(
    new_page: NewPage, ips: IpsServer, shop: ReturnShop
) -> None:
    suffix = uuid.uuid4().int % 10**5
    merchant_id, login, name = f"7{suffix:05}", f"root{suffix}", f"Closing Shop {suffix}"
    added = ips.ips("merchant", "add", "--merchant-id", merchant_id, "--name", name,
                    "--login", f"closing-{suffix}", "--password", "closing-password",
                    "--secret-word", "salt", "--return-host", "127.0.0.1")  # fmt: skip
    assert added.returncode == 0, added.stderr
    admin = ips.ips("operator", "add", "--login", login, "--password", PASSWORD, "--role", "admin")
    assert admin.returncode == 0, admin.stderr
    secret = admin.stdout.strip().splitlines()[-1]

    page = await new_page()
    await page.goto("/admin/merchants")
    await expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Password").fill(PASSWORD)
    code = totp.code_of(totp.key_of(secret), totp.step_of(utc_now()))
    await page.get_by_label("One-time code").fill(code)
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("heading", name="Merchants")).to_be_visible()
    await page.get_by_label("Find a merchant").fill(f"closing shop {suffix}")
    await page.get_by_role("button", name="Find").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await page.get_by_role("link", name=merchant_id).click()
    await expect(page.get_by_role("heading", name=name)).to_be_visible()
    await page.get_by_role("button", name="Disable the merchant").click()
    await expect(page.get_by_role("status")).to_contain_text("The merchant is disabled")
    await expect(page.get_by_role("button", name="Enable the merchant")).to_be_visible()
    latest = page.locator("table.trail tbody tr").first
    await expect(latest).to_contain_text("merchant.disable")
    await expect(latest).to_contain_text(login)

    buyer = await new_page()
    await buyer.goto(payment_request(ips, shop, f"B-{suffix}", Merchant_ID=merchant_id))
    await expect(buyer.get_by_text("this shop takes no new orders", exact=False)).to_be_visible()
