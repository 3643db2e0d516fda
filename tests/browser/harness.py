"""What the browser tests run against: a real ``ips serve`` process (SQLite, the in-process
processing-center simulator) with a merchant added by ``ips merchant add``, a small shop the
buyer is sent back to, and Debian's Chromium driven by Playwright.

Used by the fixtures of ``conftest`` and by ``screenshots`` (which runs outside pytest).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree import ElementTree as ET

import httpx
import uvicorn
from playwright.async_api import Browser, ConsoleMessage, Page, Playwright, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from tests import leaks
from tests.processes import free_port, run_ips, wait_for_port

CHROMIUM = os.environ.get("IPS_TEST_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium (``apt-get install chromium``; ``.ci/run`` installs it). Playwright's own
browser download is not used."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

MERCHANT_ID, OTHER_MERCHANT_ID = "111111", "222222"
SHOP_NAME = "Demo Shop"
LOGIN, PASSWORD, SECRET_WORD = "shop", "shop-password", "secret"
"""The web-service login of merchant N is ``shop-N``."""

CABINET_PASSWORD = "correct horse battery"
CABINET_USERS = {
    "anna": (MERCHANT_ID, "operator"),
    "vera": (MERCHANT_ID, "viewer"),
    "lena": (MERCHANT_ID, "operator"),
    "olga": (OTHER_MERCHANT_ID, "admin"),
}
"""Users of the Personal Account; ``lena`` is the one the lockout test locks."""

TEST_CARDS = {
    "approved": "4111111111111111",
    "declined": "4000000000000002",
    "3ds": "4000000000003220",
    "no answer": "4000000000000119",
}


def chromium_path() -> str:
    """The Chromium to drive; an ``AssertionError`` that says what to install when absent."""
    if not Path(CHROMIUM).is_file():
        raise AssertionError(
            f"the browser tests need Chromium at {CHROMIUM}: install it with "
            "`apt-get install chromium` (as .ci/run does) or point IPS_TEST_CHROMIUM at one"
        )
    return CHROMIUM


async def launch_chromium(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(
        executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
    )


# --- IPS ------------------------------------------------------------------------------------


@dataclass
class IpsServer:
    """``ips serve`` in ``directory``; ``url`` is its origin, ``simulator_url`` the origin of
    the simulator's HTTP side (the issuer's 3-D Secure page and the Demo Wallet)."""

    directory: Path
    url: str
    simulator_url: str
    env: dict[str, str]
    log: Path

    @property
    def store(self) -> Path:
        """The simulator's books."""
        return self.directory / "processing-center.sqlite3"

    def ips(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_ips(*args, cwd=self.directory, env=self.env)

    async def web_service(self, path: str, **params: str) -> ET.Element:
        """The XML answer of a web service, asked as the shop asks (over HTTP)."""
        auth = {"Merchant_ID": MERCHANT_ID, "Login": f"{LOGIN}-{MERCHANT_ID}", "Password": PASSWORD}
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            answer = await http.post(path, data=auth | params)
        answer.raise_for_status()
        result = ET.fromstring(answer.content)
        assert result.attrib["firstcode"] == "0", answer.text
        return result

    async def orderstate(self, ordernumber: str) -> dict[str, str]:
        """The newest order of this number, as ``/orderstate/orderstate.cfm`` reports it."""
        result = await self.web_service(
            "/orderstate/orderstate.cfm", OrderNumber=ordernumber, Format="3"
        )
        return _fields(result.findall("order")[-1])

    async def operations(self, ordernumber: str) -> list[dict[str, str]]:
        """The operations of the order, as ``/orderresult/orderresult.cfm`` reports them."""
        result = await self.web_service(
            "/orderresult/orderresult.cfm", OrderNumber=ordernumber, Language="EN"
        )
        return [_fields(op) for order in result.findall("order") for op in order.iter("operation")]


def _fields(element: ET.Element) -> dict[str, str]:
    return {child.tag: child.text or "" for child in element}


@contextmanager
def running_ips(directory: Path, *, processing_timeout: float = 3) -> Iterator[IpsServer]:
    """``ips serve`` on a free port with its defaults (SQLite in ``directory``, the simulator
    in-process), the merchant added first with ``ips merchant add``. On leaving, the server is
    stopped and its log checked: no traceback, no card number in full."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("IPS_")}
    env |= leaks.passed_on() | {
        "IPS_DATABASE_URL": f"sqlite:///{directory / 'ips.sqlite3'}",
        "IPS_KEY_FILE": str(directory / "ips.key"),
        "IPS_SIMULATOR_STORE": str(directory / "processing-center.sqlite3"),
        "IPS_PROCESSING_TIMEOUT": str(processing_timeout),
        "PYTHONUNBUFFERED": "1",
    }
    for merchant_id, name in ((MERCHANT_ID, SHOP_NAME), (OTHER_MERCHANT_ID, "Other Shop")):
        added = run_ips(
            "merchant", "add", "--merchant-id", merchant_id, "--name", name,
            "--login", f"{LOGIN}-{merchant_id}", "--password", PASSWORD,
            "--secret-word", SECRET_WORD, "--return-host", "127.0.0.1",
            "--means", "card,wallet,points", "--double-stage",
            cwd=directory, env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
    for login, (merchant_id, role) in CABINET_USERS.items():
        added = run_ips(
            "user", "add", "--merchant-id", merchant_id, "--login", login,
            "--password", CABINET_PASSWORD, "--role", role,
            cwd=directory, env=env,
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
    port, log = free_port(), directory / "ips-serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "ips", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=directory,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log.read_text)
        found = re.search(r"pages at (http://\S+)", log.read_text())
        assert found, f"ips serve did not say where the simulator's pages are:\n{log.read_text()}"
        yield IpsServer(directory, f"http://127.0.0.1:{port}", found.group(1), env, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    written = log.read_text()
    assert "Traceback" not in written, written
    for number in TEST_CARDS.values():
        assert number not in written, f"card number {number} in the log of ips serve"


# --- The shop -------------------------------------------------------------------------------


@dataclass
class Visit:
    """A page of the shop the buyer's browser asked for."""

    path: str
    query: dict[str, str]


@dataclass
class ReturnShop:
    """The shop's pages the buyer comes back to (``/ok``, ``/no``, ``/back``), and ``/frame``,
    a page of the shop that tries to show ``?src=`` in a frame. Served by uvicorn on a thread
    of its own, so it answers whatever the test's event loop is doing."""

    port: int = 0
    visits: list[Visit] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def visited(self, path: str) -> list[Visit]:
        return [visit for visit in self.visits if visit.path == path]

    async def _returned(self, request: Request) -> HTMLResponse:
        query = dict(request.query_params)
        self.visits.append(Visit(request.url.path, query))
        title = {"/ok": "Thank you: paid", "/no": "Not paid", "/back": "Back in the shop"}
        rows = "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in query.items())
        return HTMLResponse(
            f"<!doctype html><title>Shop</title><h1>{title[request.url.path]}</h1><ul>{rows}</ul>"
        )

    async def _frame(self, request: Request) -> HTMLResponse:
        src = escape(request.query_params.get("src", ""))
        return HTMLResponse(f'<!doctype html><title>Framing</title><iframe src="{src}"></iframe>')

    @contextmanager
    def running(self) -> Iterator[ReturnShop]:
        app = Starlette(
            routes=[
                *(Route(path, self._returned) for path in ("/ok", "/no", "/back")),
                Route("/frame", self._frame),
            ]
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not server.started:  # uvicorn offers no event to wait on
                assert thread.is_alive() and time.monotonic() < deadline, "the shop did not start"
                time.sleep(0.01)
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


# --- The buyer ------------------------------------------------------------------------------


def payment_request(
    ips: IpsServer, shop: ReturnShop, ordernumber: str, amount: str = "100.00", **extra: str
) -> str:
    """The address a shop sends its buyer to (``/pay/order.cfm``), returns to the shop."""
    params = {
        "Merchant_ID": MERCHANT_ID,
        "OrderNumber": ordernumber,
        "OrderAmount": amount,
        "OrderCurrency": "RUB",
        "URL_RETURN_OK": shop.url("/ok"),
        "URL_RETURN_NO": shop.url("/no"),
        "URL_RETURN": shop.url("/back"),
        **extra,
    }
    return f"{ips.url}/pay/order.cfm?{urlencode(params)}"


def next_year() -> str:
    return str(date.today().year + 1)


async def fill_card(
    page: Page,
    number: str,
    *,
    month: str = "12",
    year: str | None = None,
    cvc: str = "123",
    holder: str = "IVAN PETROV",
) -> None:
    """Types the card into the card form, as a buyer does."""
    await page.locator("#card_number").press_sequentially(number)
    await page.locator("#exp_month").fill(month)
    await page.locator("#exp_year").fill(year or next_year())
    await page.locator("#cvc").fill(cvc)
    await page.locator("#cardholder").fill(holder)


class BlockedByPolicy(AssertionError):
    """The browser refused to follow a form or a redirect: a Content-Security-Policy forbade
    it (the console says which)."""


async def declined_and_gives_up(
    page: Page, shop: ReturnShop, action: Awaitable[object]
) -> dict[str, str]:
    """Does ``action``, which declines the payment: the buyer is back on the way to pay,
    told why, with attempts left — and gives up, back to the shop's page for an unpaid order
    (``URL_RETURN_NO``, ``payerdenial=1``); returns that page's query."""
    await lands_on(page, re.compile(r".*/pay/\d+$"), action)
    await expect(page.locator(".declined .attempts")).to_be_visible()
    way_back = page.locator(f'a[href^="{shop.origin}/no?"]').first
    back = await lands_on(page, f"{shop.origin}/no?*", way_back.click())
    assert back["payerdenial"] == "1"
    return back


async def lands_on(
    page: Page, url: str | re.Pattern[str], action: Awaitable[object]
) -> dict[str, str]:
    """Does ``action`` (a click, say), waits until the page is at ``url`` (a glob) and returns
    the query of where it landed; ``BlockedByPolicy`` at once, instead of a timeout, when a
    Content-Security-Policy stops the way there."""
    blocked: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text and not blocked.done():
            blocked.set_result(message.text)

    page.on("console", on_console)
    try:
        await action
        arrived = asyncio.ensure_future(page.wait_for_url(url))
        either: list[asyncio.Future[Any]] = [arrived, blocked]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not arrived.done():
            arrived.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await arrived
            raise BlockedByPolicy(f"stopped on {page.url} on the way to {url}: {blocked.result()}")
        await arrived
    finally:
        page.remove_listener("console", on_console)
    return query_of(page.url)


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Waits until ``condition()`` holds, asking again every 50 ms (for what only a web
    service can tell, such as an operation having begun); 15 s at most."""
    async with asyncio.timeout(15):
        while not await condition():  # noqa: ASYNC110 - there is nothing to wait on
            await asyncio.sleep(0.05)
