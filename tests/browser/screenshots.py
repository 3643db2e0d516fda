"""Takes the screenshots of the payment pages kept in ``docs/screenshots/``, with the same
server, shop and Chromium the browser tests use:

    .venv/bin/python -m tests.browser.screenshots [directory]
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import uuid
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright
from tests.browser.harness import (
    CABINET_PASSWORD,
    TEST_CARDS,
    IpsServer,
    ReturnShop,
    fill_card,
    launch_chromium,
    payment_request,
    running_ips,
)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 900, "height": 760}


class Camera:
    def __init__(self, browser: Browser, ips: IpsServer, shop: ReturnShop, into: Path) -> None:
        self.browser, self.ips, self.shop, self.into = browser, ips, shop, into

    async def page(self, *, locale: str = "en-US", viewport: dict[str, int] = DESKTOP) -> Page:
        context = await self.browser.new_context(
            base_url=self.ips.url,
            locale=locale,
            viewport=viewport,  # type: ignore[arg-type]
        )
        return await context.new_page()

    def order(self, amount: str = "2490.00", **extra: str) -> str:
        number = f"S-{uuid.uuid4().hex[:8]}"
        return payment_request(self.ips, self.shop, number, amount, **extra)

    async def take(self, page: Page, name: str) -> None:
        await page.screenshot(path=self.into / f"{name}.png", full_page=True)
        print(self.into / f"{name}.png")

    async def run(self) -> None:
        page = await self.page()
        await page.goto(self.order(Language="EN"))
        await self.take(page, "choice-en")

        await page.get_by_role("button", name=re.compile("Bank card")).click()
        await fill_card(page, TEST_CARDS["approved"])
        await self.take(page, "card-en")
        await page.locator("#pay").click()
        await page.wait_for_url(f"{self.shop.origin}/ok?*")
        billnumber = page.url.split("billnumber=")[1].split("&")[0]
        await page.goto(f"/pay/{billnumber}/result")
        await self.take(page, "approved-en")

        phone = await self.page(locale="ru-RU", viewport=PHONE)
        await phone.goto(self.order(YMPayment="0"))
        await phone.locator("#card_number").press_sequentially("4111111111111112")
        await phone.locator("#pay").click()
        await self.take(phone, "card-error-ru-phone")

        await phone.locator("#card_number").fill("")
        await fill_card(phone, TEST_CARDS["declined"])
        await phone.locator("#pay").click()
        await phone.wait_for_url(re.compile(r".*/pay/[0-9]+$"))  # to try again, told why
        await phone.locator(".declined").wait_for()
        await self.take(phone, "declined-ru-phone")

        issuer = await self.page()
        await issuer.goto(self.order(Language="EN", YMPayment="0"))
        await fill_card(issuer, TEST_CARDS["3ds"])
        await issuer.locator("#pay").click()
        await issuer.wait_for_url(f"{self.ips.simulator_url}/3ds/challenge/*")
        await self.take(issuer, "3ds-issuer-page")

        await self.cabinet()

    async def cabinet(self) -> None:
        """The Order Monitor and an order's page, with a few orders paid as buyers pay."""
        buyer = await self.page()
        held = ""
        for amount, extra in (("1290.00", {"Delay": "1"}), ("349.90", {}), ("5400.00", {})):
            await buyer.goto(self.order(amount, Language="EN", YMPayment="0", **extra))
            await fill_card(buyer, TEST_CARDS["approved"])
            await buyer.locator("#pay").click()
            await buyer.wait_for_url(f"{self.shop.origin}/ok?*")
            held = held or buyer.url.split("billnumber=")[1].split("&")[0]
        staff = await self.page(viewport={"width": 1200, "height": 900})
        await staff.goto("/cabinet")
        await staff.get_by_label("Login").fill("anna")
        await staff.get_by_label("Password").fill(CABINET_PASSWORD)
        await staff.get_by_role("button", name="Sign in").click()
        await staff.wait_for_url("**/cabinet/orders")
        await self.take(staff, "cabinet-orders")
        await staff.goto(f"/cabinet/orders/{held}")
        await self.take(staff, "cabinet-order")


async def main(into: Path) -> None:
    with (
        tempfile.TemporaryDirectory() as directory,
        running_ips(Path(directory)) as ips,
        ReturnShop().running() as shop,
    ):
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright)
            await Camera(browser, ips, shop, into).run()
            await browser.close()


if __name__ == "__main__":
    into = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    into.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(into))
