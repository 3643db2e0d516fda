"""No byte sequence gets a 5xx from the simulator's HTTP side.

Hypothesis drives each route — the ACS's API and pages, the wallet's API and pages, the
points program's API, the stylesheet, unknown paths — with arbitrary bytes in the path
(percent-encoded, as a server hands them on: NUL, invalid UTF-8), the query, the headers and
the body, mixed with the real ids, fields, tokens and cookie so that requests get past the
first check; and then each field of each form and JSON body in turn with junk (lone
surrogates, control characters, other scripts' digits, numbers of any size, nested values)
while the others stay good. Every answer must be below 500, and every refusal of the JSON API
a JSON ``{"error": ...}``. Examples are derandomized (the same every run) and bounded in
number.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demobank.acs import EnrollRequest
from demobank.forms import FormGuard
from demobank.ledger import Ledger
from demobank.loyalty import AccrualRequest, ReserveRequest
from demobank.money import Money, currency
from demobank.store import system_clock
from demobank.wallet import PaymentRequest
from demobank.web import create_app
from tests.simulator_browser import COOKIE

EXAMPLES = 100
"""Requests per route of arbitrary bytes."""
FIELD_EXAMPLES = 40
"""Requests per field given junk."""
BASE = "http://127.0.0.1:8584"
SHOP = "http://shop.example/back"

API = re.compile(
    r"/3ds/ranges|/3ds/enroll|/3ds/result/[^/]+|/wallet/payments(?:/[^/]+(?:/refunds|/cancel)?)?"
    r"|/loyalty/(?:rates/[^/]+|reservations(?:/[^/]+(?:/spend|/release|/give-backs)?)?"
    r"|accruals(?:/[^/]+/reverse)?|reports)"
)
PAGES = re.compile(r"/3ds/challenge/[^/]+|/wallet/pay/[^/]+")

ROUTES = [
    ("GET", "/3ds/ranges"),
    ("POST", "/3ds/enroll"),
    ("GET", "/3ds/challenge/{challenge}"),
    ("POST", "/3ds/challenge/{challenge}"),
    ("GET", "/3ds/result/{challenge}"),
    ("POST", "/wallet/payments"),
    ("GET", "/wallet/payments/{payment}"),
    ("POST", "/wallet/payments/{payment}/refunds"),
    ("POST", "/wallet/payments/{payment}/cancel"),
    ("GET", "/wallet/pay/{payment}"),
    ("POST", "/wallet/pay/{payment}"),
    ("GET", "/loyalty/rates/{currency}"),
    ("POST", "/loyalty/reservations"),
    ("GET", "/loyalty/reservations/{reference}"),
    ("POST", "/loyalty/reservations/{reference}/spend"),
    ("POST", "/loyalty/reservations/{reference}/release"),
    ("POST", "/loyalty/reservations/{reference}/give-backs"),
    ("POST", "/loyalty/accruals"),
    ("POST", "/loyalty/accruals/{reference}/reverse"),
    ("POST", "/loyalty/reports"),
    ("GET", "/static/simulator.css"),
    ("GET", "/favicon.ico"),
    ("GET", "{anything}"),
]

FIELDS = {
    "/3ds/enroll": ("pan", "amount", "currency", "merchant_id", "return_url"),
    "/wallet/payments": (
        "reference", "amount", "currency", "merchant_id", "description", "return_url",
    ),
    "/wallet/payments/{payment}/refunds": ("amount", "reference", "currency"),
    "/3ds/challenge/{challenge}": ("token", "code", "action"),
    "/wallet/pay/{payment}": ("token", "login", "password", "action"),
    "/loyalty/reservations": (
        "reference", "account", "pin", "points", "merchant_id", "description",
    ),
    "/loyalty/reservations/{reference}/give-backs": ("points", "reference"),
    "/loyalty/accruals": ("reference", "account", "points", "merchant_id"),
    "/loyalty/reports": ("day", "merchant_id", "lines"),
}  # fmt: skip
"""The fields of each route that takes a body."""


async def _no_wait(seconds: float) -> None:
    """The wallet's pause after a wrong password, not waited for."""


@dataclass
class Bank:
    """The simulator's HTTP app on its own store, with a challenge, a payment and a spent
    reservation of points (and an accrual under the same reference) to name."""

    ledger: Ledger
    http: httpx.AsyncClient
    challenge: str
    payment: str
    reservation: str
    browser: str
    tokens: dict[str, str]
    """The token of each page's form for ``browser``, by the page's path template."""

    @classmethod
    async def open(cls, path: Path) -> Bank:
        ledger = await Ledger.open(path)
        guard = FormGuard(ledger.form_key, system_clock)
        app = create_app(ledger.acs, ledger.wallet, guard, loyalty=ledger.loyalty, sleep=_no_wait)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        money = Money(100_00, currency("RUB"))
        started = await ledger.acs.enroll(EnrollRequest("4000000000003220", money, "111111", SHOP))
        assert started is not None
        payment = await ledger.wallet.create(PaymentRequest("ips-1", money, "111111", "", SHOP))
        points = ReserveRequest("ips-1", "7000000001", "1111", 300, "111111", "")
        await ledger.loyalty.reserve(points)
        await ledger.loyalty.spend(points.reference)
        await ledger.loyalty.accrue(AccrualRequest("ips-1", "7000000002", 10, "111111"))
        page = await http.get(f"/wallet/pay/{payment.id}")
        browser = page.cookies[COOKIE]
        http.cookies.clear()
        tokens = {}
        for template, id_ in (
            ("/3ds/challenge/{challenge}", started.id),
            ("/wallet/pay/{payment}", payment.id),
        ):
            shown = await http.get(
                template.split("{")[0] + id_, headers={"cookie": f"{COOKIE}={browser}"}
            )
            found = re.search(r'name="token" value="([^"]+)"', shown.text)
            assert found is not None
            tokens[template] = found[1]
        return cls(ledger, http, started.id, payment.id, points.reference, browser, tokens)

    async def close(self) -> None:
        await self.http.aclose()
        await self.ledger.close()


@dataclass(frozen=True)
class Sent:
    method: str
    raw_path: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def __repr__(self) -> str:
        return f"Sent({self.method!r}, {self.raw_path!r}, {self.headers!r}, {self.body!r})"


def _quoted(raw: bytes) -> str:
    return urllib.parse.quote_from_bytes(raw, safe="/")


def _texts() -> st.SearchStrategy[str]:
    """Text of any kind: ASCII, any Unicode, and the awkward ones — lone surrogates (``\\ud800``
    in JSON), control characters, other scripts' digits, spaces."""
    return st.one_of(
        _awkward(), st.text(max_size=30), st.text(st.characters(codec="ascii"), max_size=30)
    )


def _awkward() -> st.SearchStrategy[str]:
    """Lone surrogates, control characters, other scripts' digits or spaces."""
    return st.one_of(
        [
            st.text(st.characters(categories=(kind,)), min_size=1, max_size=10)
            for kind in ("Cs", "Cc", "Nd", "Zs")
        ]
    )


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.one_of(
        _texts(),
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts(), inner, max_size=3),
        max_leaves=6,
    )


def _header_names() -> st.SearchStrategy[bytes]:
    """Names a server lets through: HTTP tokens (it refuses others before the app)."""
    tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return st.text(tchar, min_size=1, max_size=20).map(str.encode)


def _good_choices(bank: Bank, template: str) -> dict[str, list[object]]:
    """Values each field of the route takes, the likeliest first."""
    return {
        "pan": ["4000000000003220", "4111111111111111"],
        "amount": [100, 1, 10**12 - 1],
        "currency": ["RUB", "USD", "JPY"],
        "merchant_id": ["111111"],
        "return_url": [SHOP, "http://[::1]:8000/"],
        "reference": ["ips-1", "r-1"],
        "description": ["Order 7"],
        "token": [bank.tokens.get(template, "")],
        "code": ["1234", "0000"],
        "login": ["demo", "poor", "nobody"],
        "password": ["demo", "poor", "wrong"],
        "action": ["pay", "submit", "cancel"],
        "account": ["7000000001", "7000000002", "7000000009"],
        "pin": ["1111", "2222", "0000"],
        "points": [1, 50, 10**12 - 1],
        "day": ["2025-03-06", "1999-12-31"],
        "lines": [[{"reference": "ips-1", "kind": "spend", "points": 300}], []],
    }


def _good_values(bank: Bank, template: str) -> dict[str, st.SearchStrategy[object]]:
    values = {
        name: st.sampled_from(choices) for name, choices in _good_choices(bank, template).items()
    }
    values["reference"] |= st.uuids().map(str)
    return values


@st.composite
def _fields(draw: st.DrawFn, bank: Bank, template: str) -> dict[str, object]:
    """The route's fields, most of them good, some given junk or left out, maybe others
    added."""
    good = _good_values(bank, template)
    fields: dict[str, object] = {}
    for name in FIELDS.get(template, ()):
        fate = draw(st.sampled_from(["good", "good", "good", "junk", "gone"]))
        if fate != "gone":
            fields[name] = draw(good[name] if fate == "good" else _junk())
    for name in draw(st.lists(_texts(), max_size=draw(st.sampled_from([0, 0, 0, 2])))):
        fields[name] = draw(_junk())
    return fields


def _encoded(fields: dict[str, object], *, form: bool, ascii_only: bool = True) -> bytes:
    """The fields as an urlencoded form (values that are no text in JSON), or as JSON in ASCII
    or not (lone surrogates then make invalid UTF-8)."""
    if form:
        pairs = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()]
        return urllib.parse.urlencode(pairs, errors="surrogatepass").encode()
    return json.dumps(fields, ensure_ascii=ascii_only).encode(errors="surrogatepass")


EDGES = [
    "", " ", "\x00", "²", "١٢٣", "-0", "1e309", "NaN", "0x10", "9" * 40, "🙂" * 40, "x" * 3000,
    "http://[::1", "http://[", "http://a b/", "https://shop.example:99999/", "http://shop.example:x/",
    "javascript:alert(1)", "//shop.example/", "http://user:pass@shop.example/", "%00", "..",
]  # fmt: skip
"""Values known to trip parsers."""


def _junk() -> st.SearchStrategy[object]:
    return st.one_of(st.sampled_from(EDGES), _awkward(), _texts(), _json_values())


def _path(draw: st.DrawFn, bank: Bank, template: str, *, junk: bool) -> bytes:
    """The route's path naming the bank's challenge or payment, or (``junk``) maybe any bytes
    in the id, and any query."""
    if template == "{anything}":
        return _quoted(b"/" + draw(st.binary(max_size=60))).encode()
    ids = {
        "challenge": bank.challenge,
        "payment": bank.payment,
        "reference": bank.reservation,
        "currency": "RUB",
    }
    name = re.search(r"\{(\w+)\}", template)
    value = b""
    if name is not None:
        real = ids[name[1]].encode()
        value = draw(st.sampled_from([real, real, b""]) | st.binary(max_size=40)) if junk else real
    path = re.sub(r"\{\w+\}", _quoted(value), template).encode()
    query = draw(st.sampled_from([b""]) | st.binary(max_size=40)) if junk else b""
    return path + (b"?" + _quoted(query).encode() if query else b"")


def _is_form(template: str) -> bool:
    """Whether the route is a page's form (else a JSON API)."""
    return template.startswith(("/3ds/challenge/", "/wallet/pay/"))


def _content_type(*, form: bool) -> bytes:
    return b"application/x-www-form-urlencoded" if form else b"application/json"


def requests(bank: Bank, method: str, template: str) -> st.SearchStrategy[Sent]:
    """Requests to the route with junk anywhere: path, query, headers, body, method."""
    form = _is_form(template)

    @st.composite
    def sent(draw: st.DrawFn) -> Sent:
        raw_path = _path(draw, bank, template, junk=True)
        how = draw(st.sampled_from(["fields"] * 4 + ["other", "bytes", "none"]))
        as_form = form if how != "other" else not form
        if how == "bytes":
            body = draw(st.binary(max_size=200))
        elif how == "none":
            body = b""
        else:
            fields = draw(_fields(bank, template))
            body = _encoded(fields, form=as_form, ascii_only=draw(st.booleans()))
        matching = _content_type(form=as_form)
        kind = draw(
            st.sampled_from([matching, matching, matching + b"; charset=latin-1", b""])
            | st.binary(max_size=40)
        )
        browser = f"{COOKIE}={bank.browser}".encode()
        cookie = draw(
            st.sampled_from([browser, browser, b""])
            | st.binary(max_size=60)
            | st.binary(max_size=40).map(lambda raw: COOKIE.encode() + b"=" + raw)
        )
        headers = [(b"content-type", kind), (b"cookie", cookie)]
        if draw(st.booleans()):
            headers.append((b"host", draw(st.binary(max_size=30))))
        headers += draw(st.lists(st.tuples(_header_names(), st.binary(max_size=40)), max_size=3))
        verb = draw(st.sampled_from([method] * 6 + ["GET", "POST", "PUT", "HEAD"]))
        return Sent(verb, raw_path, headers, body)

    return sent()


def junk_in(bank: Bank, template: str, field: str) -> st.SearchStrategy[Sent]:
    """Posts to the route whose ``field`` alone is junk: the path, the browser's cookie and
    every other field good."""
    good = _good_values(bank, template)

    @st.composite
    def sent(draw: st.DrawFn) -> Sent:
        fields = {name: draw(good[name]) for name in FIELDS[template]}
        fields[field] = draw(_junk())
        return _post(bank, template, fields, ascii_only=draw(st.booleans()))

    return sent()


def edges_in(bank: Bank, template: str, field: str) -> Iterator[Sent]:
    """Posts to the route with each of ``EDGES`` in ``field``, every other field good."""
    good = _good_choices(bank, template)
    for n, edge in enumerate(EDGES):
        fields = {name: good[name][0] for name in FIELDS[template]}
        yield _post(bank, template, fields | {"reference": f"edge-{n}", field: edge})


def _post(bank: Bank, template: str, fields: dict[str, object], *, ascii_only: bool = True) -> Sent:
    """A post of ``fields`` to the route for the bank's challenge or payment, from its browser."""
    form = _is_form(template)
    headers = [
        (b"content-type", _content_type(form=form)),
        (b"cookie", f"{COOKIE}={bank.browser}".encode()),
    ]
    path = template.format(
        challenge=bank.challenge, payment=bank.payment, reference=bank.reservation
    )
    return Sent("POST", path.encode(), headers, _encoded(fields, form=form, ascii_only=ascii_only))


async def send(bank: Bank, sent: Sent) -> None:
    url = httpx.URL(BASE).copy_with(raw_path=sent.raw_path)
    request = httpx.Request(sent.method, url, headers=sent.headers, content=sent.body)
    answer = await bank.http.send(request)
    bank.http.cookies.clear()

    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    path = url.path
    kind = answer.headers.get("content-type", "")
    api = API.fullmatch(path) is not None
    if answer.is_redirect:
        assert answer.headers["location"], answer.headers
        return
    if sent.method == "HEAD" or answer.status_code == 204:
        return
    if api or not (PAGES.fullmatch(path) or answer.status_code < 400):
        assert kind == "application/json", (path, answer.status_code, kind)
    if kind == "application/json":
        data = answer.json()
        assert isinstance(data, dict), data
        if answer.status_code >= 400:
            assert list(data) == ["error"] and isinstance(data["error"], str), data
    else:
        assert kind.startswith(("text/html", "text/css")), (path, answer.status_code, kind)


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[tuple[asyncio.Runner, Bank]]:
    with asyncio.Runner() as runner:
        opened = runner.run(Bank.open(tmp_path / "bank.sqlite3"))
        try:
            yield runner, opened
        finally:
            runner.run(opened.close())


def _check(runner: asyncio.Runner, bank: Bank, strategy: st.SearchStrategy[Sent], n: int) -> None:
    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(sent=strategy)
    def answered_below_500(sent: Sent) -> None:
        runner.run(send(bank, sent))

    answered_below_500()


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[" ".join(r) for r in ROUTES])
def test_no_request_to_the_simulator_gets_a_server_error(
    bank: tuple[asyncio.Runner, Bank], method: str, template: str
) -> None:
    runner, opened = bank
    _check(runner, opened, requests(opened, method, template), EXAMPLES)


@pytest.mark.parametrize(
    ("template", "field"),
    [(template, field) for template, names in FIELDS.items() for field in names],
)
def test_junk_in_any_one_field_gets_no_server_error(
    bank: tuple[asyncio.Runner, Bank], template: str, field: str
) -> None:
    runner, opened = bank
    for sent in edges_in(opened, template, field):
        runner.run(send(opened, sent))
    _check(runner, opened, junk_in(opened, template, field), FIELD_EXAMPLES)
