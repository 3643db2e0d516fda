"""The acquirer host simulator: an asyncio TCP server speaking IPS's ISO 8583 dialect.

It answers
- 0100 with 0110: the card checks of ``cards``, then ``94`` for a (terminal, RRN) that already
  holds money, ``51`` when the available amount is short, else a hold and ``00`` with an
  approval code (the never-answering test card gets its hold and no answer at all);
- 0400/0401 with 0410: ``00`` after releasing field 4's amount (at most what is still held)
  of the hold found by terminal (41), RRN (37) and the original STAN in field 90; a repeat of
  the same reversal answers ``00`` again and releases nothing more; ``25`` when no hold fits;
- 0220/0221 with 0230: ``00`` once the financial advice is staged in batch (41, 60) — a
  repeat (same terminal, batch and STAN, same content) answers ``00`` again and stages
  nothing more; ``25`` when no hold fits terminal, RRN (37), card, currency and merchant (42);
  ``13`` for a debit above what the hold still holds less the debits staged against it, or a
  credit above what was debited on that authorization less its credits posted or staged;
  ``12`` when the batch is accepted already or in another currency; ``94`` when the STAN
  names another advice of the batch;
- 0500 with 0510: ``00`` when the currency (50), counts (74, 76) and totals (86, 88) are
  those of the advices staged in the batch: they are all posted at once and the batch is
  accepted (closing an accepted batch again with the same figures posts nothing and answers
  ``00``); ``95`` otherwise, posting nothing: the staged advices stay for another try;
- 0800 with 0810: ``00`` for sign-on, sign-off and echo.
Before any of that the bank's own rules (``rules``) may refuse a request: ``92`` for an
acquirer id (field 32) it did not issue, ``58`` for an authorization in a currency it does
not take or a pre-authorization it does not take. The card of 3-D Secure (4000000000003220)
is held only when field 48 carries the CAVV (subelement 93) of a passed challenge of that
card not used before; else it is answered ``A3``. Beside the TCP server the simulator serves
its HTTP side on a port of its own (``web``): the issuer's 3-D Secure ACS, the Demo Wallet
and the Demo Points program, on the same store, and the bank's settlement report
(``report``).

A request with a readable MTI but unusable fields is answered ``30``; a message that cannot be
decoded at all is logged and dropped; a broken frame closes the connection. Requests are
handled concurrently, so answers may leave in another order than their requests came.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from demobank import cards, protocol
from demobank.forms import FormGuard
from demobank.ledger import (
    AdviceRequest,
    AmountNotAvailable,
    CloseRequest,
    DuplicateAdvice,
    DuplicateHold,
    HoldRequest,
    InsufficientFunds,
    Ledger,
    NoSuchHold,
    NotAuthenticated,
    NotInBatch,
    OutOfBalance,
    ReleaseRequest,
)
from demobank.report import ReportSite
from demobank.rules import ANY_RULES, Rules
from demobank.store import Clock, system_clock
from demobank.wallet_web import Sleep
from demobank.web import HttpServer, create_app
from paywire import framing, messages, spec
from paywire.messages import MalformedMessage, NetworkCode
from paywire.spec import Fields

log = logging.getLogger(__name__)

_ERROR_ECHO = ("7", "11", "37", "41")
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104
"""Where a client on this machine reaches a server listening on all addresses."""


class Simulator:
    """``await start()`` binds the ISO 8583 server on ``port`` and the HTTP side on
    ``http_port`` (0: any free port; both then name the bound ports); ``await stop()`` ends
    both. ``http_url`` is the HTTP side's base URL.

    Also an async context manager. ``received`` counts the requests taken, by MTI, and
    ``connections`` the connections accepted. ``clock`` gives the time to the ACS (the expiry
    of challenges), the wallet and the pages' forms; ``sleep`` keeps a buyer waiting after a
    wrong wallet password. ``rules`` are the bank's own: its name, its acquirer id, what it
    takes.
    """

    def __init__(
        self,
        store_path: Path | str,
        host: str = "127.0.0.1",
        port: int = 0,
        http_port: int = 0,
        *,
        clock: Clock = system_clock,
        sleep: Sleep = asyncio.sleep,
        rules: Rules = ANY_RULES,
    ) -> None:
        self.store_path = Path(store_path)
        self.rules = rules
        self.host = host
        self.port = port
        self.http_port = http_port
        self.received: Counter[str] = Counter()
        self.connections = 0
        self._clock = clock
        self._sleep = sleep
        self._ledger: Ledger | None = None
        self._server: asyncio.Server | None = None
        self._http: HttpServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise RuntimeError("the simulator is not running")
        return self._ledger

    @property
    def http_url(self) -> str:
        """``http://HOST:PORT`` of the HTTP side (the loopback address when it listens on all
        addresses)."""
        if self._http is None:
            raise RuntimeError("the simulator is not running")
        host = _LOOPBACK.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.http_port}"

    async def start(self) -> None:
        self._ledger = await Ledger.open(self.store_path, clock=self._clock)
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
            self.port = self._server.sockets[0].getsockname()[1]
            ledger = self._ledger
            guard = FormGuard(ledger.form_key, self._clock)
            app = create_app(
                ledger.acs,
                ledger.wallet,
                guard,
                loyalty=ledger.loyalty,
                sleep=self._sleep,
                report=ReportSite(ledger, self.rules),
            )
            http = HttpServer(app, self.host, self.http_port)
            await http.start()
        except BaseException:
            await self.stop()
            raise
        self._http, self.http_port = http, http.port
        log.info(
            "bank %s: processing center simulator listening on %s:%s (ISO 8583) and %s"
            " (3-D Secure ACS, Demo Wallet, Demo Points, settlement report), store %s",
            self.rules.name,
            self.host,
            self.port,
            self.http_url,
            self.store_path,
        )

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            if self._handlers:
                await asyncio.wait(list(self._handlers), timeout=1.0)
            late = list(self._handlers)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self._ledger is not None:
            await self._ledger.close()
            self._ledger = None

    async def serve_forever(self, on_ready: Callable[[Simulator], None] | None = None) -> None:
        """Start, call ``on_ready`` (when given) and serve until cancelled."""
        await self.start()
        try:
            if on_ready is not None:
                on_ready(self)
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                message = await framing.read_frame(reader)
                self._spawn(self._handle(message, writer))
        except framing.FramingError as exc:
            log.warning("broken framing from a client, closing its connection: %s", exc)
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _spawn(self, handling: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(handling)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _handle(self, message: bytes, writer: asyncio.StreamWriter) -> None:
        try:
            request = spec.decode(message)
        except spec.CodecError as exc:
            log.warning("undecodable message ignored: %s", exc)
            return
        mti = request["t"]
        log.debug("received %s", messages.masked(request))
        try:
            messages.answer_mti(mti)
        except MalformedMessage:
            log.warning("message %r is not a request: ignored", mti)
            return
        self.received[mti] += 1
        try:
            answer = await self._answer(request)
        except MalformedMessage as exc:
            log.warning("malformed %s answered 30: %s", mti, exc)
            answer = protocol.reply(request, "30", _ERROR_ECHO)
        except Exception:
            log.exception("failed to handle %s; answered 96", mti)
            answer = protocol.reply(request, "96", _ERROR_ECHO)
        if answer is None or writer.is_closing():
            return
        log.debug("sending %s", messages.masked(answer))
        writer.write(framing.frame(spec.encode(answer)))

    async def _answer(self, request: Fields) -> Fields | None:
        mti = request["t"]
        refused = self.rules.refusal(request)
        if refused is not None and mti in protocol.ECHOES:
            log.info("%s refused %s by its rules: %s", self.rules.name, mti, refused)
            return protocol.reply(request, refused, protocol.ECHOES[mti])
        if mti == messages.AUTHORIZATION:
            return await self._authorize(request)
        if mti in (messages.REVERSAL, messages.REVERSAL_REPEAT):
            return await self._reverse(request)
        if mti in (messages.ADVICE, messages.ADVICE_REPEAT):
            return await self._advise(request)
        if mti == messages.RECONCILIATION:
            return await self._reconcile(request)
        if mti == messages.NETWORK:
            code = "00" if request.get("70") in set(NetworkCode) else "30"
            return protocol.reply(request, code, protocol.NETWORK_ECHO)
        raise MalformedMessage(f"MTI {mti} is not supported")

    async def _authorize(self, request: Fields) -> Fields | None:
        auth = protocol.parse_authorization(request)
        echo = protocol.AUTHORIZATION_ECHO
        code = cards.issuer_decision(
            auth.pan, auth.expiry, auth.cvc, datetime.now(UTC).date(), stored_card=auth.stored_card
        )
        if code != messages.APPROVED:
            return protocol.reply(request, code, echo)
        behaviour = cards.behaviour(auth.pan)
        answers = behaviour.answers
        hold_request = HoldRequest(
            pan=auth.pan,
            amount=auth.amount,
            terminal_id=auth.terminal_id,
            rrn=auth.rrn,
            stan=auth.stan,
            transmitted=auth.transmitted,
            merchant_id=auth.merchant_id,
            answered=answers,
            cavv=auth.cavv if behaviour.three_d_secure else None,
        )
        try:
            hold = await self.ledger.place_hold(hold_request)
        except DuplicateHold:
            return protocol.reply(request, "94", echo)
        except NotAuthenticated:
            return protocol.reply(request, "A3", echo)
        except InsufficientFunds:
            return protocol.reply(request, "51", echo)
        if not answers:
            log.info("hold %s placed; its answer is kept back (test card)", hold.id)
            return None
        return protocol.reply(request, messages.APPROVED, echo, hold.approval_code)

    async def _reverse(self, request: Fields) -> Fields:
        reversal = protocol.parse_reversal(request)
        if reversal.original.mti != messages.AUTHORIZATION:
            return protocol.reply(request, "25", protocol.REVERSAL_ECHO)
        release = ReleaseRequest(
            pan=reversal.pan,
            amount=reversal.amount,
            terminal_id=reversal.terminal_id,
            rrn=reversal.rrn,
            original_stan=reversal.original.stan,
            stan=reversal.stan,
            transmitted=reversal.transmitted,
        )
        try:
            await self.ledger.release(release)
        except NoSuchHold:
            return protocol.reply(request, "25", protocol.REVERSAL_ECHO)
        return protocol.reply(request, messages.APPROVED, protocol.REVERSAL_ECHO)

    async def _advise(self, request: Fields) -> Fields:
        advice = protocol.parse_advice(request)
        stage = AdviceRequest(
            pan=advice.pan,
            amount=advice.amount,
            kind=advice.kind,
            terminal_id=advice.terminal_id,
            rrn=advice.rrn,
            stan=advice.stan,
            transmitted=advice.transmitted,
            merchant_id=advice.merchant_id,
            batch=advice.batch,
        )
        try:
            await self.ledger.stage(stage)
        except NoSuchHold:
            code = "25"
        except AmountNotAvailable as exc:
            log.info("advice %s refused: %s", advice.stan, exc)
            code = "13"
        except NotInBatch as exc:
            log.info("advice %s refused: %s", advice.stan, exc)
            code = "12"
        except DuplicateAdvice:
            code = "94"
        else:
            code = messages.APPROVED
        return protocol.reply(request, code, protocol.ADVICE_ECHO)

    async def _reconcile(self, request: Fields) -> Fields:
        totals = protocol.parse_reconciliation(request)
        close = CloseRequest(
            terminal_id=totals.terminal_id,
            batch=totals.batch,
            currency=totals.currency,
            debits=totals.debits,
            debit_total=totals.debit_total,
            credits=totals.credits,
            credit_total=totals.credit_total,
        )
        try:
            batch = await self.ledger.close_batch(close)
        except OutOfBalance as exc:
            log.warning("out of balance: %s", exc)
            return protocol.reply(request, "95", protocol.RECONCILIATION_ECHO)
        log.info("batch %s of %s accepted", batch.number, batch.terminal_id)
        return protocol.reply(request, messages.APPROVED, protocol.RECONCILIATION_ECHO)


async def run(
    host: str,
    port: int,
    store_path: Path,
    *,
    http_port: int = 0,
    on_ready: Callable[[Simulator], None] | None = None,
    rules: Rules = ANY_RULES,
) -> None:
    """Serve as the processing center until cancelled (``python -m demobank``): ISO 8583
    on ``port``, the ACS, the wallet and the report over HTTP on ``http_port`` (0: any free
    port), under ``rules``.

    Logs the addresses it listens on; ``on_ready`` is called once it does.
    """
    await Simulator(store_path, host, port, http_port, rules=rules).serve_forever(on_ready)
