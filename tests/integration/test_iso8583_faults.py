"""The ISO 8583 client against hosts that misbehave: a fake processing center over TCP."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from demobank import protocol
from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Money, currency
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.port import AuthorizationRequest, MessageId, NoAnswer
from paywire import framing, spec
from paywire.spec import Fields

Answering = Callable[[Fields], Awaitable[list[bytes]]]

_stans = itertools.count(1)


def authorization() -> AuthorizationRequest:
    number = next(_stans)
    return AuthorizationRequest(
        MessageId(number, f"{number:012d}", datetime.now(UTC)),
        Card(Pan.parse("4111111111111111"), Expiry(12, 2035), Secret("987"), "X"),
        Money(100_00, currency("RUB")),
        "100500",
    )


def message(fields: Fields) -> bytes:
    return framing.frame(spec.encode(fields))


def approval(request: Fields, **changes: str) -> bytes:
    answer = protocol.reply(request, "00", protocol.AUTHORIZATION_ECHO, "A1B2C3")
    return message(answer | changes)


async def approve(request: Fields) -> list[bytes]:
    return [approval(request)]


class FakeHost:
    """Answers 0800 like a host (unless told not to) and every other request with ``answer``."""

    def __init__(self, answer: Answering = approve, *, echo: bool = True) -> None:
        self.answer = answer
        self.echo = echo
        self.connections = 0
        self.disconnections = 0
        self.received: list[Fields] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            while True:
                request = spec.decode(await framing.read_frame(reader))
                self.received.append(request)
                task = asyncio.create_task(self._reply(request, writer))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.disconnections += 1
        finally:
            self._writers.discard(writer)
            writer.close()

    def send(self, fields: Fields) -> None:
        """Send a message of the host's own to every connected client."""
        for writer in self._writers:
            writer.write(message(fields))

    async def _reply(self, request: Fields, writer: asyncio.StreamWriter) -> None:
        if request["t"][2] in "13579":
            return
        if request["t"] == "0800":
            if self.echo or request["70"] != "301":
                writer.write(message(protocol.reply(request, "00", protocol.NETWORK_ECHO)))
            return
        for data in await self.answer(request):
            writer.write(data)


@pytest.fixture
async def host() -> AsyncIterator[FakeHost]:
    fake = FakeHost()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def client(host: FakeHost) -> AsyncIterator[Iso8583ProcessingCenter]:
    center = Iso8583ProcessingCenter(
        "127.0.0.1", host.port, terminal_id="IPS00001", acquirer_id="123456", timeout=0.3
    )
    await center.start()
    yield center
    await center.close()


async def eventually(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Poll ``condition`` (state of another task) until it holds; fail after ``within`` s."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def test_an_undecodable_answer_is_logged_and_the_request_times_out(
    host: FakeHost, client: Iso8583ProcessingCenter, caplog: pytest.LogCaptureFixture
) -> None:
    async def garbage(request: Fields) -> list[bytes]:
        return [framing.frame(b"0110" + b"\xff garbage that is no bitmap \xfe")]

    host.answer = garbage

    with pytest.raises(NoAnswer):
        await client.authorize(authorization())

    assert "undecodable message" in caplog.text
    assert (await client.echo()).approved
    assert host.connections == 1


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        ({"11": "999999"}, "matches no waiting request"),
        ({"37": "999999999999"}, "contradicts its request"),
        ({"4": "000000000001"}, "contradicts its request"),
        ({"t": "0410"}, "matches no waiting request"),
    ],
    ids=["stan", "rrn", "amount", "mti"],
)
async def test_an_answer_that_is_not_for_the_request_is_ignored(
    host: FakeHost,
    client: Iso8583ProcessingCenter,
    caplog: pytest.LogCaptureFixture,
    change: dict[str, str],
    warning: str,
) -> None:
    async def wrong(request: Fields) -> list[bytes]:
        return [approval(request, **change)]

    host.answer = wrong

    with pytest.raises(NoAnswer):
        await client.authorize(authorization())
    assert warning in caplog.text


async def test_an_approval_without_an_approval_code_is_ignored(
    host: FakeHost, client: Iso8583ProcessingCenter, caplog: pytest.LogCaptureFixture
) -> None:
    async def no_code(request: Fields) -> list[bytes]:
        return [message(protocol.reply(request, "00", protocol.AUTHORIZATION_ECHO))]

    host.answer = no_code

    with pytest.raises(NoAnswer):
        await client.authorize(authorization())
    assert "without an approval code" in caplog.text


async def test_a_late_answer_is_logged_and_ignored(
    host: FakeHost, client: Iso8583ProcessingCenter, caplog: pytest.LogCaptureFixture
) -> None:
    late = authorization()

    async def slow_for_the_first(request: Fields) -> list[bytes]:
        if request["11"] == f"{late.id.stan:06d}":
            await asyncio.sleep(0.4)
            return [approval(request, **{"38": "LATE01"})]
        return [approval(request)]

    host.answer = slow_for_the_first

    with pytest.raises(NoAnswer):
        await client.authorize(late)
    on_time = await client.authorize(authorization())
    await eventually(lambda: "matches no waiting request" in caplog.text)

    assert (on_time.approved, on_time.approval_code) == (True, "A1B2C3")
    assert (await client.echo()).approved
    assert host.connections == 1


async def test_broken_framing_drops_the_connection_and_the_next_request_reconnects(
    host: FakeHost, caplog: pytest.LogCaptureFixture
) -> None:
    first = authorization()

    async def break_the_first(request: Fields) -> list[bytes]:
        if request["11"] == f"{first.id.stan:06d}":
            return [b"\x00\x03abc"]
        return [approval(request)]

    host.answer = break_the_first
    client = Iso8583ProcessingCenter(
        "127.0.0.1", host.port, terminal_id="IPS00001", acquirer_id="123456", timeout=5.0
    )
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(NoAnswer):
            await client.authorize(first)
        assert asyncio.get_running_loop().time() - started < 1.0
        assert "broken framing" in caplog.text

        assert (await client.authorize(authorization())).approved
        assert host.connections == 2
    finally:
        await client.close()


async def test_an_unanswered_echo_drops_the_connection() -> None:
    host = FakeHost(echo=False)
    await host.start()
    client = Iso8583ProcessingCenter(
        "127.0.0.1",
        host.port,
        terminal_id="IPS00001",
        acquirer_id="123456",
        timeout=0.1,
        echo_interval=0.05,
    )
    try:
        await client.start()
        await eventually(lambda: host.disconnections == 1)

        assert [request["70"] for request in host.received] == ["001", "301"]
        assert (await client.authorize(authorization())).approved
        assert host.connections == 2
    finally:
        await client.close()
        await host.stop()


async def test_a_refused_sign_on_leaves_the_client_unconnected(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await asyncio.start_server(_refuse_sign_on, "127.0.0.1", 0)
    client = Iso8583ProcessingCenter(
        "127.0.0.1",
        server.sockets[0].getsockname()[1],
        terminal_id="IPS00001",
        acquirer_id="123456",
        timeout=0.3,
    )
    try:
        await client.start()
        assert "refused the sign-on (91)" in caplog.text
        with pytest.raises(NoAnswer):
            await client.authorize(authorization())
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


async def _refuse_sign_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            request = spec.decode(await framing.read_frame(reader))
            writer.write(message(protocol.reply(request, "91", protocol.NETWORK_ECHO)))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def test_the_client_answers_the_hosts_echo(
    host: FakeHost, client: Iso8583ProcessingCenter
) -> None:
    host.send({"t": "0800", "7": "0101000000", "11": "777777", "70": "301"})

    await eventually(lambda: any(fields["t"] == "0810" for fields in host.received))
    reply = next(fields for fields in host.received if fields["t"] == "0810")
    assert (reply["11"], reply["70"], reply["39"]) == ("777777", "301", "00")
