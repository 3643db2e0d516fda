"""The installation the kill tests run in, and the operations they kill processes in.

``Site``: one database, one processing center (``ips processing-center``), one shop's
notification endpoint, and an IPS server without faults — the *front* — where buyers and the
shop do what a case needs done first. ``Site.kill_at(point, flow)`` starts a process with
``point`` armed to kill (``IPS_FAULTS``), drives ``flow`` through it, and checks that it died of
SIGKILL at that point.

A flow (``FLOWS``) is an operation as a buyer, a shop or an operator makes it, with the points
it passes. Requests to the armed server go through ``Run.armed``, where a lost connection
means the process ended (``Died``); an armed ``ips settle`` or ``ips worker`` is watched until
it ends.

A process may be started *ahead*: the clock its services read runs that much ahead of the
real one, as for a node started that much later. What a dead process left waits for time to
pass — a lease of two minutes, an authorization unanswered for twice the processing timeout
and 30 s, a 3-D Secure check for 15 minutes — and a process ahead finds it due at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from ips.storage.database import create_engine
from tests import leaks
from tests.processes import free_port
from tests.shop import Shop
from tests.simulator_browser import form_on

AHEAD = """\
import os
from datetime import timedelta

import ips.services.clock as clock

ahead, real = timedelta(seconds=float(os.environ["IPS_TEST_CLOCK_AHEAD"])), clock.utc_now
clock.utc_now = lambda: real() + ahead

from ips.cli import app

app(prog_name="ips")
"""
"""``ips`` with the clock of its services moved on by ``IPS_TEST_CLOCK_AHEAD`` seconds — set
before any module takes ``utc_now`` for its own."""

MERCHANT = "111111"
STRICT = "222222"
"""The shop that requires 3-D Secure."""
WEB_SERVICE = {"Merchant_ID": MERCHANT, "Login": "shop", "Password": "shop-password"}
APPROVED_CARD = "4111111111111111"
SILENT_CARD = "4000000000000119"
"""The card whose authorization the processing center holds and never answers."""
ENROLLED_CARD = "4000000000003220"
"""The card of 3-D Secure: the issuer's page asks for a code (``1234``)."""
CARDS = (APPROVED_CARD, SILENT_CARD, ENROLLED_CARD)
POINTS_ACCOUNT = "7000000001"
"""Demo Points' account with 100,000 points (PIN 1111)."""
LATER = timedelta(minutes=20)
"""How far ahead the janitors of the cases run: past every lease, stale authorization and
abandoned 3-D Secure check the kills before them left."""
DEATH = 30.0
"""Seconds an armed process has to reach its point and die."""


class Died(Exception):
    """The armed process ended: its connection was lost, or it exited."""


@dataclass
class Process:
    name: str
    popen: asyncio.subprocess.Process
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


@dataclass
class Site:
    cwd: Path
    database_url: str
    shop: Shop
    pc_port: int = field(default_factory=free_port)
    bank_port: int = field(default_factory=free_port)
    front: str = ""
    processes: list[Process] = field(default_factory=list)
    killed: dict[str, str] = field(default_factory=dict)
    """Each point a process died at, and the order number of the case that armed it."""
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    @property
    def store(self) -> Path:
        return self.cwd / "bank.sqlite3"

    @property
    def bank(self) -> str:
        """The simulator's HTTP side: the issuer's 3-D Secure pages and the wallet."""
        return f"http://127.0.0.1:{self.bank_port}"

    def env(self, **settings: str) -> dict[str, str]:
        return {
            **{name: value for name, value in os.environ.items() if not name.startswith("IPS_")},
            **leaks.passed_on(),
            "PYTHONUNBUFFERED": "1",
            "IPS_DATABASE_URL": self.database_url,
            "IPS_PROCESSING": f"127.0.0.1:{self.pc_port}",
            "IPS_THREEDS_URL": self.bank,
            "IPS_WALLET_URL": self.bank,
            "IPS_LOYALTY_URL": self.bank,
            "IPS_SIMULATOR_STORE": str(self.store),
            "IPS_PROCESSING_TIMEOUT": "1",
            "IPS_ORDER_LIFETIME": "1800",  # over by the recovery's clock (40 minutes on)
            "IPS_JANITOR_INTERVAL": "0.2",
            "IPS_NOTIFICATION_INTERVAL": "0.2",
            "IPS_NOTIFICATION_PORTS": str(self.shop.port),
            "IPS_NOTIFICATION_NETWORKS": "127.0.0.0/8",
            **{f"IPS_{name.upper()}": value for name, value in settings.items()},
        }

    async def start(
        self,
        name: str,
        *args: str,
        faults: str = "",
        ahead: timedelta = timedelta(0),
        **settings: str,
    ) -> Process:
        """``ips ARGS…`` in the background, its output in ``logs/``."""
        log = self.cwd / "logs" / f"{next(self._numbers):03d}-{name}.log"
        log.parent.mkdir(exist_ok=True)
        env = self.env(**settings)
        if faults:
            env["IPS_FAULTS"] = faults
        if ahead:
            env["IPS_TEST_CLOCK_AHEAD"] = str(ahead.total_seconds())
        with log.open("wb") as out:
            popen = await asyncio.create_subprocess_exec(
                sys.executable, *(["-c", AHEAD] if ahead else ["-m", "ips"]), *args,
                cwd=self.cwd, env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    async def ips(self, *args: str) -> Process:
        """``ips ARGS…`` run to its end."""
        process = await self.start(args[0], *args)
        await asyncio.wait_for(process.popen.wait(), 60)
        return process

    async def listening(self, process: Process, port: int) -> None:
        deadline = time.monotonic() + 30
        while True:
            if process.popen.returncode is not None:
                raise AssertionError(f"{process.name} ended as it started:\n{process.tail()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                assert time.monotonic() < deadline, f"{process.name} does not listen"
                await asyncio.sleep(0.05)
            else:
                writer.close()
                await writer.wait_closed()
                return

    async def serve(self, name: str, faults: str = "", **settings: str) -> tuple[Process, str]:
        """``ips serve --no-workers`` on a port of its own; its base URL once it listens."""
        port = free_port()
        process = await self.start(name, "serve", "--no-workers", "--port", str(port),
                                   faults=faults, ahead=timedelta(0), **settings)  # fmt: skip
        await self.listening(process, port)
        return process, f"http://127.0.0.1:{port}"

    async def open(self) -> None:
        """Starts the processing center, adds the shop, starts the front."""
        center = await self.start(
            "processing-center", "processing-center", "--port", str(self.pc_port),
            "--http-port", str(self.bank_port), "--store", str(self.store),
        )  # fmt: skip
        await self.listening(center, self.pc_port)
        await self.listening(center, self.bank_port)
        added = await self.ips(
            "merchant", "add", "--merchant-id", MERCHANT, "--name", "Demo Shop", "--login",
            "shop", "--password", "shop-password", "--secret-word", "secret", "--double-stage",
            "--return-host", "shop.example", "--callback-url", self.shop.url,
            "--notify", "payment,confirmation,cancel", "--means", "card,wallet,points",
        )  # fmt: skip
        assert added.popen.returncode == 0, added.output()
        hooked = await self.ips(
            "webhook", "add", "--merchant-id", MERCHANT, "--url", self.shop.webhook_url
        )
        assert hooked.popen.returncode == 0, hooked.output()
        added = await self.ips(
            "merchant", "add", "--merchant-id", STRICT, "--name", "Strict Shop", "--login",
            "strict", "--password", "strict-password", "--secret-word", "secret",
            "--return-host", "shop.example", "--require-3ds",
        )  # fmt: skip
        assert added.popen.returncode == 0, added.output()
        _, self.front = await self.serve("front")

    async def close(self) -> None:
        """Stops what still runs (SIGTERM, then SIGKILL after 30 s)."""
        running = [p for p in self.processes if p.popen.returncode is None]
        for process in running:
            process.popen.send_signal(signal.SIGTERM)
        for process in running:
            try:
                await asyncio.wait_for(process.popen.wait(), 30)
            except TimeoutError:
                process.popen.kill()
                await process.popen.wait()

    async def kill_at(self, case: str, flow: Flow, *, retry: bool = False) -> None:
        """Drives ``flow`` with the point of ``case`` (``NAME``, or ``NAME@N`` for its N-th
        pass) armed to kill; fails unless its process died there. With ``retry``, the request
        the dead server left unanswered is then sent to the front, as a buyer reloads a page
        or a shop repeats a call."""
        point = case.partition("@")[0]
        run = Run(self, case, f"{case}/{flow.name}/{next(self._numbers)}")
        async with run.buyer:
            try:
                await flow.drive(run)
            except Died:
                pass
            except Exception as exc:
                said = run.process.tail() if run.process else ""
                raise AssertionError(f"{flow.name} failed first: {exc!r}\n{said}") from exc
            else:
                raise AssertionError(f"{flow.name} went through with its process alive")
            await self._died(run, point, flow)
            if retry and run.unanswered is not None:
                method, path, fields = run.unanswered
                again = await run.buyer.http.request(method, f"{self.front}{path}", data=fields)
                assert again.status_code < 500, f"{flow.name}, repeated: {again.text}"
                await run.buyer.goes_on(again, self.bank)

    async def _died(self, run: Run, point: str, flow: Flow) -> None:
        process = run.process
        assert process is not None
        try:
            code = await asyncio.wait_for(process.popen.wait(), DEATH)
        except TimeoutError:
            process.popen.kill()
            await process.popen.wait()
            raise AssertionError(f"{flow.name}: the process lives on:\n{process.tail()}") from None
        if code != -signal.SIGKILL or f"fault point {point}: kill\n" not in process.output():
            raise AssertionError(f"{flow.name}: the process ended with {code}:\n{process.tail()}")
        self.killed[point] = run.ordernumber

    async def rows(self, sql: str) -> list[Any]:
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as conn:
                return list(await conn.execute(text(sql)))
        finally:
            await engine.dispose()


def card_form(token: str, number: str) -> dict[str, str]:
    return {"token": token, "card_number": number, "exp_month": "12", "exp_year": "2030",
            "cvc": "123", "cardholder": "IVAN PETROV"}  # fmt: skip


class Buyer:
    """A browser on IPS's pages (of any node: they share the key file) and the bank's."""

    def __init__(self) -> None:
        async def as_on_loopback(response: httpx.Response) -> None:
            for cookie in self.http.cookies.jar:  # browsers send Secure cookies to loopback
                cookie.secure = False

        self.http = httpx.AsyncClient(timeout=30, event_hooks={"response": [as_on_loopback]})

    async def __aenter__(self) -> Buyer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def order(self, server: str, ordernumber: str, **params: str) -> str:
        """Sends the shop's payment request; the order's billnumber."""
        answer = await self.http.get(
            f"{server}/pay/order.cfm",
            params={
                "Merchant_ID": MERCHANT, "OrderNumber": ordernumber, "OrderAmount": "100.00",
                "OrderCurrency": "RUB", "URL_RETURN_OK": "https://shop.example/ok",
                "URL_RETURN_NO": "https://shop.example/no", **params,
            },
        )  # fmt: skip
        assert answer.status_code == 303, answer.text
        return answer.headers["location"].rsplit("/", 1)[-1]

    async def token(self, server: str, billnumber: str, means: str = "card") -> str:
        """The token of the form to pay by ``means`` (``card``, ``wallet``)."""
        page = await self.http.get(f"{server}/pay/{billnumber}/{means}")
        found = re.search(r'name="token" value="([^"]+)"', page.text)
        assert found is not None, page.text
        return found[1]

    async def at_the_bank(self, sent: httpx.Response, **fields: str) -> str:
        """Answers the bank's page IPS sent the buyer to; where the bank sends the buyer back."""
        assert sent.status_code == 303, sent.text
        form = form_on(self.http, await self.http.get(sent.headers["location"]))
        answered = await form.post(**fields)
        assert answered.status_code == 303, answered.text
        return answered.headers["location"]

    async def goes_on(self, answer: httpx.Response, bank: str) -> None:
        """Where ``answer`` sends the buyer to the bank's page, the buyer answers it (the
        right code, or the wallet's demo account) and comes back."""
        where = answer.headers.get("location", "")
        if answer.status_code != 303 or not where.startswith(bank):
            return
        if "/wallet/" in where:
            back = await self.at_the_bank(answer, login="demo", password="demo", action="pay")
        else:
            back = await self.at_the_bank(answer, code="1234", action="submit")
        returned = await self.http.get(back)
        assert returned.status_code < 500, returned.text

    async def pays(self, server: str, ordernumber: str, **params: str) -> str:
        """Pays a new order by card on ``server``; its billnumber."""
        billnumber = await self.order(server, ordernumber, **params)
        token = await self.token(server, billnumber)
        paid = await self.http.post(f"{server}/pay/{billnumber}/card",
                                    data=card_form(token, APPROVED_CARD))  # fmt: skip
        assert paid.headers["location"].startswith("https://shop.example/ok?"), paid.text
        return billnumber

    async def pays_by_wallet(self, server: str, ordernumber: str) -> str:
        billnumber = await self.order(server, ordernumber)
        token = await self.token(server, billnumber, "wallet")
        sent = await self.http.post(f"{server}/pay/{billnumber}/wallet", data={"token": token})
        back = await self.at_the_bank(sent, login="demo", password="demo", action="pay")
        paid = await self.http.get(back)
        assert paid.headers["location"].startswith("https://shop.example/ok?"), paid.text
        return billnumber


@dataclass
class Run:
    """One case: the point of ``case`` armed in a process of its own, a flow driven through
    it."""

    site: Site
    case: str
    ordernumber: str
    buyer: Buyer = field(default_factory=Buyer)
    process: Process | None = None
    server: str = ""
    """The armed server's base URL."""
    unanswered: tuple[str, str, dict[str, str] | None] | None = None
    """The last request to the armed server: method, path and query, form."""

    @property
    def faults(self) -> str:
        point, at, nth = self.case.partition("@")
        return f"{point}=kill{at}{nth}"

    async def serve(self, **settings: str) -> None:
        self.process, self.server = await self.site.serve(self.case, faults=self.faults, **settings)

    async def armed(
        self, method: str, path: str, fields: dict[str, str] | None = None
    ) -> httpx.Response:
        """A request to the armed server (``path`` may be a URL of it); ``Died`` when the
        server ends before it answers."""
        url = httpx.URL(path)
        path = url.raw_path.decode("ascii")
        self.unanswered = (method, path, fields)
        try:
            return await self.buyer.http.request(method, f"{self.server}{path}", data=fields)
        except httpx.TransportError as exc:
            raise Died(self.case) from exc

    async def command(self, *args: str, ahead: timedelta = timedelta(0), **settings: str) -> None:
        """``ips ARGS…`` armed, until it ends (``Died``)."""
        self.process = await self.site.start(
            self.case, *args, faults=self.faults, ahead=ahead, **settings
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.popen.wait(), DEATH)
        raise Died(self.case)


@dataclass(frozen=True)
class Flow:
    name: str
    drive: Callable[[Run], Awaitable[None]]
    points: tuple[str, ...]
    """The points it passes in its armed process, in order."""
    served: bool = True
    """Its armed process is a server (``ips serve``), which leaves a request unanswered. The
    others — ``ips settle``, ``ips worker`` — run one at a time: each sends whatever batch is
    unsent and notification is due, so two at once would take each other's."""
    later: bool = False
    """Its armed process runs ahead (``LATER``): it comes after the flows that run now, one at
    a time, since it takes up what they left."""


async def _card(run: Run, number: str, **settings: str) -> None:
    billnumber = await run.buyer.order(run.site.front, run.ordernumber)
    token = await run.buyer.token(run.site.front, billnumber)
    await run.serve(**settings)
    await run.armed("POST", f"/pay/{billnumber}/card", card_form(token, number))


async def card(run: Run) -> None:
    """A single-stage payment by a card without 3-D Secure, outside every card range the
    3-D Secure server publishes: authorized at once."""
    await _card(run, APPROVED_CARD)


async def card_asked(run: Run) -> None:
    """The same, by a server that holds no card ranges (``threeds_ranges_refresh`` 0): the
    3-D Secure server is asked about the card first."""
    await _card(run, APPROVED_CARD, threeds_ranges_refresh="0")


async def card_unanswered(run: Run) -> None:
    """A payment whose authorization is never answered: declined after the processing timeout,
    and its hold reversed while the buyer waits."""
    await _card(run, SILENT_CARD)


async def _card_3ds(run: Run, code: str) -> None:
    billnumber = await run.buyer.order(run.site.front, run.ordernumber)
    token = await run.buyer.token(run.site.front, billnumber)
    await run.serve()
    sent = await run.armed("POST", f"/pay/{billnumber}/card", card_form(token, ENROLLED_CARD))
    back = await run.buyer.at_the_bank(sent, code=code, action="submit")
    await run.armed("GET", back)


async def card_3ds(run: Run) -> None:
    """A payment by the card of 3-D Secure, the right code typed on the issuer's page."""
    await _card_3ds(run, "1234")


async def card_3ds_failed(run: Run) -> None:
    """A payment by the card of 3-D Secure, a wrong code typed: declined with AS110."""
    await _card_3ds(run, "0000")


async def card_3ds_required(run: Run) -> None:
    """A payment by a card without 3-D Secure at the shop that requires it: declined."""
    billnumber = await run.buyer.order(run.site.front, run.ordernumber, Merchant_ID=STRICT)
    token = await run.buyer.token(run.site.front, billnumber)
    await run.serve()
    await run.armed("POST", f"/pay/{billnumber}/card", card_form(token, APPROVED_CARD))


async def points(run: Run) -> None:
    """50.00 of a 150.00 order paid with 50 bonus points (Demo Points), the rest by card."""
    billnumber = await run.buyer.order(run.site.front, run.ordernumber, OrderAmount="150.00")
    token = await run.buyer.token(run.site.front, billnumber)
    await run.serve()
    paying = card_form(token, APPROVED_CARD)
    paying |= {"points": "50", "points_account": POINTS_ACCOUNT, "points_pin": "1111"}
    await run.armed("POST", f"/pay/{billnumber}/card", paying)


async def choice(run: Run) -> None:
    """The buyer chooses the card on the page of ways to pay: its payment is made, in
    process, and left there (the janitor ends it with the order)."""
    billnumber = await run.buyer.order(run.site.front, run.ordernumber)
    token = await run.buyer.token(run.site.front, billnumber)
    await run.serve()
    await run.armed("POST", f"/pay/{billnumber}/choose", {"token": token, "means": "card"})


async def wallet(run: Run) -> None:
    """A payment with the Demo Wallet."""
    billnumber = await run.buyer.order(run.site.front, run.ordernumber)
    token = await run.buyer.token(run.site.front, billnumber, "wallet")
    await run.serve()
    sent = await run.armed("POST", f"/pay/{billnumber}/wallet", {"token": token})
    back = await run.buyer.at_the_bank(sent, login="demo", password="demo", action="pay")
    await run.armed("GET", back)


async def _web_service(run: Run, path: str, **params: str) -> None:
    await run.serve()
    await run.armed("POST", path, {**WEB_SERVICE, **params})


async def wallet_refund(run: Run) -> None:
    """The shop cancels a wallet payment: a refund at the wallet."""
    billnumber = await run.buyer.pays_by_wallet(run.site.front, run.ordernumber)
    await _web_service(run, "/cancel/cancel.cfm", Billnumber=billnumber)


async def confirmation(run: Run) -> None:
    """The shop confirms 60.00 of a 100.00 hold, AutoDeposit releasing the rest."""
    billnumber = await run.buyer.pays(run.site.front, run.ordernumber, Delay="1")
    await _web_service(run, "/charge/charge.cfm", Billnumber=billnumber, Amount="60.00",
                       Currency="RUB", AutoDeposit="1")  # fmt: skip


async def cancel(run: Run) -> None:
    """The shop cancels 30.00 of a 100.00 hold: a partial reversal."""
    billnumber = await run.buyer.pays(run.site.front, run.ordernumber, Delay="1")
    await _web_service(run, "/cancel/cancel.cfm", Billnumber=billnumber, Amount="30.00",
                       Currency="RUB")  # fmt: skip


async def settlement(run: Run) -> None:
    """``ips settle`` after two single-stage payments: a batch of two advices at least."""
    for n in (1, 2):
        await run.buyer.pays(run.site.front, f"{run.ordernumber}/{n}")
    await run.command("settle")


async def notification(run: Run) -> None:
    """A worker delivers the notification of a payment to the shop. Its janitor waits long
    enough (processing timeout 60 s) to leave alone what the other cases' kills left."""
    await run.buyer.pays(run.site.front, run.ordernumber)
    await run.command("worker", processing_timeout="60")


async def webhook(run: Run) -> None:
    """A worker delivers the webhook events of a payment to the shop's endpoint (with the
    notification, as every worker does both)."""
    await run.buyer.pays(run.site.front, run.ordernumber)
    await run.command("worker", processing_timeout="60")


async def janitor_gives_up(run: Run) -> None:
    """A janitor later gives up an authorization whose server died waiting for its answer,
    and reverses it."""
    await run.site.kill_at("payment.authorization.sent", FLOWS["card"])
    await run.command("worker", ahead=LATER)


async def janitor_gives_up_check(run: Run) -> None:
    """A janitor later gives up a 3-D Secure check the buyer never came back from (its
    server died as it sent the buyer to the issuer)."""
    await run.site.kill_at("payment.authentication.committed", FLOWS["card_3ds"])
    await run.command("worker", ahead=LATER)


async def janitor_gives_up_wallet(run: Run) -> None:
    """A janitor later declines a wallet payment the provider made but IPS never recorded
    the name of (its server died in between): the buyer was never sent to it."""
    await run.site.kill_at("wallet.create.sent", FLOWS["wallet"])
    await run.command("worker", ahead=LATER)


async def janitor_repeats_points(run: Run) -> None:
    """A janitor later sends again the spend of points whose server died as it sent it (the
    program spent them once), and records the answer."""
    await run.site.kill_at("points.exchange.sent", FLOWS["points"])
    await run.command("worker", ahead=LATER)


async def janitor_expires(run: Run) -> None:
    """A janitor later expires an order nobody paid (a lifetime of 10 minutes)."""
    await run.buyer.order(run.site.front, run.ordernumber)
    await run.command("worker", ahead=LATER, order_lifetime="PT10M")


async def janitor_releases(run: Run) -> None:
    """A janitor later releases a hold nobody confirmed (a hold period of 10 minutes)."""
    await run.buyer.pays(run.site.front, run.ordernumber, Delay="1")
    await run.command("worker", ahead=LATER, hold_period="PT10M")


DIRECT = ("payment.begin.committing", "payment.begin.committed")
BEGIN = (*DIRECT, "payment.enrollment.sent")
AUTHORIZATION = (
    "payment.authorization.sent",
    "payment.answer.committing",
    "payment.answer.committed",
)
NOT_ENROLLED = (*BEGIN, "payment.not_enrolled.committing", "payment.not_enrolled.committed")
CHALLENGE = (
    *BEGIN,
    "payment.authentication.committing",
    "payment.authentication.committed",
    "authentication.result.sent",
    "authentication.close.committing",
    "authentication.close.committed",
)
REVERSAL = (
    "reversal.prepare.committing",
    "reversal.prepare.committed",
    "reversal.sent",
    "reversal.record.committing",
    "reversal.record.committed",
)
CLAIM = ("janitor.claim.committing", "janitor.claim.committed")
POINTS_ANSWER = ("points.exchange.sent", "points.answer.committing")
FLOWS = {
    flow.name: flow
    for flow in (
        Flow("card", card, (*DIRECT, *AUTHORIZATION)),
        Flow("card_asked", card_asked, (*NOT_ENROLLED, *AUTHORIZATION)),
        Flow("card_unanswered", card_unanswered, (*DIRECT, *AUTHORIZATION, *REVERSAL)),
        Flow("card_3ds", card_3ds, (*CHALLENGE, *AUTHORIZATION)),
        Flow("card_3ds_failed", card_3ds_failed, CHALLENGE),
        Flow(
            "card_3ds_required",
            card_3ds_required,
            (*BEGIN, "payment.decline.committing", "payment.decline.committed"),
        ),
        Flow(
            "points",
            points,
            (
                "points.begin.committing",
                "points.begin.committed",
                "points.reservation.sent",
                "points.reservation.committing",
                *DIRECT,
                *AUTHORIZATION,
                "points.follow.committing",
                "points.follow.committed",
                *POINTS_ANSWER,
            ),
        ),
        Flow("choice", choice, ("choice.committing", "choice.committed")),
        Flow(
            "wallet",
            wallet,
            (
                "payment.begin.committing",
                "payment.begin.committed",
                "wallet.create.sent",
                "wallet.reference.committing",
                "wallet.reference.committed",
                "wallet.status.sent",
                "wallet.answer.committing",
                "wallet.answer.committed",
            ),
        ),
        Flow(
            "wallet_refund",
            wallet_refund,
            (
                "cancel.committing",
                "cancel.committed",
                "wallet_refund.prepare.committing",
                "wallet_refund.prepare.committed",
                "wallet_refund.sent",
                "wallet_refund.record.committing",
                "wallet_refund.record.committed",
            ),
        ),
        Flow(
            "confirmation",
            confirmation,
            ("confirmation.committing", "confirmation.committed", *REVERSAL),
        ),
        Flow("cancel", cancel, ("cancel.committing", "cancel.committed", *REVERSAL)),
        Flow(
            "settlement",
            settlement,
            (
                "settlement.batching.committing",
                "settlement.batching.committed",
                "settlement.claim.committing",
                "settlement.claim.committed",
                "settlement.advice.sent",
                "settlement.advice.sent@2",
                "settlement.renewal.committing",
                "settlement.renewal.committed",
                "settlement.batch_close.sent",
                "settlement.record.committing",
                "settlement.record.committed",
            ),
            served=False,
        ),
        Flow(
            "notification",
            notification,
            (
                "notification.claim.committing",
                "notification.claim.committed",
                "notification.sent",
                "notification.record.committing",
                "notification.record.committed",
            ),
            served=False,
        ),
        Flow(
            "webhook",
            webhook,
            (
                "webhook.claim.committing",
                "webhook.claim.committed",
                "webhook.sent",
                "webhook.record.committing",
                "webhook.record.committed",
            ),
            served=False,
        ),
        Flow(
            "janitor_gives_up",
            janitor_gives_up,
            (*CLAIM, "janitor.give_up.committing", "janitor.give_up.committed", *REVERSAL),
            served=False,
            later=True,
        ),
        Flow(
            "janitor_gives_up_check",
            janitor_gives_up_check,
            (
                *CLAIM,
                "authentication.close.committing",
                "authentication.close.committed",
                "janitor.release.committing",
                "janitor.release.committed",
                "janitor.cvc_purge.committing",
                "janitor.cvc_purge.committed",
                "janitor.kept_card_purge.committing",
                "janitor.kept_card_purge.committed",
            ),
            served=False,
            later=True,
        ),
        Flow(
            "janitor_gives_up_wallet",
            janitor_gives_up_wallet,
            (*CLAIM, "wallet.give_up.committing", "wallet.give_up.committed"),
            served=False,
            later=True,
        ),
        Flow(
            "janitor_repeats_points",
            janitor_repeats_points,
            (
                *CLAIM,
                "points.repeat.committing",
                "points.exchange.sent",
                "points.answer.committing",
            ),
            served=False,
            later=True,
        ),
        Flow(
            "janitor_expires",
            janitor_expires,
            ("janitor.expiry.committing", "janitor.expiry.committed"),
            served=False,
            later=True,
        ),
        Flow(
            "janitor_releases",
            janitor_releases,
            ("janitor.hold_release.committing", "janitor.hold_release.committed", *REVERSAL),
            served=False,
            later=True,
        ),
    )
}
