"""The 3-D Secure card ranges over real HTTP: the simulator publishes the ranges its ACS
enrolls, and ``HttpThreeDSecure`` asks it to enroll only the cards inside them — every card
while it holds no ranges (the simulator down, an answer it cannot read).

Every request the client sends goes through ``Counting``, which counts it by path and hands
it on to the real transport."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from demobank import Simulator
from demobank.acs import CardRange as BankRange
from demobank.cards import TEST_CARDS
from ips.domain.cards import Pan
from ips.domain.money import Money, currency
from ips.processing.card_ranges import RETRY_AFTER, CardRange
from ips.processing.port import NoAnswer
from ips.processing.secure_http import HttpThreeDSecure
from tests.fakes import Monotonic
from tests.parties import answering

ENROLLED = "4000000000003220"
NOT_ENROLLED = ["4111111111111111", "5555555555554444", "2200000000000004", "4000000000000002"]
AMOUNT = Money(100_00, currency("RUB"))
MERCHANT = "111111"
SHOP = "http://shop.example/pay/3ds"
REFRESH = 300.0


class Counting(httpx.AsyncBaseTransport):
    """Counts each request by path (attempts: one that found no server counts too)."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.sent: Counter[str] = Counter()
        self.queries: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent[request.url.path] += 1
        if request.url.path == "/3ds/ranges":
            self.queries.append(request.url.query.decode())
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Client:
    """``HttpThreeDSecure`` on a counting transport and a clock the test moves."""

    def __init__(self, url: str, refresh: float = REFRESH) -> None:
        self.clock = Monotonic()
        self.transport = Counting()
        self.acs = HttpThreeDSecure(
            url, timeout=2.0, ranges_refresh=refresh, transport=self.transport, clock=self.clock
        )

    @property
    def sent(self) -> Counter[str]:
        return self.transport.sent

    async def enroll(self, pan: str) -> bool:
        """Whether the card was challenged."""
        return await self.acs.enroll(Pan.parse(pan), AMOUNT, MERCHANT, SHOP) is not None


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[Simulator]:
    async with Simulator(tmp_path / "bank.sqlite3") as running:
        yield running


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[Client]:
    made = Client(simulator.http_url)
    yield made
    await made.acs.close()


@pytest.fixture
async def http(simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator.http_url, timeout=2.0) as plain:
        yield plain


# The simulator's side: what it publishes, and that it is what its ACS enrolls.


async def test_the_simulator_publishes_one_range_per_3ds_test_card(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/3ds/ranges")

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    data = answer.json()
    assert set(data) == {"serial", "ranges"}
    assert isinstance(data["serial"], str) and data["serial"]
    assert data["ranges"] == [{"start": ENROLLED, "end": ENROLLED}]


async def test_the_published_ranges_are_what_the_acs_enrolls(
    http: httpx.AsyncClient, simulator: Simulator
) -> None:
    ranges = [CardRange(**r) for r in (await http.get("/3ds/ranges")).json()["ranges"]]
    for pan in TEST_CARDS:
        body = {
            "pan": pan,
            "amount": 100,
            "currency": "RUB",
            "merchant_id": MERCHANT,
            "return_url": SHOP,
        }
        enrolled = (await http.post("/3ds/enroll", json=body)).json()["enrolled"]

        assert enrolled is any(r.covers(pan) for r in ranges), pan


async def test_the_serial_names_the_ranges(http: httpx.AsyncClient, simulator: Simulator) -> None:
    serial = (await http.get("/3ds/ranges")).json()["serial"]

    same = await http.get("/3ds/ranges", params={"serial": serial})
    other = await http.get("/3ds/ranges", params={"serial": "older"})
    simulator.ledger.acs.publish([BankRange("4000000000003000", "4000000000003999")])
    changed = (await http.get("/3ds/ranges", params={"serial": serial})).json()
    await simulator.stop()
    await simulator.start()
    restarted = (await http.get("/3ds/ranges")).json()

    assert same.json() == {"serial": serial}
    assert other.json() == {"serial": serial, "ranges": [{"start": ENROLLED, "end": ENROLLED}]}
    assert changed["serial"] != serial
    assert changed["ranges"] == [{"start": "4000000000003000", "end": "4000000000003999"}]
    assert restarted["serial"] == serial


async def test_the_acs_enrolls_no_card_outside_its_ranges(
    http: httpx.AsyncClient, simulator: Simulator
) -> None:
    simulator.ledger.acs.publish([BankRange("4111111111111111", "4111111111111111")])
    body = {"amount": 100, "currency": "RUB", "merchant_id": MERCHANT, "return_url": SHOP}

    for pan in (ENROLLED, "4111111111111111"):
        answer = await http.post("/3ds/enroll", json=body | {"pan": pan})
        assert answer.json() == {"enrolled": False}
    assert await simulator.ledger.acs.transactions() == []


# The client: no call for a card outside every range.


async def test_a_card_outside_every_range_makes_no_enrollment_call(client: Client) -> None:
    for pan in NOT_ENROLLED * 3:
        assert await client.enroll(pan) is False

    assert client.sent == {"/3ds/ranges": 1}


async def test_a_card_inside_a_range_is_challenged_as_before(
    client: Client, simulator: Simulator
) -> None:
    assert await client.enroll(ENROLLED) is True
    assert await client.enroll(ENROLLED) is True

    assert client.sent == {"/3ds/ranges": 1, "/3ds/enroll": 2}
    assert len(await simulator.ledger.acs.transactions()) == 2


async def test_a_card_inside_a_range_the_acs_does_not_enroll_is_asked(
    client: Client, simulator: Simulator
) -> None:
    simulator.ledger.acs.publish([BankRange("4000000000000000", "4999999999999999")])

    assert await client.enroll("4111111111111111") is False
    assert await client.enroll(ENROLLED) is True
    assert await client.enroll("5555555555554444") is False

    assert client.sent == {"/3ds/ranges": 1, "/3ds/enroll": 2}


async def test_ranges_are_loaded_again_after_the_refresh_and_pick_up_a_new_range(
    client: Client, simulator: Simulator
) -> None:
    simulator.ledger.acs.publish([])
    assert await client.enroll(ENROLLED) is False
    simulator.ledger.acs.publish([BankRange(ENROLLED, ENROLLED)])

    client.clock.advance(REFRESH - 1)
    assert await client.enroll(ENROLLED) is False
    assert client.sent == {"/3ds/ranges": 1}

    client.clock.advance(1)
    assert await client.enroll(ENROLLED) is True
    assert client.sent == {"/3ds/ranges": 2, "/3ds/enroll": 1}
    assert client.transport.queries[1].startswith("serial=")


async def test_unchanged_ranges_are_not_sent_again_and_still_trusted(client: Client) -> None:
    assert await client.enroll(ENROLLED) is True
    for _ in range(3):
        client.clock.advance(REFRESH)
        assert await client.enroll("4111111111111111") is False
        assert await client.enroll(ENROLLED) is True

    assert client.sent == {"/3ds/ranges": 4, "/3ds/enroll": 4}
    first, *later = client.transport.queries
    assert first == ""
    assert later == [later[0]] * 3 and later[0].startswith("serial=")


async def test_a_range_the_server_stops_publishing_stops_being_trusted(
    client: Client, simulator: Simulator
) -> None:
    simulator.ledger.acs.publish([BankRange("4111111111111111", "4111111111111111")])
    assert await client.enroll("4111111111111111") is False
    assert client.sent["/3ds/enroll"] == 1

    simulator.ledger.acs.publish([])
    client.clock.advance(REFRESH)

    assert await client.enroll("4111111111111111") is False
    assert await client.enroll(ENROLLED) is False
    assert client.sent == {"/3ds/ranges": 2, "/3ds/enroll": 1}


async def test_an_enrolled_card_is_still_challenged_once_its_range_is_withdrawn_and_back(
    client: Client, simulator: Simulator
) -> None:
    assert await client.enroll(ENROLLED) is True
    simulator.ledger.acs.publish([])
    client.clock.advance(REFRESH)
    assert await client.enroll(ENROLLED) is False
    simulator.ledger.acs.publish([BankRange("4000000000003000", "4000000000003999")])
    client.clock.advance(REFRESH)

    assert await client.enroll(ENROLLED) is True
    assert client.sent == {"/3ds/ranges": 3, "/3ds/enroll": 2}


# Without ranges, every card is asked: never a 3-D Secure check skipped for want of them.


async def test_the_server_down_at_start_means_every_card_is_asked(
    tmp_path: Path,
) -> None:
    simulator = Simulator(tmp_path / "bank.sqlite3")
    await simulator.start()
    url = simulator.http_url
    await simulator.stop()
    client = Client(url)
    try:
        with pytest.raises(NoAnswer):
            await client.enroll("4111111111111111")
        assert client.sent == {"/3ds/ranges": 1, "/3ds/enroll": 1}

        await simulator.start()
        assert simulator.http_url == url
        assert await client.enroll("4111111111111111") is False
        assert await client.enroll(ENROLLED) is True
        assert client.sent == {"/3ds/ranges": 1, "/3ds/enroll": 3}

        client.clock.advance(RETRY_AFTER)
        assert await client.enroll("4111111111111111") is False
        assert await client.enroll(ENROLLED) is True
        assert client.sent == {"/3ds/ranges": 2, "/3ds/enroll": 4}
    finally:
        await client.acs.close()
        await simulator.stop()


async def test_ranges_that_cannot_be_loaded_again_are_no_longer_trusted(
    client: Client, simulator: Simulator
) -> None:
    assert await client.enroll("4111111111111111") is False
    await simulator.stop()
    client.clock.advance(REFRESH)

    with pytest.raises(NoAnswer):
        await client.enroll("4111111111111111")

    assert client.sent == {"/3ds/ranges": 2, "/3ds/enroll": 1}


async def test_no_refresh_means_no_ranges_and_every_card_asked(simulator: Simulator) -> None:
    client = Client(simulator.http_url, refresh=0)
    try:
        assert await client.enroll("4111111111111111") is False
        assert await client.enroll(ENROLLED) is True
    finally:
        await client.acs.close()

    assert client.sent == {"/3ds/enroll": 2}


async def test_payments_at_once_share_one_load_of_the_ranges(client: Client) -> None:
    found = await asyncio.gather(*(client.enroll(pan) for pan in NOT_ENROLLED * 5))

    assert found == [False] * 20
    assert client.sent == {"/3ds/ranges": 1}


def enrolling(ranges: Callable[[httpx.Request], httpx.Response]) -> Counting:
    """An ACS that answers the ranges with ``ranges`` and enrolls no card."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/3ds/ranges":
            return ranges(request)
        return httpx.Response(200, json={"enrolled": False})

    return Counting(httpx.MockTransport(handle))


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (404, b'{"error": "not found"}'),
        (500, b'{"serial": "1", "ranges": []}'),
        (200, b"<html>"),
        (200, b"[]"),
        (200, b"{}"),
        (200, b'{"ranges": []}'),
        (200, b'{"serial": 1, "ranges": []}'),
        (200, b'{"serial": "", "ranges": []}'),
        (200, b'{"serial": "\\n", "ranges": []}'),
        (200, b'{"serial": "1"}'),
        (200, b'{"serial": "1", "ranges": null}'),
        (200, b'{"serial": "1", "ranges": {}}'),
        (200, b'{"serial": "1", "ranges": [1]}'),
        (200, b'{"serial": "1", "ranges": [{"start": "4000000000003220"}]}'),
        (200, b'{"serial": "1", "ranges": [{"start": 4000000000003220, "end": 1}]}'),
        (200, b'{"serial": "1", "ranges": [{"start": "4000000000003999", "end": "4000"}]}'),
        (200, b'{"serial": "1", "ranges": [{"start": "5", "end": "5"}]}'),
    ],
)
async def test_ranges_that_cannot_be_read_mean_every_card_is_asked(
    status: int, content: bytes
) -> None:
    transport = enrolling(answering(status, content))
    client = HttpThreeDSecure(
        "http://acs.test", timeout=1.0, transport=transport, clock=Monotonic()
    )
    try:
        for pan in NOT_ENROLLED:
            assert await client.enroll(Pan.parse(pan), AMOUNT, MERCHANT, SHOP) is None
    finally:
        await client.close()

    assert transport.sent == {"/3ds/ranges": 1, "/3ds/enroll": len(NOT_ENROLLED)}


async def test_no_card_number_of_a_range_is_logged(
    client: Client, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    simulator.ledger.acs.publish([BankRange("4111111111111111", "4111111111111111")])

    await client.enroll("5555555555554444")

    assert "card ranges: 1" in caplog.text
    assert "4111111111111111" not in caplog.text
    assert "5555555555554444" not in caplog.text
