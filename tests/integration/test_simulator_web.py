"""The simulator's HTTP side as a whole: security headers on every answer, pages that load
nothing from elsewhere, JSON for every refusal, bounded bodies."""

from __future__ import annotations

import html.parser
import re
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from demobank import Simulator
from tests.simulator_browser import COOKIE, new_browser, open_form

SHOP = "http://shop.example:8080/back?order=1"
ENROLL = {
    "pan": "4000000000003220",
    "amount": 100,
    "currency": "RUB",
    "merchant_id": "111111",
    "return_url": SHOP,
}
PAYMENT = {
    "reference": "ips-1",
    "amount": 100,
    "currency": "RUB",
    "merchant_id": "111111",
    "description": "<script>alert(1)</script>",
    "return_url": SHOP,
}


@dataclass
class Site:
    url: str
    http: httpx.AsyncClient

    async def challenge(self) -> str:
        return str((await self.http.post(f"{self.url}/3ds/enroll", json=ENROLL)).json()["url"])

    async def wallet_page(self, reference: str = "ips-1") -> str:
        created = await self.http.post(
            f"{self.url}/wallet/payments", json=PAYMENT | {"reference": reference}
        )
        return str(created.json()["url"])


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with (
        Simulator(tmp_path / "bank.sqlite3") as simulator,
        new_browser() as http,
    ):
        yield Site(simulator.http_url, http)


class Resources(html.parser.HTMLParser):
    """What a page would make a browser load, and whether it has scripts or inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.scripts = 0
        self.inline_styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.scripts += tag == "script" or any(name.startswith("on") for name in values)
        self.inline_styles += tag == "style" or "style" in values
        for name in ("src", "srcset", "data", "poster"):
            if values.get(name):
                self.loaded.append(str(values[name]))
        if tag == "link" and values.get("href"):
            self.loaded.append(str(values["href"]))


def resources(page: str) -> Resources:
    found = Resources()
    found.feed(page)
    return found


def assert_safe_headers(answer: httpx.Response) -> None:
    policy = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["strict-transport-security"].startswith("max-age=")


async def pages(site: Site) -> list[tuple[str, httpx.Response]]:
    """Every kind of page the simulator shows."""
    shown: list[tuple[str, httpx.Response]] = []
    challenge = await site.challenge()
    shown.append(("challenge", await site.http.get(challenge)))
    shown.append(("challenge refused", await site.http.post(challenge, data={"code": "1"})))
    await (await open_form(site.http, challenge)).post(code="1234", action="submit")
    shown.append(("challenge over", await site.http.get(challenge)))
    payment = await site.wallet_page()
    shown.append(("wallet", await site.http.get(payment)))
    form = await open_form(site.http, payment)
    shown.append(("wallet error", await form.post(login="x", password="y", action="pay")))
    shown.append(("wallet refused", await site.http.post(payment, data={"action": "cancel"})))
    await form.post(action="cancel")
    shown.append(("wallet over", await site.http.get(payment)))
    shown.append(("no challenge", await site.http.get(f"{site.url}/3ds/challenge/nope")))
    shown.append(("no payment", await site.http.get(f"{site.url}/wallet/pay/nope")))
    return shown


async def test_pages_carry_the_security_headers_and_load_only_their_own_stylesheet(
    site: Site,
) -> None:
    for name, page in await pages(site):
        assert page.headers["content-type"].startswith("text/html"), name
        assert_safe_headers(page)
        assert "style-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        found = resources(page.text)
        assert (found.scripts, found.inline_styles) == (0, 0), name
        assert found.loaded == ["/static/simulator.css"], name
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
        assert '<html lang="en">' in page.text

    sheet = await site.http.get(f"{site.url}/static/simulator.css")
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("text/css")
    assert "url(" not in sheet.text
    assert "@import" not in sheet.text
    assert (await site.http.get(f"{site.url}/favicon.ico")).status_code == 204


async def test_pages_run_no_script_and_load_nothing_from_elsewhere(site: Site) -> None:
    for page in (
        await site.http.get(await site.challenge()),
        await site.http.get(await site.wallet_page()),
    ):
        directives = dict(
            part.strip().split(" ", 1)
            for part in page.headers["content-security-policy"].split(";")
        )
        assert directives["default-src"] == "'none'"
        assert "script-src" not in directives
        assert directives["base-uri"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
        # The buyer is redirected on through IPS to the shop: a form-action would stop them.
        assert "form-action" not in directives


async def test_what_the_merchant_sends_is_escaped(site: Site) -> None:
    page = await site.http.get(await site.wallet_page())

    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/3ds/enroll"),
        ("DELETE", "/wallet/payments"),
        ("PUT", "/3ds/result/x"),
        ("GET", "/static/other.css"),
    ],
)
async def test_unknown_routes_are_answered_in_json_with_the_headers(
    site: Site, method: str, path: str
) -> None:
    answer = await site.http.request(method, f"{site.url}{path}")

    assert answer.status_code in (404, 405)
    assert set(answer.json()) == {"error"}
    assert_safe_headers(answer)


async def test_api_answers_carry_the_headers(site: Site) -> None:
    enrolled = await site.http.post(f"{site.url}/3ds/enroll", json=ENROLL)
    refused = await site.http.post(f"{site.url}/wallet/payments", json={})

    for answer in (enrolled, refused):
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["cache-control"] == "no-store"
        assert_safe_headers(answer)
        assert "form-action 'none'" in answer.headers["content-security-policy"]


async def test_bodies_are_bounded(site: Site) -> None:
    big = {**ENROLL, "merchant_id": "x" * 20_000}

    answer = await site.http.post(f"{site.url}/3ds/enroll", json=big)

    assert answer.status_code == 413
    assert "error" in answer.json()


async def test_forms_must_be_urlencoded(site: Site) -> None:
    challenge = await site.challenge()

    answer = await site.http.post(challenge, json={"code": "1234", "action": "submit"})

    assert answer.status_code == 415
    assert "error" in answer.json()
    status = await site.http.get(challenge.replace("/challenge/", "/result/"))
    assert status.json() == {"status": "U", "cavv": ""}


async def test_the_challenge_url_names_the_host_ips_asked(site: Site) -> None:
    parts = urllib.parse.urlsplit(site.url)
    answer = await site.http.post(
        f"{site.url}/3ds/enroll", json=ENROLL, headers={"host": f"localhost:{parts.port}"}
    )

    assert answer.json()["url"].startswith(f"http://localhost:{parts.port}/3ds/challenge/")


def cookie_attributes(answer: httpx.Response) -> tuple[str, set[str]]:
    name_value, *attributes = answer.headers["set-cookie"].split(";")
    return name_value.split("=")[0], {a.strip().lower() for a in attributes}


async def test_a_page_with_a_form_names_its_browser_in_a_host_only_cookie(site: Site) -> None:
    challenge, payment = await site.challenge(), await site.wallet_page()

    first = await site.http.get(challenge)
    again = await site.http.get(challenge)
    wallet = await site.http.get(payment)

    name, attributes = cookie_attributes(first)
    assert name == COOKIE
    assert attributes == {"httponly", "path=/", "samesite=lax", "secure"}
    assert "set-cookie" not in again.headers
    assert "set-cookie" not in wallet.headers


async def test_on_a_host_not_loopback_the_cookie_is_not_secure_and_still_binds_the_form(
    site: Site,
) -> None:
    payment = await site.wallet_page()
    parts = urllib.parse.urlsplit(payment)
    host = {"host": f"bank.example:{parts.port}"}

    page = await site.http.get(payment, headers=host)
    name, attributes = cookie_attributes(page)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    browser = page.headers["set-cookie"].split(";")[0]
    fields = {"token": token[1], "action": "cancel"}
    foreign = await site.http.post(
        payment, data=fields, headers=host | {"cookie": f"{COOKIE}={browser.split('=')[1]}"}
    )
    posted = await site.http.post(payment, data=fields, headers=host | {"cookie": browser})

    assert (name, attributes) == ("bank-browser", {"httponly", "path=/", "samesite=lax"})
    assert foreign.status_code == 403
    assert posted.status_code == 303
