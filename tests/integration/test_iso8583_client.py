"""The ISO 8583 client against the real simulator, over TCP."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from demobank import HoldStatus, Simulator
from demobank.cards import behaviour
from demobank.money import Money as BankMoney
from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Money, currency
from ips.domain.responses import ResponseCode
from ips.metrics import Metrics
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.port import AuthorizationRequest, MessageId, NoAnswer, ReversalRequest

TERMINAL = "IPS00001"
MERCHANT = "100500"
RUB = currency("RUB")
MILLION_RUB = 1_000_000_00
TIMEOUT = 3.0
"""Long enough for any answer on a loaded machine; a test of a lost answer sets a short one."""
LOST = 0.3

_stans = itertools.count(1)


def message_id() -> MessageId:
    number = next(_stans)
    return MessageId(number, f"{number:012d}", datetime.now(UTC))


def card(pan: str, *, expiry: Expiry | None = None, cvc: str = "987") -> Card:
    return Card(Pan.parse(pan), expiry or Expiry(12, 2035), Secret(cvc), "IVAN PETROV")


def authorization(
    pan: str | Card = "4111111111111111", amount: Money | None = None
) -> AuthorizationRequest:
    return AuthorizationRequest(
        message_id(),
        pan if isinstance(pan, Card) else card(pan),
        amount or Money(100_00, RUB),
        MERCHANT,
    )


def reversal(of: AuthorizationRequest, amount: Money | None = None) -> ReversalRequest:
    return ReversalRequest(
        message_id(), of.id, of.card.pan, amount or of.amount, MERCHANT, repeat=False
    )


def connect(port: int, **options: Any) -> Iso8583ProcessingCenter:
    settings = {"timeout": TIMEOUT} | options
    return Iso8583ProcessingCenter(
        "127.0.0.1", port, terminal_id=TERMINAL, acquirer_id="123456", **settings
    )


async def eventually(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Poll ``condition`` (state of another task) until it holds; fail after ``within`` s."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[Simulator]:
    async with Simulator(tmp_path / "bank.sqlite3") as running:
        yield running


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[Iso8583ProcessingCenter]:
    center = connect(simulator.port)
    await center.start()
    yield center
    await center.close()


@pytest.mark.parametrize(
    "pan", ["4111111111111111", "5555555555554444", "2200000000000004", "4242424242424242"]
)
async def test_approving_cards_hold_the_amount(
    client: Iso8583ProcessingCenter, simulator: Simulator, pan: str
) -> None:
    request = authorization(pan, Money(150_75, RUB))

    answer = await client.authorize(request)

    assert (answer.code, answer.raw_code) == (ResponseCode.SUCCESS, "00")
    assert len(answer.approval_code) == 6
    hold = await simulator.ledger.hold(TERMINAL, request.id.rrn)
    assert hold is not None
    assert (hold.amount, hold.released, hold.status) == (
        BankMoney(150_75, RUB),
        BankMoney(0, RUB),
        HoldStatus.ACTIVE,
    )
    assert (hold.approval_code, hold.stan, hold.merchant_id, hold.masked_pan) == (
        answer.approval_code,
        f"{request.id.stan:06d}",
        MERCHANT,
        request.card.pan.masked,
    )
    assert hold.answered
    assert await simulator.ledger.available(pan, "RUB") == BankMoney(MILLION_RUB - 150_75, RUB)


@pytest.mark.parametrize(
    ("pan", "code", "raw"),
    [
        ("4000000000000002", ResponseCode.DECLINED, "05"),
        ("4000000000000069", ResponseCode.WRONG_EXPIRY, "54"),
        ("4000000000000127", ResponseCode.WRONG_CARD_DATA, "82"),
        ("4000000000000259", ResponseCode.SUSPECTED_FRAUD, "59"),
        ("4000000000003220", ResponseCode.THREE_DS_REQUIRED, "A3"),
    ],
)
async def test_declining_cards_hold_nothing(
    client: Iso8583ProcessingCenter,
    simulator: Simulator,
    pan: str,
    code: ResponseCode,
    raw: str,
) -> None:
    answer = await client.authorize(authorization(pan))

    assert (answer.code, answer.raw_code, answer.approval_code) == (code, raw, "")
    assert await simulator.ledger.holds() == []


async def test_the_card_with_ten_roubles(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    pan = "4000000000009995"

    too_much = await client.authorize(authorization(pan, Money(10_01, RUB)))
    all_of_it = await client.authorize(authorization(pan, Money(10_00, RUB)))
    one_more = await client.authorize(authorization(pan, Money(1, RUB)))

    assert [too_much.raw_code, all_of_it.raw_code, one_more.raw_code] == ["51", "00", "51"]
    assert too_much.code is ResponseCode.INSUFFICIENT_FUNDS
    assert await simulator.ledger.available(pan, RUB) == BankMoney(0, RUB)
    assert [hold.amount for hold in await simulator.ledger.holds()] == [BankMoney(10_00, RUB)]


@pytest.mark.parametrize(
    ("code", "opening"), [("JPY", 1_000_000), ("USD", 1_000_000_00), ("BHD", 1_000_000_000)]
)
async def test_every_currency_opens_with_a_million(
    client: Iso8583ProcessingCenter, simulator: Simulator, code: str, opening: int
) -> None:
    money = Money(7, currency(code))

    assert (await client.authorize(authorization("5555555555554444", money))).approved
    assert await simulator.ledger.available("5555555555554444", code) == BankMoney(
        opening - 7, currency(code)
    )
    assert await simulator.ledger.available("5555555555554444", "RUB") == BankMoney(
        MILLION_RUB, RUB
    )


@pytest.mark.parametrize(
    ("bad_card", "code", "raw"),
    [
        (card("4111111111111111", expiry=Expiry(1, 2020)), ResponseCode.WRONG_EXPIRY, "54"),
        (card("4111111111111111", cvc="12"), ResponseCode.WRONG_CARD_DATA, "N7"),
        (
            Card(Pan("4111111111111112"), Expiry(12, 2035), Secret("987"), "X"),
            ResponseCode.WRONG_CARD_DATA,
            "14",
        ),
    ],
    ids=["expired", "cvc", "luhn"],
)
async def test_the_issuer_checks_the_card(
    client: Iso8583ProcessingCenter,
    simulator: Simulator,
    bad_card: Card,
    code: ResponseCode,
    raw: str,
) -> None:
    answer = await client.authorize(authorization(bad_card))

    assert (answer.code, answer.raw_code) == (code, raw)
    assert await simulator.ledger.holds() == []


async def test_a_second_authorization_under_the_same_rrn_is_refused(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    first = authorization()
    again = replace(first, id=replace(message_id(), rrn=first.id.rrn))

    assert (await client.authorize(first)).approved
    answer = await client.authorize(again)

    assert (answer.code, answer.raw_code) == (ResponseCode.REPEAT_AUTHORIZATION, "94")
    assert len(await simulator.ledger.holds()) == 1


async def test_a_full_reversal_releases_the_hold_once(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    request = authorization(amount=Money(100_00, RUB))
    await client.authorize(request)
    cancel = reversal(request)

    answer = await client.reverse(cancel)
    repeated = await client.reverse(replace(cancel, repeat=True))

    assert (answer.code, answer.raw_code) == (ResponseCode.SUCCESS, "00")
    assert repeated.code is ResponseCode.SUCCESS
    assert simulator.received["0401"] == 1
    hold = await simulator.ledger.hold(TERMINAL, request.id.rrn)
    assert hold is not None
    assert (hold.status, hold.released) == (HoldStatus.RELEASED, BankMoney(100_00, RUB))
    assert await simulator.ledger.active_holds() == []
    assert len(await simulator.ledger.reversals()) == 1
    assert await simulator.ledger.available("4111111111111111", RUB) == BankMoney(MILLION_RUB, RUB)


async def test_partial_reversals_release_up_to_what_is_held(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    request = authorization(amount=Money(100_00, RUB))
    await client.authorize(request)

    part = await client.reverse(reversal(request, Money(30_00, RUB)))
    hold = await simulator.ledger.hold(TERMINAL, request.id.rrn)
    assert part.approved
    assert hold is not None
    assert (hold.status, hold.outstanding) == (HoldStatus.ACTIVE, BankMoney(70_00, RUB))
    available = await simulator.ledger.available("4111111111111111", RUB)
    assert available == BankMoney(MILLION_RUB - 70_00, RUB)

    rest = await client.reverse(reversal(request, Money(80_00, RUB)))
    after_all = await client.reverse(reversal(request, Money(5_00, RUB)))

    assert rest.approved
    assert after_all.approved
    hold = await simulator.ledger.hold(TERMINAL, request.id.rrn)
    assert hold is not None
    assert (hold.status, hold.released) == (HoldStatus.RELEASED, BankMoney(100_00, RUB))
    released = [(r.requested.minor, r.released.minor) for r in await simulator.ledger.reversals()]
    assert released == [(30_00, 30_00), (80_00, 70_00), (5_00, 0)]


async def test_a_reversal_without_its_hold_is_answered_25(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    request = authorization()
    await client.authorize(request)
    wrong_stan = replace(reversal(request), original=replace(request.id, stan=999_999))

    never_held = await client.reverse(reversal(authorization()))
    not_that_one = await client.reverse(wrong_stan)

    assert (never_held.code, never_held.raw_code) == (ResponseCode.NO_SUCH_PAYMENT, "25")
    assert not_that_one.code is ResponseCode.NO_SUCH_PAYMENT
    assert [hold.status for hold in await simulator.ledger.holds()] == [HoldStatus.ACTIVE]


async def test_a_lost_answer_times_out_and_the_reversal_releases_its_hold(
    simulator: Simulator,
) -> None:
    request = authorization("4000000000000119", Money(500_00, RUB))
    loop = asyncio.get_running_loop()
    client = connect(simulator.port, timeout=LOST)
    await client.start()
    try:
        started = loop.time()
        with pytest.raises(NoAnswer):
            await client.authorize(request)
        waited = loop.time() - started

        assert waited >= LOST  # it waited for the answer, then gave up
        hold = await simulator.ledger.hold(TERMINAL, request.id.rrn)
        assert hold is not None
        assert (hold.status, hold.amount, hold.answered) == (
            HoldStatus.ACTIVE,
            BankMoney(500_00, RUB),
            False,
        )
        cancel = reversal(request)
        assert (await client.reverse(cancel)).approved
        assert (await client.reverse(replace(cancel, repeat=True))).approved
        assert await simulator.ledger.active_holds() == []
        assert await simulator.ledger.available(request.card.pan, RUB) == BankMoney(
            MILLION_RUB, RUB
        )
    finally:
        await client.close()


async def test_a_stan_already_in_flight_is_refused(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    lost = authorization("4000000000000119")
    in_flight = asyncio.create_task(client.authorize(lost))
    await eventually(lambda: simulator.received["0100"] == 1)

    with pytest.raises(ValueError, match="STAN"):
        await client.authorize(
            replace(authorization(), id=replace(message_id(), stan=lost.id.stan))
        )
    with pytest.raises(NoAnswer):
        await in_flight


async def test_many_requests_in_flight_on_one_connection_get_their_own_answers(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    pans = itertools.cycle(
        ["4111111111111111", "4000000000000002", "5555555555554444", "4000000000000259"]
    )
    requests = [authorization(next(pans), Money(1_00 + n, RUB)) for n in range(60)]

    answers = await asyncio.gather(*(client.authorize(request) for request in requests))

    holds = {hold.rrn: hold for hold in await simulator.ledger.holds()}
    for request, answer in zip(requests, answers, strict=True):
        assert answer.raw_code == behaviour(request.card.pan.reveal()).response
        if answer.approved:
            held = holds.pop(request.id.rrn)
            assert (held.amount.minor, held.approval_code) == (
                request.amount.minor,
                answer.approval_code,
            )
            assert held.stan == f"{request.id.stan:06d}"
    assert holds == {}
    assert sum(answer.approved for answer in answers) == 30
    assert simulator.connections == 1


async def test_pending_requests_fail_when_the_host_goes_and_the_client_comes_back(
    tmp_path: Path,
) -> None:
    store = tmp_path / "bank.sqlite3"
    first = Simulator(store)
    await first.start()
    client = connect(first.port, timeout=5.0)
    second = Simulator(store, port=first.port)
    try:
        before = authorization()
        assert (await client.authorize(before)).approved
        lost = authorization("4000000000000119")
        pending = asyncio.create_task(client.authorize(lost))
        await eventually(lambda: first.received["0100"] == 2)

        await first.stop()
        with pytest.raises(NoAnswer):
            await asyncio.wait_for(pending, 1.0)

        await second.start()
        after = authorization("5555555555554444")
        assert (await client.authorize(after)).approved
        assert second.connections == 1
        assert [hold.rrn for hold in await second.ledger.holds()] == [
            before.id.rrn,
            lost.id.rrn,
            after.id.rrn,
        ]
    finally:
        await client.close()
        await first.stop()
        await second.stop()


async def test_start_does_not_fail_while_the_host_is_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = connect(port)
    try:
        await client.start()
        assert "not reachable" in caplog.text
        with pytest.raises(NoAnswer):
            await client.authorize(authorization())

        async with Simulator(tmp_path / "bank.sqlite3", port=port):
            assert (await client.authorize(authorization())).approved
    finally:
        await client.close()


async def test_echo(client: Iso8583ProcessingCenter, simulator: Simulator) -> None:
    answer = await client.echo()

    assert (answer.code, answer.raw_code) == (ResponseCode.SUCCESS, "00")
    assert simulator.received["0800"] == 2


async def test_an_idle_link_is_echoed(simulator: Simulator) -> None:
    client = connect(simulator.port, echo_interval=0.05)
    try:
        await client.start()
        await eventually(lambda: simulator.received["0800"] >= 3)
        assert simulator.connections == 1
    finally:
        await client.close()


async def test_logs_never_show_the_card(
    client: Iso8583ProcessingCenter, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = authorization(card("4111111111111111", cvc="987"))

    await client.authorize(request)
    await client.reverse(reversal(request))

    assert "411111****1111" in caplog.text
    assert "'14': '***'" in caplog.text
    assert "'48': '***'" in caplog.text
    assert "4111111111111111" not in caplog.text
    assert "9203987" not in caplog.text


async def test_the_link_counts_its_answers_timeouts_and_state(tmp_path: Path) -> None:
    metrics = Metrics()
    sample = metrics.registry.get_sample_value
    first = Simulator(tmp_path / "bank.sqlite3")
    await first.start()
    client = connect(first.port, timeout=LOST, metrics=metrics.link("bank-a"))
    second = Simulator(tmp_path / "bank.sqlite3", port=first.port)
    link = {"acquirer": "bank-a"}
    try:
        assert sample("ips_iso8583_link_up", link) == 0
        await client.start()
        assert sample("ips_iso8583_link_up", link) == 1
        assert (await client.authorize(authorization())).approved
        assert not (await client.authorize(authorization("4000000000000002"))).approved
        with pytest.raises(NoAnswer):
            await client.authorize(authorization("4000000000000119"))

        authorizations = {**link, "mti": "0100"}
        assert sample("ips_iso8583_answers_total", {**authorizations, "code": "00"}) == 1
        assert sample("ips_iso8583_answers_total", {**authorizations, "code": "05"}) == 1
        assert sample("ips_iso8583_timeouts_total", authorizations) == 1
        assert sample("ips_iso8583_round_trip_seconds_count", authorizations) == 2
        assert sample("ips_iso8583_round_trip_seconds_count", {**link, "mti": "0800"}) == 1

        await first.stop()
        await eventually(lambda: sample("ips_iso8583_link_up", link) == 0)
        assert sample("ips_iso8583_links_lost_total", link) == 1
        await second.start()
        assert (await client.authorize(authorization())).approved
        assert sample("ips_iso8583_link_up", link) == 1
    finally:
        await client.close()
        await first.stop()
        await second.stop()
    assert sample("ips_iso8583_link_up", link) == 0
