"""Fixtures of the browser tests: one ``ips serve`` process, one shop and one Chromium for the
whole package (started once: a few seconds), a fresh browser context and a fresh order for
each test.

Every test module runs on the package's event loop (``pytestmark`` in each module), the loop
the browser was started on. pytest-playwright's fixtures are not used (they would start
Playwright's own browser download): Chromium is Debian's, and a missing Chromium fails the
tests, saying what to install.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Error, Page, async_playwright
from tests.browser.harness import (
    IpsServer,
    ReturnShop,
    launch_chromium,
    payment_request,
    running_ips,
)

NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture(scope="package")
def ips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpsServer]:
    with running_ips(tmp_path_factory.mktemp("ips")) as server:
        yield server


@pytest.fixture(scope="package")
def shop() -> Iterator[ReturnShop]:
    with ReturnShop().running() as running:
        yield running


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="package")
async def new_page(chromium: Browser, ips: IpsServer) -> AsyncIterator[NewPage]:
    """Opens a page in a context of its own (``java_script_enabled``, ``locale``… as given);
    at the end every context is closed, and no page may have thrown a script error."""
    errors: list[Error] = []
    contexts = []

    async def open_page(**options: Any) -> Page:
        context = await chromium.new_context(
            **{"base_url": ips.url, "locale": "en-US", "viewport": {"width": 800, "height": 900}}
            | options
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(error))
        return page

    yield open_page
    for context in contexts:
        await context.close()
    assert not errors, f"script errors on the pages: {errors}"


@pytest.fixture
def ordernumber() -> str:
    """A new order number for each test: the server is shared, and an order number once paid
    cannot be paid again."""
    return f"B-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def order_url(ips: IpsServer, shop: ReturnShop, ordernumber: str) -> Callable[..., str]:
    """The payment request of this test's order; keyword arguments are added to it
    (``Language="EN"``, ``YMPayment="0"``, ``OrderAmount="12.34"``…)."""

    def url(**extra: str) -> str:
        return payment_request(ips, shop, ordernumber, **extra)

    return url
