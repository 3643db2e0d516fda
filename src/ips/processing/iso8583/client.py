"""``Iso8583ProcessingCenter``: the ``ProcessingCenter`` port over ISO 8583 and one TCP connection.

- The connection is opened by ``start()`` or, when the host is down then, by the first request;
  every new connection is signed on (0800/001, with the client's terminal id in 41) before it
  carries requests. ``sign_on_as`` changes the terminal and signs the link on again.
- A message goes under the terminal its ``MessageId`` names (field 41), else under the
  client's own: one link carries the messages of several terminals, as a node sends the
  reversals and advices of authorizations another node made.
- Requests are written as they come; many are in flight at once. One reader task decodes the
  answers and hands each to the request waiting under its (answer MTI, STAN, transmission
  time, terminal).
- A request waits at most ``connect_timeout`` seconds for a signed-on connection and then at
  most ``timeout`` seconds for its answer, else it raises ``NoAnswer``. An answer nobody waits
  for (a late one), one that contradicts its request or one that cannot be read is logged and
  dropped.
- A lost connection fails every waiting request with ``NoAnswer``; the next request reconnects
  after a short backoff that grows while the host stays down.
- After ``echo_interval`` seconds without traffic an echo (0800/301) tests the link; an
  unanswered echo drops the connection.

A request's STAN joins what the log lines of the work that sends it carry (``logs.context``),
and its answer is logged as that work's.

Requests whose values cannot be put into a message (a STAN out of range, a merchant id longer
than 15 characters…) raise ``ValueError`` before anything is sent. Messages are logged at
DEBUG level with the PAN, expiry and CVC masked.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ips.logs.context import about, detached
from ips.metrics import LinkMetrics
from ips.processing.iso8583 import messages
from ips.processing.port import (
    Answer,
    AuthorizationRequest,
    BatchTotals,
    FinancialAdvice,
    MessageId,
    NoAnswer,
    ReversalRequest,
)
from paywire import framing, spec
from paywire import messages as wire
from paywire.messages import NetworkCode
from paywire.spec import Fields

log = logging.getLogger(__name__)

_FIRST_BACKOFF = 0.05
_MAX_BACKOFF = 1.0

_Key = tuple[str, str, str, str]
"""(answer MTI, STAN, transmission time, terminal): what an answer is matched by. A STAN is
unique per terminal and day, and a repeat keeps its first transmission's STAN and time; the
answers to network messages do not repeat a terminal."""


def _key(mti: str, fields: Fields) -> _Key:
    network = mti in (wire.NETWORK, wire.NETWORK_ANSWER)
    terminal = "" if network else fields.get("41", "")
    return mti, fields.get("11", ""), fields.get("7", ""), terminal


@dataclass(frozen=True)
class _Waiter:
    """A request waiting for its answer, and the context of the work that sent it: the
    reader logs the answer as that work's (``logs.context``)."""

    request: Fields
    future: asyncio.Future[Answer]
    context: contextvars.Context


class _Connection:
    """One TCP connection and the requests waiting for an answer on it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.waiting: dict[_Key, _Waiter] = {}
        self.closed = False

    def close(self, reason: str) -> None:
        """Close the socket and fail every waiting request."""
        if self.closed:
            return
        self.closed = True
        self.writer.close()
        for waiter in self.waiting.values():
            if not waiter.future.done():
                waiter.future.set_exception(NoAnswer(reason))
        self.waiting.clear()


class Iso8583ProcessingCenter:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        terminal_id: str,
        acquirer_id: str,
        timeout: float,
        echo_interval: float = 30.0,
        connect_timeout: float = 5.0,
        metrics: LinkMetrics | None = None,
    ) -> None:
        wire.text(terminal_id, 8, "the terminal id")
        wire.acquirer(acquirer_id)
        self._host = host
        self._port = port
        self._terminal_id = terminal_id
        self._acquirer_id = acquirer_id
        self._timeout = timeout
        self._echo_interval = echo_interval
        self._connect_timeout = connect_timeout
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None
        self._echoing: asyncio.Task[None] | None = None
        self._readers: set[asyncio.Task[None]] = set()
        self._network_stan = 0
        self._backoff = 0.0
        self._retry_at = 0.0
        self._last_traffic = 0.0
        self._closed = False
        self._metrics = metrics

    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    @property
    def terminal_id(self) -> str:
        """The terminal the link signs on as, and that of the messages that name none."""
        return self._terminal_id

    async def sign_on_as(self, terminal_id: str) -> None:
        """Takes another terminal id and signs the open link on again with it (a link not
        open signs on with it when it opens)."""
        wire.text(terminal_id, 8, "the terminal id")
        self._terminal_id = terminal_id
        connection = self._connection
        if connection is None or connection.closed:
            return
        try:
            answer = await self._exchange(connection, self._network(NetworkCode.SIGN_ON))
        except NoAnswer as exc:
            log.warning("the sign-on as %s was not answered (%s): reconnecting", terminal_id, exc)
            connection.close("the sign-on was not answered")
            return
        if not answer.approved:
            log.warning("%s refused the sign-on as %s (%s)", self.address, terminal_id,
                        answer.raw_code)  # fmt: skip
            connection.close("the sign-on was refused")

    @property
    def signed_on(self) -> bool:
        """Whether a connection is open and signed on now (a request connects when not)."""
        connection = self._connection
        return connection is not None and not connection.closed

    async def start(self) -> None:
        """Connect and sign on now if the host is up; otherwise the first request will."""
        try:
            await self._connected()
        except NoAnswer as exc:
            log.warning("processing center %s not reachable yet: %s", self.address, exc)

    async def close(self) -> None:
        self._closed = True
        tasks = [task for task in (self._echoing, self._connecting) if task is not None]
        tasks += self._readers
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close("the client was closed")
        if self._metrics is not None:
            self._metrics.closed()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def authorize(self, request: AuthorizationRequest) -> Answer:
        fields = messages.authorization_fields(
            request, terminal_id=self._under(request.id), acquirer_id=self._acquirer_id
        )
        return await self._exchange(await self._connected(), fields)

    async def reverse(self, request: ReversalRequest) -> Answer:
        fields = messages.reversal_fields(
            request, terminal_id=self._under(request.id), acquirer_id=self._acquirer_id
        )
        return await self._exchange(await self._connected(), fields)

    async def advise(self, advice: FinancialAdvice) -> Answer:
        fields = messages.advice_fields(
            advice, terminal_id=self._under(advice.id), acquirer_id=self._acquirer_id
        )
        return await self._exchange(await self._connected(), fields)

    async def close_batch(self, totals: BatchTotals) -> Answer:
        """The host keeps a batch per terminal: this closes the part of the terminal the
        totals' id names."""
        fields = messages.reconciliation_fields(
            totals, terminal_id=self._under(totals.id), acquirer_id=self._acquirer_id
        )
        return await self._exchange(await self._connected(), fields)

    def _under(self, message: MessageId) -> str:
        return message.terminal_id or self._terminal_id

    async def echo(self) -> Answer:
        """Send an echo (0800/301) now."""
        return await self._exchange(await self._connected(), self._network(NetworkCode.ECHO))

    def _network(self, code: NetworkCode) -> Fields:
        self._network_stan = self._network_stan % 999_999 + 1
        return wire.network_fields(
            code,
            number=self._network_stan,
            at=datetime.now(UTC),
            terminal_id=self._terminal_id if code is NetworkCode.SIGN_ON else "",
        )

    async def _connected(self) -> _Connection:
        if self._closed:
            raise NoAnswer("the client is closed")
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection
        if self._connecting is None or self._connecting.done():
            # the connection, its reader and its echoes serve the payments after this one too
            self._connecting = asyncio.create_task(self._connect(), context=detached())
            self._connecting.add_done_callback(_consume)
        try:
            async with asyncio.timeout(self._connect_timeout):
                return await asyncio.shield(self._connecting)
        except TimeoutError:
            raise NoAnswer(f"not connected to {self.address} in time") from None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, self._retry_at - loop.time()))
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as exc:
            self._failed()
            raise NoAnswer(f"cannot connect to {self.address}: {exc or 'timeout'}") from None
        connection = _Connection(reader, writer)
        reading = asyncio.create_task(self._read(connection))
        self._readers.add(reading)
        reading.add_done_callback(self._readers.discard)
        try:
            answer = await self._exchange(connection, self._network(NetworkCode.SIGN_ON))
            if not answer.approved:
                raise NoAnswer(f"{self.address} refused the sign-on ({answer.raw_code})")
        except BaseException as exc:
            connection.close("the sign-on failed")
            self._failed()
            if self._metrics is not None and isinstance(exc, Exception):
                self._metrics.lost()
            raise
        self._backoff = 0.0
        self._connection = connection
        if self._metrics is not None:
            self._metrics.signed_on()
        log.info("signed on to processing center %s as %s", self.address, self._terminal_id)
        if self._echoing is None:
            self._echoing = asyncio.create_task(self._echo_when_idle())
        return connection

    def _unanswered(self, mti: str) -> None:
        if self._metrics is not None:
            self._metrics.unanswered(mti)

    def _failed(self) -> None:
        self._backoff = min(max(self._backoff * 2, _FIRST_BACKOFF), _MAX_BACKOFF)
        self._retry_at = asyncio.get_running_loop().time() + self._backoff

    async def _exchange(self, connection: _Connection, fields: Fields) -> Answer:
        key = _key(wire.answer_mti(fields["t"]), fields)
        if fields["t"] != wire.NETWORK:
            about(stan=fields.get("11"))
        data = framing.frame(spec.encode(fields))
        if connection.closed:
            raise NoAnswer("the connection was lost")
        if key in connection.waiting:
            raise ValueError(f"STAN {key[1]} of {key[3]!r} already waits for an answer {key[0]}")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        connection.waiting[key] = _Waiter(fields, future, contextvars.copy_context())
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                log.debug("sending %s", wire.masked(fields))
                connection.writer.write(data)
                self._touch()
                try:
                    await connection.writer.drain()
                except OSError as exc:
                    connection.close(f"write failed: {exc}")
                answer = await future
        except TimeoutError:
            self._unanswered(fields["t"])
            raise NoAnswer(f"no answer {key[0]} to STAN {key[1]} in {self._timeout}s") from None
        except NoAnswer:
            self._unanswered(fields["t"])
            raise
        else:
            if self._metrics is not None:
                seconds = time.perf_counter() - started
                self._metrics.answered(fields["t"], answer.raw_code, seconds)
            return answer
        finally:
            waiter = connection.waiting.get(key)
            if waiter is not None and waiter.future is future:
                del connection.waiting[key]

    async def _read(self, connection: _Connection) -> None:
        reason = "the processing center closed the connection"
        try:
            while True:
                message = await framing.read_frame(connection.reader)
                self._touch()
                self._dispatch(connection, message)
        except asyncio.IncompleteReadError:
            pass
        except framing.FramingError as exc:
            reason = f"broken framing: {exc}"
        except OSError as exc:
            reason = f"connection error: {exc}"
        except Exception:
            log.exception("the reader of %s failed", self.address)
            reason = "the reader failed"
        finally:
            if not connection.closed:
                log.warning("connection to processing center %s lost: %s", self.address, reason)
            connection.close(reason)
            if self._connection is connection:
                self._connection = None
                self._retry_at = asyncio.get_running_loop().time() + _FIRST_BACKOFF
                if self._metrics is not None:
                    self._metrics.lost()

    def _dispatch(self, connection: _Connection, message: bytes) -> None:
        try:
            fields = spec.decode(message)
        except spec.CodecError as exc:
            log.warning("undecodable message from %s ignored: %s", self.address, exc)
            return
        mti, stan = fields.get("t", ""), fields.get("11", "")
        waiter = None if mti == wire.NETWORK else connection.waiting.get(_key(mti, fields))
        if waiter is not None:
            waiter.context.run(_hand_over, waiter, fields)
            return
        log.debug("received %s", wire.masked(fields))
        if mti == wire.NETWORK:
            self._answer_network(connection, fields)
            return
        log.warning("answer %s with STAN %s matches no waiting request: ignored", mti, stan)

    def _answer_network(self, connection: _Connection, request: Fields) -> None:
        """The host may test the link too: answer its 0800 with 0810/00."""
        reply: Fields = {key: request[key] for key in ("7", "11", "70") if key in request}
        reply |= {"t": wire.NETWORK_ANSWER, "39": wire.APPROVED}
        try:
            data = framing.frame(spec.encode(reply))
        except spec.CodecError as exc:
            log.warning("cannot answer the host's 0800: %s", exc)
            return
        connection.writer.write(data)

    async def _echo_when_idle(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            connection = self._connection
            if connection is None or connection.closed:
                await asyncio.sleep(self._echo_interval)
                continue
            idle = loop.time() - self._last_traffic
            if idle < self._echo_interval:
                await asyncio.sleep(self._echo_interval - idle)
                continue
            try:
                answer = await self._exchange(connection, self._network(NetworkCode.ECHO))
            except NoAnswer as exc:
                log.warning("echo to %s failed (%s): dropping the connection", self.address, exc)
                connection.close("the echo was not answered")
                continue
            if not answer.approved:
                log.warning("echo to %s answered %s", self.address, answer.raw_code)

    def _touch(self) -> None:
        self._last_traffic = asyncio.get_running_loop().time()


def _consume(task: asyncio.Task[_Connection]) -> None:
    """Mark a failed connect as seen: its waiters may all have given up already."""
    if not task.cancelled():
        task.exception()


def _hand_over(waiter: _Waiter, fields: Fields) -> None:
    """Gives the answer to the request waiting for it (run in that request's context)."""
    log.debug("received %s", wire.masked(fields))
    mti, stan = fields.get("t", ""), fields.get("11", "")
    if not wire.answers(waiter.request, fields):
        log.warning("answer %s with STAN %s contradicts its request: ignored", mti, stan)
        return
    try:
        answer = messages.answer_from_fields(fields)
    except wire.MalformedMessage as exc:
        log.warning("answer %s with STAN %s ignored: %s", mti, stan, exc)
        return
    if not waiter.future.done():
        waiter.future.set_result(answer)
