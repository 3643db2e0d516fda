"""Any bytes, to every route of IPS: no answer is a server error.

Hypothesis draws requests for every route the app has — read from ``app.routes``, so a route
added later is driven too: the Assist protocol, the buyer's pages, the Personal Account and
the static files — with arbitrary bytes in the path's segments, the query string, the headers
(cookies among them) and the body. The requests go to the ASGI app as a server hands them
over: the path percent-decoded as UTF-8 (broken sequences replaced), everything else as raw
bytes. Real values (billnumbers of orders that exist, a live session of the Personal Account
and its CSRF token, a payment page's form token) are mixed in, so requests also get past the
first check of a route.

Every answer must be below 500, and nothing may end in the app's last-resort handler (its
log line is a bug whatever the status). Seeded (``derandomize``) and bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes, unquote

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ips.crypto.tokens import FormTokens
from ips.domain.merchants import Merchant
from ips.services.gateway import Gateway
from ips.services.orders import CreateOrder, create_order
from ips.web.app import create_app
from ips.web.browser import SECURE_COOKIE
from ips.web.cabinet.session import COOKIE, LOGIN_FORM
from ips.web.pages.views import STATIC
from ips.web.services import Services
from tests.cabinet import PASSWORD, Cabinet, hidden

EXAMPLES = 25
"""Examples per database; each sends one request to every route."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    """The route's path, ``{name}`` for each parameter (``/pay/{billnumber}/card``)."""

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def endpoints(app: FastAPI) -> list[Endpoint]:
    found = []
    for route in iter_route_contexts(app.routes):
        path = route.path_format
        assert path is not None, route
        for method in sorted(route.methods or {"GET", "HEAD"}):
            found.append(Endpoint(method, path))
    return found


ENDPOINTS = endpoints(create_app())

PARAMETERS = (
    "Merchant_ID merchant_id Login Password Format Ordernumber OrderNumber OrderAmount "
    "OrderCurrency Billnumber Amount Currency AutoDeposit CancelReason Externalrefundid Language "
    "StartYear StartMonth StartDay EndYear EndMonth EndDay Delay Checkvalue URL_RETURN_OK Email "
    "ClientIP CardPayment OrderMaxPoints RecurringIndicator RecurringMinAmount RecurringMaxAmount "
    "RecurringPeriod RecurringMaxDate transaction token csrf card_number exp_month exp_year cvc "
    "cardholder email firstname lastname phone login password next new repeat current role "
    "callback_url answer grace secret_word done after from to state ordernumber billnumber "
    "amount_min amount_max currency means last4 amount release_rest seen reason once merchant "
    "name scope"
).split()
HEADERS = (
    "content-type content-length host accept accept-language accept-encoding referer origin "
    "user-agent authorization x-forwarded-for x-forwarded-proto x-real-ip range if-range "
    "if-none-match if-modified-since transfer-encoding expect connection"
).split()
CONTENT_TYPES = [
    b"application/x-www-form-urlencoded",
    b"application/x-www-form-urlencoded; charset=koi8-r",
    b"multipart/form-data; boundary=ips-boundary",
    b"multipart/form-data",
    b"application/json",
    b"application/json; charset=utf-16",
    b"text/plain",
    b"",
]
STATIC_FILES = sorted(path.name for path in STATIC.iterdir())


@dataclass(frozen=True)
class World:
    """What exists: values that lead a request past the first check of a route."""

    segments: list[str]
    """Values of path parameters that name something: billnumbers, actions, files."""
    fields: list[tuple[str, str]]
    """Parameters that are right: credentials, form tokens, a card."""
    cookies: list[tuple[str, str]]
    """A live session of the Personal Account, and the browser its sign-in form knows."""

    @property
    def values(self) -> list[str]:
        return [*self.segments, *(value for _, value in self.fields)]

    @property
    def path_values(self) -> list[str]:
        """The values but the secrets: IPS logs the path of every request, and the logs of
        the run are searched for the tests' passwords (``tests/leaks.py``)."""
        return [*self.segments, *(v for k, v in self.fields if k.lower() != "password")]


async def make_world(gateway: Gateway, cabinet: Cabinet) -> World:
    unpaid = await create_order(CreateOrder("111111", "unpaid-1", "10.00", "RUB"), gateway)
    async with cabinet.signed_in("adam") as http:
        session = http.cookies[COOKIE]
        csrf = hidden((await http.get("/cabinet/orders")).text, "csrf")
    tokens = FormTokens(gateway.keyring.derive("form tokens"))
    browser = "known-browser"
    segments = [
        unpaid.billnumber, cabinet.held.billnumber, cabinet.theirs.billnumber,
        f"{cabinet.held.billnumber}.1", "confirm", "cancel", "notifications", "password",
        "secret", "1", "2", *STATIC_FILES,
    ]  # fmt: skip
    fields = [
        ("Merchant_ID", "111111"), ("Login", "shop"), ("Password", "shop-password"),
        ("Billnumber", cabinet.held.billnumber), ("Ordernumber", "ours-1"), ("Format", "3"),
        ("Format", "5"), ("Amount", "1.00"), ("Currency", "RUB"), ("OrderNumber", "new-1"),
        ("OrderAmount", "100.00"), ("token", tokens.issue(unpaid.billnumber)),
        ("token", tokens.issue(f"{LOGIN_FORM}:{browser}")), ("csrf", csrf),
        ("login", "adam"), ("password", PASSWORD), ("card_number", "4111111111111111"),
        ("exp_month", "12"), ("exp_year", "2099"), ("cvc", "123"), ("cardholder", "IVAN PETROV"),
        ("from", "2026-01-01"), ("state", "Approved"), ("amount", "1.00"), ("role", "viewer"),
        ("scope", "read"),
    ]  # fmt: skip
    return World(segments, fields, [(COOKIE, session), (SECURE_COOKIE, browser)])


def quoted(value: bytes) -> bytes:
    return quote_from_bytes(value, safe="").encode()


def arbitrary() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=40) | st.text(max_size=20).map(str.encode)


NASTY = [
    b"\x00", b"\x7f", b"\x1b", b"\r\n", b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"%", b"%00",
    b"/", b"..", b";", b"&", b"=", b"\\", "²".encode(), "١".encode(), b" ",
]  # fmt: skip
"""Bytes that broke, or could break, something: NUL (PostgreSQL refuses it), control
characters, what is not UTF-8 (an overlong NUL, a surrogate), separators, other digits."""


def texts(world: World, values: list[str] | None = None) -> st.SearchStrategy[bytes]:
    """A value: a real one (of ``values``, else of the world's), arbitrary bytes or text, or
    a real one with nasty bytes about."""
    real = st.sampled_from(values or world.values).map(str.encode)
    nasty = st.lists(st.sampled_from(NASTY), min_size=1, max_size=3).map(b"".join)
    spoilt = st.tuples(nasty | st.just(b""), real, nasty).map(b"".join)
    return real | arbitrary() | nasty | spoilt


def segments(world: World) -> st.SearchStrategy[bytes]:
    return st.sampled_from(world.segments).map(str.encode) | texts(world, world.path_values)


def pairs(world: World) -> st.SearchStrategy[list[tuple[bytes, bytes]]]:
    """Parameters: right ones, and known names or any bytes with any value."""
    right = st.sampled_from(world.fields).map(lambda f: (f[0].encode(), f[1].encode()))
    name = st.sampled_from(PARAMETERS).map(str.encode) | st.binary(max_size=12)
    return st.lists(right | st.tuples(name, texts(world)), max_size=8)


def mostly(
    usual: st.SearchStrategy[bytes], rare: st.SearchStrategy[bytes]
) -> st.SearchStrategy[bytes]:
    """``usual`` four times in five (a query string of raw bytes that are not UTF-8 is
    refused at once, and would leave little of the rest tried)."""
    return st.integers(0, 4).flatmap(lambda n: rare if n == 0 else usual)


def urlencoded(items: list[tuple[bytes, bytes]]) -> bytes:
    return b"&".join(quoted(name) + b"=" + quoted(value) for name, value in items)


def multipart(items: list[tuple[bytes, bytes]]) -> bytes:
    parts = [
        b'--ips-boundary\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value
        for name, value in items
    ]
    return b"\r\n".join([*parts, b"--ips-boundary--\r\n"])


def json_body(items: list[tuple[bytes, bytes]]) -> bytes:
    document = {
        name.decode(errors="replace"): value.decode(errors="replace") for name, value in items
    }
    return json.dumps(document).encode()


@dataclass(frozen=True)
class Call:
    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


@st.composite
def calls(draw: Callable[..., Any], endpoint: Endpoint, world: World) -> Call:
    path = [
        quoted(draw(segments(world))) if part.startswith("{") else part.encode()
        for part in endpoint.path.split("/")
    ]
    query = draw(mostly(pairs(world).map(urlencoded), st.binary(max_size=40)))
    headers: list[tuple[bytes, bytes]] = []
    body = b""
    if endpoint.method == "POST":
        items = draw(pairs(world))
        encode = draw(st.sampled_from([urlencoded, multipart, json_body]))
        body = draw(st.just(encode(items)) | st.binary(max_size=200))
        headers.append((b"content-type", draw(st.sampled_from(CONTENT_TYPES))))
    right = st.sampled_from(world.cookies).map(lambda c: (c[0].encode(), c[1].encode()))
    cookies = draw(st.lists(right | st.tuples(st.binary(max_size=8), texts(world)), max_size=3))
    if cookies:
        headers.append((b"cookie", b"; ".join(name + b"=" + value for name, value in cookies)))
    line = st.binary(max_size=40).map(lambda v: v.replace(b"\r", b"").replace(b"\n", b""))
    token = st.from_regex(rb"\A[a-z0-9!#$%&'*+.^_`|~-]{1,16}\Z")
    header = st.tuples(st.sampled_from(HEADERS).map(str.encode) | token, line | texts(world))
    headers += draw(st.lists(header, max_size=4))
    return Call(endpoint.method, b"/".join(path), query, headers, body)


async def answer(app: FastAPI, call: Call) -> int:
    """The status the app answers ``call`` with, sent as uvicorn sends what it reads off the
    wire: ``path`` is the percent-decoded raw path."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": call.method,
        "scheme": "https",
        "path": unquote(call.raw_path.decode("ascii")),
        "raw_path": call.raw_path,
        "query_string": call.query,
        "root_path": "",
        "headers": [(b"host", b"ips.test"), *call.headers],
        "client": ("203.0.113.7", 50000),
        "server": ("ips.test", 443),
    }
    sent = False
    done = asyncio.Event()
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": call.body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    await app(scope, receive, send)
    return status


def app_of(gateway: Gateway) -> FastAPI:
    return create_app(Services(gateway, FormTokens(gateway.keyring.derive("form tokens"))))


def unhandled(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and "unhandled" in r.msg
    ]


@pytest.fixture
async def world(gateway: Gateway, merchant: Merchant, cabinet: Cabinet) -> World:
    """The shop 111111 (``merchant``), the Personal Account's world, an unpaid order."""
    return await make_world(gateway, cabinet)


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_bytes_anywhere_get_a_server_error(
    data: st.DataObject, gateway: Gateway, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_of(gateway)
    caplog.clear()
    for endpoint in ENDPOINTS:
        call = data.draw(calls(endpoint, world), label=str(endpoint))
        status = await answer(app, call)
        assert status < 500, (endpoint, call, status)
        assert not unhandled(caplog), (endpoint, call)


def test_every_route_is_driven() -> None:
    """The list is the app's own: the buyer's pages, the Personal Account, static files."""
    driven = {str(endpoint) for endpoint in ENDPOINTS}
    assert {
        "GET /pay/order.cfm", "POST /charge/charge.cfm", "GET /pay/{billnumber}/3ds",
        "GET /pay/{billnumber}/wallet/return", "POST /pay/{billnumber}/card",
        "POST /cabinet/orders/{billnumber}/{action}", "GET /static/{path}",
    } <= driven  # fmt: skip


@pytest.mark.parametrize(
    "path",
    ["/cabinet/orders", "/pay/order.cfm", "/charge/charge.cfm", "/pay/1/3ds", "/openapi.json"],
)
async def test_a_query_string_of_raw_bytes_not_utf8_is_a_bad_request(
    gateway: Gateway, merchant: Merchant, path: str
) -> None:
    """Found by the test above: Starlette could not build the request's URL, and every route
    answered 500."""
    call = Call("GET", path.encode(), b"\xd2!b=1", [], b"")
    assert await answer(app_of(gateway), call) == 400
