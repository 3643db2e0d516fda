"""A browser on the simulator's pages, made of httpx: it keeps the simulator's browser cookie and
posts a page's form with the token that page carried."""

from __future__ import annotations

import html
import re
import urllib.parse
from dataclasses import dataclass

import httpx

COOKIE = "__Host-bank-browser"


def new_browser() -> httpx.AsyncClient:
    """A client that keeps cookies as a browser on a loopback host — where browsers send a
    ``Secure`` cookie over plain http too, which httpx's jar does only over https — and
    follows no redirect."""

    async def kept_as_on_loopback(response: httpx.Response) -> None:
        for cookie in client.cookies.jar:
            cookie.secure = False

    client = httpx.AsyncClient(
        follow_redirects=False, timeout=2.0, event_hooks={"response": [kept_as_on_loopback]}
    )
    return client


@dataclass(frozen=True)
class Form:
    """The form of a page, as the browser that fetched it would send it."""

    browser: httpx.AsyncClient
    action: str
    """The absolute URL the form posts to."""
    token: str

    async def post(self, **fields: str) -> httpx.Response:
        return await self.browser.post(self.action, data={"token": self.token, **fields})


def form_on(browser: httpx.AsyncClient, page: httpx.Response) -> Form:
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    token = re.search(r'<input type="hidden" name="token" value="([^"]+)">', page.text)
    assert action is not None, page.text
    assert token is not None, page.text
    target = urllib.parse.urljoin(str(page.url), html.unescape(action[1]))
    return Form(browser, target, html.unescape(token[1]))


async def open_form(browser: httpx.AsyncClient, url: str) -> Form:
    """Fetch the page at ``url`` and take its form."""
    page = await browser.get(url)
    assert page.status_code == 200, page.status_code
    return form_on(browser, page)
