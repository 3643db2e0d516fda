"""Buyers and their shop, as the cluster meets them: each buyer a browser of its own paying
over HTTP the whole way (the payment request, the card page, the card form, the issuer's
3-D Secure page and the way back), the shop confirming and cancelling through the web
services. Every choice — the card, the amount, single- or double-stage, which node each
request goes to, what the shop does after — comes from a ``random.Random`` seeded per
buyer, so a run's choices replay with its seed (the timing of the kills does not).

A request goes to the node chosen for it; a node that refuses the connection (it is down)
is passed over for the other, as a load balancer does. A request cut off after it was sent
(its node killed while it ran) has an outcome nobody knows: the buyer or the shop writes it
down as unknown and goes on. What the nodes did acknowledge is written down too (``Deal``),
and the end checks hold IPS to it.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import httpx

from tests.simulator_browser import form_on

MERCHANT_ID = "111111"
CREDENTIALS = {"Merchant_ID": MERCHANT_ID, "Login": "shop", "Password": "shop-password"}
RETURN_OK = "https://shop.example/ok"
RETURN_NO = "https://shop.example/no"
TOKEN = re.compile(r'name="token" value="([^"]+)"')

APPROVING = ("4111111111111111", "5555555555554444", "2200000000000004")
DECLINING = ("4000000000000002", "4000000000000069", "4000000000000127", "4000000000000259")
POOR = "4000000000009995"
"""Insufficient funds: its balance is 10.00."""
UNANSWERED = "4000000000000119"
ENROLLED = "4000000000003220"
CARD_NUMBERS = (*APPROVING, *DECLINING, POOR, UNANSWERED, ENROLLED)

KINDS = {
    "approved": 40,
    "3-D Secure": 16,
    "3-D Secure, wrong code": 3,
    "3-D Secure, cancelled": 2,
    "declined": 12,
    "insufficient funds": 4,
    "unanswered": 8,
    "abandoned": 5,
}
"""What buyers do, and how often (weights)."""

ATTEMPTS = 60
"""Nodes tried for one request, a fifth of a second apart, before it counts as unreachable."""
RELOADS = 5
"""Times a buyer back from the issuer's page reloads it while the payment is still waiting."""
FOLLOW_UP_PAUSE = 6.0
"""The longest pause before each of the shop's steps after a payment."""


class CutOff(Exception):
    """The request was sent and no answer came: what it did is not known."""


class Unreachable(Exception):
    """No node took the request."""


@dataclass
class Tally:
    payments: Counter[str] = field(default_factory=Counter)
    """Payments by kind and outcome."""
    operations: Counter[str] = field(default_factory=Counter)
    """The shop's confirmations and cancels by outcome."""
    refused: int = 0
    """Connections a node (or the bank) refused: it was down."""
    cut_off: Counter[str] = field(default_factory=Counter)
    """Requests cut off after they were sent, by step."""
    server_errors: list[str] = field(default_factory=list)
    """Answers no node should ever give: 5xx, an internal error of a web service."""


@dataclass
class Deal:
    """One order as its buyer and its shop know it."""

    ordernumber: str
    kind: str
    card: str
    amount: int
    """Minor units of RUB."""
    delay: bool
    billnumber: str = ""
    outcome: str = "not begun"
    """``approved``, ``declined``, ``waiting`` (sent to the result page), ``abandoned``, or
    where it was cut off."""
    confirmed: int = 0
    """Confirmations the shop was told succeeded, in minor units."""
    confirmed_unknown: int = 0
    """At most this much more: confirmations cut off."""
    cancels: dict[str, int] = field(default_factory=dict)
    """Cancels the shop was told succeeded, by their ExternalRefundID: the amount."""
    cancels_unknown: set[str] = field(default_factory=set)
    """ExternalRefundIDs of cancels whose outcome is not known."""


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def minor_units(text: str) -> int:
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


@asynccontextmanager
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """A browser: its own cookies, a new connection for each request (a node killed between
    two requests costs none of them), no redirect followed. Cookies set over plain http on a
    loopback host are sent to every port of it, so to both nodes, as to one site behind a
    load balancer; the bank's ``Secure`` cookie is kept as a browser on a loopback host
    keeps it."""

    async def kept_as_on_loopback(response: httpx.Response) -> None:
        for cookie in client.cookies.jar:
            cookie.secure = False

    client = httpx.AsyncClient(
        timeout=60,
        limits=httpx.Limits(max_keepalive_connections=0),
        event_hooks={"response": [kept_as_on_loopback]},
    )
    async with client:
        yield client


class Traffic:
    """Buyers paying and the shop following up, against the nodes at ``urls``."""

    def __init__(self, urls: list[str], bank_url: str, seed: int) -> None:
        self.urls = urls
        self.bank_url = bank_url
        self.seed = seed
        self.tally = Tally()
        self.deals: list[Deal] = []
        self.follow_ups: set[asyncio.Task[None]] = set()

    # --- requests --------------------------------------------------------------------------

    async def send(
        self, http: httpx.AsyncClient, node: int, step: str, method: str, path: str, **kw: object
    ) -> httpx.Response:
        """``method path`` on node ``node``, or on the other when it refuses the connection."""
        for attempt in range(ATTEMPTS):
            url = self.urls[(node + attempt) % len(self.urls)] + path
            try:
                answer = await http.request(method, url, **kw)  # type: ignore[arg-type]
            except (httpx.ConnectError, httpx.ConnectTimeout):
                self.tally.refused += 1
                if attempt % len(self.urls) == len(self.urls) - 1:
                    await asyncio.sleep(0.2)
                continue
            except httpx.TransportError as exc:
                self.tally.cut_off[step] += 1
                raise CutOff(step) from exc
            if answer.status_code >= 500:
                self.tally.server_errors.append(f"{step}: HTTP {answer.status_code}")
                raise CutOff(step)
            return answer
        raise Unreachable(step)

    async def web_service(
        self, node: int, step: str, path: str, params: dict[str, str]
    ) -> tuple[str, dict[str, str]]:
        """A web service called by the shop: ``("0", the operation)``, or the error's
        ``"firstcode/secondcode"`` and nothing."""
        async with browser() as http:
            answer = await self.send(
                http, node, step, "POST", path, data=CREDENTIALS | {"Format": "3"} | params
            )
        try:
            result = ET.fromstring(answer.content)
        except ET.ParseError:
            self.tally.server_errors.append(f"{step}: not XML: {answer.text[:200]}")
            raise CutOff(step) from None
        first = result.attrib.get("firstcode", "")
        if first == "0":
            order = result.find("orders/order")
            assert order is not None, answer.text
            return "0", {child.tag: child.text or "" for child in order}
        code = f"{first}/{result.attrib.get('secondcode', '')}"
        if first == "6":  # an internal error
            self.tally.server_errors.append(f"{step}: {code}")
        return code, {}

    # --- buyers ----------------------------------------------------------------------------

    async def buyer(self, number: int, stopping: asyncio.Event) -> None:
        rng = random.Random(f"{self.seed} buyer {number}")
        n = 0
        while not stopping.is_set():
            n += 1
            deal = self._deal(rng, f"S{self.seed}-B{number}-{n}")
            self.deals.append(deal)
            try:
                await self._pay(deal, rng)
            except CutOff as exc:
                deal.outcome = f"cut off at {exc}"
            except Unreachable as exc:
                deal.outcome = f"unreachable at {exc}"
            self.tally.payments[f"{deal.kind}: {deal.outcome}"] += 1
            if deal.outcome == "approved":
                task = asyncio.create_task(self._follow_up(deal, random.Random(rng.random())))
                self.follow_ups.add(task)
                task.add_done_callback(self.follow_ups.discard)

    def _deal(self, rng: random.Random, ordernumber: str) -> Deal:
        kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
        card = {
            "approved": rng.choice(APPROVING),
            "declined": rng.choice(DECLINING),
            "insufficient funds": POOR,
            "unanswered": UNANSWERED,
            "abandoned": rng.choice(APPROVING),
        }.get(kind, ENROLLED)
        amount = rng.randint(1001, 500_00) if card == POOR else rng.randint(1_00, 500_00)
        return Deal(ordernumber, kind, card, amount, delay=rng.random() < 0.5)

    async def _pay(self, deal: Deal, rng: random.Random) -> None:
        home = rng.randrange(len(self.urls))
        hops = rng.random() < 0.5

        def node() -> int:
            """The node of the next request: the buyer's own, or any."""
            return rng.randrange(len(self.urls)) if hops else home

        async with browser() as http:
            made = await self.send(http, node(), "order.cfm", "GET", "/pay/order.cfm", params={
                "Merchant_ID": MERCHANT_ID, "OrderNumber": deal.ordernumber,
                "OrderAmount": money(deal.amount), "OrderCurrency": "RUB",
                "Delay": "1" if deal.delay else "0",
                "URL_RETURN_OK": RETURN_OK, "URL_RETURN_NO": RETURN_NO,
            })  # fmt: skip
            if made.status_code != 303:
                deal.outcome = f"order.cfm answered {made.status_code}"
                return
            page = urlsplit(made.headers["location"]).path
            deal.billnumber = page.rsplit("/", 1)[1]
            if deal.kind == "abandoned":
                deal.outcome = "abandoned"
                return
            form = await self.send(http, node(), "card page", "GET", page)
            token = TOKEN.search(form.text)
            if token is None:
                deal.outcome = f"card page answered {form.status_code}"
                return
            sent = await self.send(http, node(), "card form", "POST", f"{page}/card", data={
                "token": token[1], "card_number": deal.card, "exp_month": "12",
                "exp_year": "2030", "cvc": "123", "cardholder": "CLUSTER BUYER",
            })  # fmt: skip
            location = sent.headers.get("location", "")
            if location.startswith(self.bank_url):
                back = await self._at_the_bank(deal, location)
                if back is None:
                    return
                way = urlsplit(back)
                for _ in range(RELOADS):  # the issuer's server was down: the buyer reloads
                    sent = await self.send(http, node(), "3-D Secure return", "GET",
                                           f"{way.path}?{way.query}")  # fmt: skip
                    location = sent.headers.get("location", "")
                    if not location.endswith("/result"):
                        break
                    await asyncio.sleep(1)
        deal.outcome = _outcome(sent.status_code, location)

    async def _at_the_bank(self, deal: Deal, challenge: str) -> str | None:
        """The buyer on the issuer's page; where it sends the buyer back, or None when the
        bank could not be reached or its answer was cut off."""
        code, action = {
            "3-D Secure, wrong code": ("0000", "submit"),
            "3-D Secure, cancelled": ("", "cancel"),
        }.get(deal.kind, ("1234", "submit"))
        async with browser() as bank:
            page = await self._bank_request(bank, "GET", challenge)
            if page is None or page.status_code != 200:
                deal.outcome = "the bank's page did not open"
                return None
            form = form_on(bank, page)
            answer = await self._bank_request(
                bank, "POST", form.action, data={"token": form.token, "code": code,
                                                 "action": action},
            )  # fmt: skip
        if answer is None or answer.status_code != 303:
            deal.outcome = "left at the bank"
            return None
        return answer.headers["location"]

    async def _bank_request(
        self, bank: httpx.AsyncClient, method: str, url: str, **kw: object
    ) -> httpx.Response | None:
        """A request to the simulator's pages, tried again while the simulator is down (a
        page cut off is loaded again; a form cut off is not sent again)."""
        for _ in range(ATTEMPTS):
            try:
                return await bank.request(method, url, **kw)  # type: ignore[arg-type]
            except (httpx.ConnectError, httpx.ConnectTimeout):
                self.tally.refused += 1
            except httpx.TransportError:
                self.tally.cut_off[f"bank {method}"] += 1
                if method != "GET":
                    return None
            await asyncio.sleep(0.2)
        return None

    # --- the shop --------------------------------------------------------------------------

    async def _follow_up(self, deal: Deal, rng: random.Random) -> None:
        """What the shop does with a paid order: confirms a held one, all at once or in parts
        (or lets its hold expire), cancels some or all of it, sooner or later."""
        a = deal.amount
        part = rng.randint(1, a - 1)
        plans: list[list[tuple[str, int | None]]]
        if deal.delay:
            plans = [
                [("confirm", None)],
                [("confirm", part), ("confirm", None)],
                [("confirm, release the rest", part)],
                [("cancel", part), ("confirm", None)],
                [("cancel", None)],
                [("confirm", None), ("cancel", part)],
                [],  # its hold expires
            ]
        else:
            plans = [
                [],
                [("cancel", part)],
                [("cancel", None)],
                [("later", None), ("cancel", part)],
            ]
        for step, amount in rng.choice(plans):
            await asyncio.sleep(rng.uniform(0, FOLLOW_UP_PAUSE))
            node = rng.randrange(len(self.urls))
            try:
                if step == "later":
                    await asyncio.sleep(rng.uniform(5, 20))  # past a settlement, likely
                elif step == "cancel":
                    await self._cancel(deal, amount, node, rng)
                else:
                    await self._confirm(deal, amount, node, release=step != "confirm")
            except Unreachable:
                self.tally.operations[f"{step}: unreachable"] += 1

    async def _confirm(self, deal: Deal, amount: int | None, node: int, *, release: bool) -> None:
        params = {"Billnumber": deal.billnumber}
        if amount is not None:
            params |= {"Amount": money(amount), "Currency": "RUB"}
        if release:
            params["AutoDeposit"] = "1"
        try:
            code, operation = await self.web_service(node, "charge.cfm", "/charge/charge.cfm",
                                                     params)  # fmt: skip
        except CutOff:
            deal.confirmed_unknown += deal.amount if amount is None else amount
            self.tally.operations["confirm: cut off"] += 1
            return
        if code == "0":
            deal.confirmed += minor_units(operation["amount"])
        self.tally.operations[f"confirm: {'ok' if code == '0' else code}"] += 1

    async def _cancel(self, deal: Deal, amount: int | None, node: int, rng: random.Random) -> None:
        """A cancel under an ExternalRefundID of its own, sent again (to any node) when it is
        cut off: IPS does it once."""
        once = f"cancel-{rng.getrandbits(64):016x}"
        params = {"Billnumber": deal.billnumber, "ExternalRefundID": once}
        if amount is not None:
            params |= {"Amount": money(amount), "Currency": "RUB"}
        for attempt in range(5):
            try:
                code, operation = await self.web_service(
                    node + attempt, "cancel.cfm", "/cancel/cancel.cfm", params
                )
            except CutOff:
                self.tally.operations["cancel: cut off, sent again"] += 1
                await asyncio.sleep(1)
                continue
            if code == "0":
                deal.cancels[once] = minor_units(operation["amount"])
            self.tally.operations[f"cancel: {'ok' if code == '0' else code}"] += 1
            return
        deal.cancels_unknown.add(once)


def _outcome(status: int, location: str) -> str:
    if location.startswith(RETURN_OK):
        return "approved"
    if location.startswith(RETURN_NO) or re.fullmatch(r"/pay/\d+", location):
        return "declined"  # the shop's page for it, or IPS's to try again
    if location.endswith("/result"):
        return "waiting"
    return f"answered {status} {location[:60]}"
