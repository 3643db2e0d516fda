"""End to end: an operator's day, with ``ips processing-center`` and ``ips serve`` as real
processes and HTTP as a browser sends it (issue 16's "tried as an operator would").

The administrator is added with ``ips operator add`` and signs in with the one-time code its
authenticator app would show; switches a shop to double-stage through the console's form;
watches the payments count up in ``/metrics``; finds a notification given up in the
attention list and sends it again; finds the day's batch. The shop's accountant reads the
Personal Account in Russian.

The console's and the Personal Account's cookies are ``Secure``: the client speaks
``https://ips.test`` to a transport that hands each request to the node over plain HTTP,
as the operator's TLS proxy would (without ``X-Forwarded-For``, so the node sees the
loopback, from which ``/metrics`` answers)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain import totp
from ips.storage.database import create_engine
from tests.e2e.test_processes import orderstate, pay_on_page
from tests.processes import free_port, run_ips, wait_for_port

SHOP, NOTIFIED = "111111", "222222"
ADMIN, ADMIN_PASSWORD = "root", "operator password 1"
ACCOUNTANT, ACCOUNTANT_PASSWORD = "buh", "accountant password"
NBSP = "\u00a0"


@dataclass
class Node:
    port: int
    cwd: Path
    env: dict[str, str]
    database_url: str
    silent_port: int
    """Where the notified shop's callback points: nothing listens there."""

    def ips(self, *args: str) -> str:
        done = run_ips(*args, cwd=self.cwd, env=self.env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def browser(self, **headers: str) -> httpx.AsyncClient:
        """A browser (one cookie jar) at ``https://ips.test``, behind the TLS proxy."""
        return httpx.AsyncClient(
            transport=TlsProxy(self.port), base_url="https://ips.test", timeout=30,
            headers={"Accept-Language": "en", **headers},
        )  # fmt: skip


class TlsProxy(httpx.AsyncHTTPTransport):
    """Ends TLS in front of the node: each request goes on to it over HTTP, its Host kept."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        onward = httpx.Request(
            request.method,
            request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port),
            headers=request.headers,
            stream=request.stream,
        )
        return await super().handle_async_request(onward)


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Node]:
    """The bank and one node; the shop ``111111``, single-stage as it was added."""
    silent_port = free_port()
    env = {
        **os.environ,
        "IPS_DATABASE_URL": database_url,
        "IPS_PROCESSING_TIMEOUT": "1",
        "IPS_NOTIFICATION_PORTS": str(silent_port),
        "IPS_NOTIFICATION_INTERVAL": "0.2",
        "IPS_NOTIFICATION_NETWORKS": "127.0.0.0/8",
    }
    processes: list[subprocess.Popen[str]] = []
    try:
        pc_port, http_port = free_port(), free_port()
        bank = subprocess.Popen(
            [sys.executable, "-m", "ips", "processing-center", "--port", str(pc_port),
             "--store", str(tmp_path / "bank.sqlite3"), "--name", "BANK-A"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        processes.append(bank)
        wait_for_port(pc_port, bank, lambda: bank.communicate()[0])
        env["IPS_PROCESSING"] = f"127.0.0.1:{pc_port}"
        found = Node(http_port, tmp_path, env, database_url, silent_port)
        found.ips(
            "merchant", "add", "--merchant-id", SHOP, "--name", "Demo Shop", "--login", "shop",
            "--password", "shop-password", "--secret-word", "secret",
            "--return-host", "shop.example",
        )  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "ips", "serve", "--port", str(http_port)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        processes.append(server)
        wait_for_port(http_port, server, lambda: server.communicate()[0])
        yield found
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            output, _ = process.communicate(timeout=20)
            assert "4111111111111111" not in output and "Traceback" not in output, output


async def test_an_operator_s_day(node: Node) -> None:
    added = node.ips("operator", "add", "--login", ADMIN, "--password", ADMIN_PASSWORD,
                     "--role", "admin").splitlines()  # fmt: skip
    uri, secret = added[-2:]
    assert uri.startswith(f"otpauth://totp/IPS:{ADMIN}?secret={secret}&")

    async with node.browser() as admin, node.browser() as buyer:
        await sign_in(admin, secret)

        # A shop asks for double-stage payments: found, opened, switched on, saved.
        held_request = {"OrderNumber": "DAY-HELD", "Delay": "1"}
        refused = await buyer.get("/pay/order.cfm", params=payment(SHOP, **held_request))
        assert refused.status_code == 400 and "double-stage" in refused.text
        listed = await admin.get("/admin/merchants", params={"q": "demo"})
        assert f'href="/admin/merchants/{SHOP}"' in listed.text
        page = await admin.get(f"/admin/merchants/{SHOP}")
        form = form_of(page.text, f"/admin/merchants/{SHOP}")
        assert "double_stage" not in form and form["version"]
        saved = await admin.post(f"/admin/merchants/{SHOP}", data=form | {"double_stage": "on"})
        assert saved.status_code == 303, saved.text
        page = await admin.get(saved.headers["location"])
        assert "The settings are saved." in page.text
        assert "double_stage" in form_of(page.text, f"/admin/merchants/{SHOP}")

        # The payments count up in /metrics: a hold and a decline.
        before = await payments(admin)
        held = await pay(buyer, payment(SHOP, **held_request), "4111111111111111")
        assert held.headers["location"].startswith("https://shop.example/ok?billnumber=")
        assert (await orderstate(buyer, "DAY-HELD"))["orderstate"] == "Delayed"
        declined = await pay(buyer, payment(SHOP, OrderNumber="DAY-NO"), "4000000000000002")
        assert re.fullmatch(r"/pay/\d+", declined.headers["location"])
        after = await payments(admin)
        assert {o: after[o] - before[o] for o in ("approved", "delayed", "declined")} == {
            "approved": 0, "delayed": 1, "declined": 1,
        }  # fmt: skip

        # A shop whose notification address never answers: its notification is given up.
        node.ips(
            "merchant", "add", "--merchant-id", NOTIFIED, "--name", "Silent Shop", "--login",
            "silent", "--password", "silent-password", "--secret-word", "salt-2",
            "--return-host", "shop.example",
            "--callback-url", f"http://127.0.0.1:{node.silent_port}/notify",
        )  # fmt: skip
        paid = await pay(buyer, payment(NOTIFIED, OrderNumber="DAY-N", OrderAmount="12.34"),
                         "4111111111111111")  # fmt: skip
        billnumber = parse_qs(urlsplit(paid.headers["location"]).query)["billnumber"][0]
        await shown(admin, f"/admin/orders/{billnumber}", "Notification: pending, 1 attempt(s)")
        await give_up(node.database_url, billnumber)
        again = f"/admin/notifications/{await notification_id(node.database_url, billnumber)}"
        attention = await admin.get("/admin/attention")
        assert f'href="/admin/orders/{billnumber}"' in attention.text
        form = form_of(attention.text, f"{again}/send-again")
        sent = await admin.post(f"{again}/send-again", data=form)
        assert sent.headers["location"] == "/admin/attention?done=notification"
        assert "sent again" in (await admin.get(sent.headers["location"])).text
        await shown(admin, f"/admin/orders/{billnumber}", "Notification: gave up, 9 attempt(s)")
        trail = await admin.get("/admin/audit", params={"action": "notification.send_again"})
        assert re.search(rf"operator <a [^>]*>{ADMIN}</a>", trail.text), trail.text

        # The day's batch, closed by hand, is found under its day; the day before has none
        # (yesterday's batches: tests/integration/test_console_ops*.py, on a clock of theirs).
        settled = node.ips("settle")
        [batch] = re.findall(r"^batch (\d+) RUB accepted default$", settled, re.M)
        today = datetime.now(UTC).date()
        day = await admin.get("/admin/settlement")
        assert f"Settlement of {today.isoformat()}" in day.text
        assert f'href="/admin/settlement/{batch}"' in day.text
        yesterday = f"/admin/settlement?day={(today - timedelta(days=1)).isoformat()}"
        assert f'href="{yesterday}"' in day.text
        assert "No batches." in (await admin.get(yesterday)).text
        page = await admin.get(f"/admin/settlement/{batch}")
        assert f'href="/admin/orders/{billnumber}"' in page.text and "12.34" in page.text

    # The shop's accountant reads its orders in Russian.
    node.ips("user", "add", "--merchant-id", SHOP, "--login", ACCOUNTANT, "--role", "viewer",
             "--password", ACCOUNTANT_PASSWORD)  # fmt: skip
    async with node.browser(**{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}) as accountant:
        login = await accountant.get("/cabinet/login")
        signed = await accountant.post("/cabinet/login", data={
            "login": ACCOUNTANT, "password": ACCOUNTANT_PASSWORD,
            "token": form_of(login.text, "/cabinet/login")["token"],
        })  # fmt: skip
        assert signed.headers["location"] == "/cabinet/orders", signed.text
        orders = await accountant.get("/cabinet/orders")
    assert orders.status_code == 200 and "<h1>Заказы</h1>" in orders.text
    held_row = re.search(r"<tr>(?:(?!</tr>).)*DAY-HELD.*?</tr>", orders.text, re.S)
    assert held_row is not None
    assert f"100,00{NBSP}RUB" in held_row.group(0) and "Ожидает подтверждения" in held_row[0]


async def sign_in(http: httpx.AsyncClient, secret: str) -> None:
    """The administrator's sign-in, with the code its authenticator app shows now."""
    form = form_of((await http.get("/admin/login")).text, "/admin/login")
    code = totp.code_of(totp.key_of(secret), totp.step_of(datetime.now(UTC)))
    signed = await http.post(
        "/admin/login", data=form | {"login": ADMIN, "password": ADMIN_PASSWORD, "code": code}
    )
    assert signed.status_code == 303, signed.text
    assert "Sign out" in (await http.get("/admin")).text


def payment(merchant_id: str, **fields: str) -> dict[str, str]:
    return {
        "Merchant_ID": merchant_id, "OrderAmount": "100.00", "OrderCurrency": "RUB",
        "URL_RETURN_OK": "https://shop.example/ok", "URL_RETURN_NO": "https://shop.example/no",
        **fields,
    }  # fmt: skip


async def pay(http: httpx.AsyncClient, request: dict[str, str], number: str) -> httpx.Response:
    """A buyer: the shop's payment request, the card page, Pay; the answer to Pay."""
    made = await http.get("/pay/order.cfm", params=request)
    assert made.status_code == 303, made.text
    return await pay_on_page(http, made.headers["location"], number)


async def payments(http: httpx.AsyncClient) -> dict[str, float]:
    """The card payments the node ended, by outcome, as its ``/metrics`` says."""
    scraped = await http.get("/metrics")
    assert scraped.status_code == 200, scraped.text
    counts: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(scraped.text):
        for sample in family.samples:
            if sample.name == "ips_payments_total" and sample.labels["way"] == "card":
                counts[sample.labels["outcome"]] += sample.value
    return counts


async def shown(http: httpx.AsyncClient, url: str, words: str) -> None:
    """Waits (15 s at most) for the page at ``url`` to say ``words``: the workers' doing."""
    for _ in range(150):
        if words in (page := await http.get(url)).text:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} does not say {words!r}:\n{page.text}")


async def give_up(database_url: str, billnumber: str) -> None:
    """What eight unanswered attempts over four hours come to, without the four hours."""
    async with _connection(database_url) as connection:
        await connection.execute(
            text(
                "UPDATE notifications SET status = 'gave_up', attempts = 8, "
                "next_attempt_at = NULL "
                "WHERE order_id = (SELECT id FROM orders WHERE billnumber = :billnumber)"
            ),
            {"billnumber": billnumber},
        )


async def notification_id(database_url: str, billnumber: str) -> int:
    async with _connection(database_url) as connection:
        found = await connection.execute(
            text(
                "SELECT n.id FROM notifications n JOIN orders o ON o.id = n.order_id "
                "WHERE o.billnumber = :billnumber"
            ),
            {"billnumber": billnumber},
        )
        return int(found.scalar_one())


@asynccontextmanager
async def _connection(database_url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            yield connection
    finally:
        await engine.dispose()


class _Form(HTMLParser):
    """The fields a browser sends of the form whose ``action`` is given: text and hidden
    inputs, checked boxes, selected options."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.select = ""
        self.fields: dict[str, list[str]] = defaultdict(list)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = dict(attrs)
        if tag == "form":
            self.inside = at.get("action") == self.action
        elif not self.inside or not (name := at.get("name") or self.select):
            return
        elif tag == "input" and at.get("type") in ("checkbox", "radio"):
            if "checked" in at:
                self.fields[name].append(at.get("value") or "on")
        elif tag == "input" and at.get("type") not in ("submit", "button"):
            self.fields[name].append(at.get("value") or "")
        elif tag == "select":
            self.select = name
        elif tag == "option" and "selected" in at:
            self.fields[name].append(at.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = ""


def form_of(html: str, action: str) -> dict[str, str | list[str]]:
    """What the browser sends of the page's form to ``action``."""
    form = _Form(action)
    form.feed(html)
    assert form.fields, f"no form to {action} in the page"
    return {name: values[0] if len(values) == 1 else values for name, values in form.fields.items()}
