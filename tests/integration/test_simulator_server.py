"""The simulator on its own: its ledger, its answers to raw messages, its own process."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from demobank import HoldStatus, Ledger, Simulator, run, schema
from demobank.ledger import (
    DuplicateHold,
    HoldRequest,
    InsufficientFunds,
    NoSuchHold,
    ReleaseRequest,
)
from demobank.money import Money as BankMoney
from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Money, currency
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.port import AuthorizationRequest, MessageId, NoAnswer, ReversalRequest
from paywire import framing, spec
from paywire.spec import Fields

RUB = currency("RUB")
PANS = ["4111111111111111", "4000000000009995", "4000000000000119", "5555555555554444"]


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[Simulator]:
    async with Simulator(tmp_path / "bank.sqlite3") as running:
        yield running


def hold_request(pan: str = "4111111111111111", minor: int = 100_00, rrn: str = "1") -> HoldRequest:
    return HoldRequest(
        pan=pan,
        amount=BankMoney(minor, RUB),
        terminal_id="T1",
        rrn=rrn,
        stan="000001",
        transmitted="0101000000",
        merchant_id="100500",
    )


def release_request(
    pan: str = "4111111111111111", minor: int = 100_00, stan: str = "000002"
) -> ReleaseRequest:
    return ReleaseRequest(
        pan=pan,
        amount=BankMoney(minor, RUB),
        terminal_id="T1",
        rrn="1",
        original_stan="000001",
        stan=stan,
        transmitted="0101000001",
    )


async def test_the_ledger_refuses_duplicates_and_overdrafts(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path / "bank.sqlite3") as ledger:
        await ledger.place_hold(hold_request())

        with pytest.raises(DuplicateHold):
            await ledger.place_hold(hold_request(minor=1))
        with pytest.raises(InsufficientFunds):
            await ledger.place_hold(hold_request("4000000000009995", 10_01, rrn="2"))
        assert [hold.amount.minor for hold in await ledger.holds()] == [100_00]


@pytest.mark.parametrize(
    "wrong",
    [
        release_request(pan="5555555555554444"),
        ReleaseRequest(
            "4111111111111111", BankMoney(100, currency("USD")), "T1", "1", "000001", "2", ""
        ),
        ReleaseRequest("4111111111111111", BankMoney(100, RUB), "T2", "1", "000001", "2", ""),
        ReleaseRequest("4111111111111111", BankMoney(100, RUB), "T1", "1", "000009", "2", ""),
    ],
    ids=["card", "currency", "terminal", "original-stan"],
)
async def test_a_release_must_fit_its_hold(tmp_path: Path, wrong: ReleaseRequest) -> None:
    async with await Ledger.open(tmp_path / "bank.sqlite3") as ledger:
        await ledger.place_hold(hold_request())

        with pytest.raises(NoSuchHold):
            await ledger.release(wrong)
        assert [hold.released.minor for hold in await ledger.holds()] == [0]


async def test_a_repeated_release_releases_nothing_more(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path / "bank.sqlite3") as ledger:
        await ledger.place_hold(hold_request())

        first = await ledger.release(release_request(minor=40_00))
        again = await ledger.release(release_request(minor=40_00))

        assert first == again
        hold = await ledger.hold("T1", "1")
        assert hold is not None
        assert (hold.status, hold.released.minor) == (HoldStatus.ACTIVE, 40_00)


async def test_available_by_card_number_or_reference(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path / "bank.sqlite3") as ledger:
        pan = Pan.parse("4000000000009995")
        ref = ledger.card_ref(pan)

        assert await ledger.available(pan, RUB) == BankMoney(10_00, RUB)
        with pytest.raises(LookupError):
            await ledger.available(ref, RUB)
        await ledger.place_hold(hold_request("4000000000009995", 4_00))
        assert await ledger.available(ref, "RUB") == BankMoney(6_00, RUB)
        assert await ledger.available("4000000000009995", RUB) == BankMoney(6_00, RUB)


async def test_the_card_key_lives_in_the_store(tmp_path: Path) -> None:
    async with await Ledger.open(tmp_path / "a.sqlite3") as ledger:
        first = ledger.card_ref("4111111111111111")
    async with await Ledger.open(tmp_path / "a.sqlite3") as ledger:
        assert ledger.card_ref("4111111111111111") == first
    async with await Ledger.open(tmp_path / "b.sqlite3") as other:
        assert other.card_ref("4111111111111111") != first


async def test_no_card_number_reaches_the_disk(simulator: Simulator, tmp_path: Path) -> None:
    client = Iso8583ProcessingCenter(
        "127.0.0.1", simulator.port, terminal_id="T1", acquirer_id="1", timeout=0.2
    )
    try:
        for stan, pan in enumerate(PANS, start=1):
            card = Card(Pan.parse(pan), Expiry(12, 2035), Secret("987"), "X")
            request = AuthorizationRequest(
                MessageId(stan, f"{stan:012d}", datetime.now(UTC)), card, Money(5_00, RUB), "7"
            )
            with contextlib.suppress(NoAnswer):
                await client.authorize(request)
        await client.reverse(
            ReversalRequest(
                MessageId(99, "000000000099", datetime.now(UTC)),
                request.id,
                request.card.pan,
                Money(1_00, RUB),
                "7",
            )
        )
    finally:
        await client.close()
    assert len(await simulator.ledger.holds()) == 4

    stored = await asyncio.to_thread(_all_bytes, tmp_path)
    for pan in PANS:
        assert pan.encode() not in stored
    assert b"411111****1111" in stored


def _all_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in directory.iterdir() if path.is_file())


async def test_another_connection_reads_the_running_books(
    simulator: Simulator, tmp_path: Path
) -> None:
    async with await Ledger.open(tmp_path / "bank.sqlite3") as reader:
        assert await reader.holds() == []
        await simulator.ledger.place_hold(hold_request())

        assert [hold.rrn for hold in await reader.active_holds()] == ["1"]


@contextlib.asynccontextmanager
async def raw_connection(
    port: int,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()


async def next_message(reader: asyncio.StreamReader) -> Fields:
    return spec.decode(await asyncio.wait_for(framing.read_frame(reader), 1.0))


def send(writer: asyncio.StreamWriter, fields: Fields) -> None:
    writer.write(framing.frame(spec.encode(fields)))


ECHO = {"t": "0800", "7": "0101000000", "11": "000005", "70": "301"}


@pytest.mark.parametrize(
    ("request_fields", "mti"),
    [
        ({"t": "0100", "2": "4111111111111111", "11": "000001"}, "0110"),
        (
            {
                "t": "0100",
                "2": "4111111111111111",
                "4": "000000000100",
                "11": "000001",
                "49": "000",
            },
            "0110",
        ),
        ({"t": "0400", "2": "4111111111111111", "4": "000000000100", "11": "000001"}, "0410"),
        ({"t": "0200", "2": "4111111111111111", "11": "000001"}, "0210"),
        ({"t": "0800", "7": "0101000000", "11": "000001", "70": "999"}, "0810"),
    ],
    ids=["no-amount", "unknown-currency", "no-original", "unsupported-mti", "network-code"],
)
async def test_unusable_requests_are_answered_30(
    simulator: Simulator, request_fields: Fields, mti: str
) -> None:
    async with raw_connection(simulator.port) as (reader, writer):
        send(writer, request_fields)

        answer = await next_message(reader)

    assert (answer["t"], answer["11"], answer["39"]) == (mti, "000001", "30")
    assert await simulator.ledger.holds() == []


async def test_undecodable_messages_and_answers_are_dropped(simulator: Simulator) -> None:
    async with raw_connection(simulator.port) as (reader, writer):
        writer.write(framing.frame(b"0100" + b"\xff not a bitmap at all \xfe"))
        send(writer, {"t": "0110", "11": "000004", "39": "00"})
        send(writer, ECHO)

        answer = await next_message(reader)

    assert (answer["t"], answer["11"], answer["39"]) == ("0810", "000005", "00")
    assert simulator.received == {"0800": 1}


async def test_broken_framing_closes_the_connection(simulator: Simulator) -> None:
    async with raw_connection(simulator.port) as (reader, writer):
        writer.write(b"\x00\x00")

        assert await asyncio.wait_for(reader.read(), 1.0) == b""


async def test_the_simulator_runs_as_its_own_process(tmp_path: Path) -> None:
    store = tmp_path / "bank.sqlite3"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "demobank",
        "--port",
        "0",
        "--http-port",
        "0",
        "--store",
        str(store),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    client: Iso8583ProcessingCenter | None = None
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20.0)
        address = re.fullmatch(rb"listening on 127\.0\.0\.1:(\d+)\n", line)
        assert address is not None, line
        line = await asyncio.wait_for(process.stdout.readline(), 20.0)
        web = re.fullmatch(rb"http on (http://127\.0\.0\.1:\d+)\n", line)
        assert web is not None, line
        async with httpx.AsyncClient(base_url=web[1].decode(), timeout=2.0) as http:
            enrolled = await http.post(
                "/3ds/enroll",
                json={
                    "pan": "4111111111111111",
                    "amount": 100,
                    "currency": "RUB",
                    "merchant_id": "7",
                    "return_url": "http://shop.example/",
                },
            )
        assert enrolled.json() == {"enrolled": False}
        client = Iso8583ProcessingCenter(
            "127.0.0.1", int(address[1]), terminal_id="T1", acquirer_id="1", timeout=1.0
        )
        card = Card(Pan.parse("2200000000000004"), Expiry(12, 2035), Secret("987"), "X")
        request = AuthorizationRequest(
            MessageId(1, "000000000001", datetime.now(UTC)), card, Money(250_00, RUB), "7"
        )

        answer = await client.authorize(request)

        async with await Ledger.open(store) as books:
            holds = await books.active_holds()
            assert [(hold.rrn, hold.amount, hold.approval_code) for hold in holds] == [
                ("000000000001", BankMoney(250_00, RUB), answer.approval_code)
            ]
            assert await books.available(card.pan, RUB) == BankMoney(1_000_000_00 - 250_00, RUB)
    finally:
        if client is not None:
            await client.close()
        process.terminate()
        await process.wait()


async def test_both_sides_listen_while_it_runs(tmp_path: Path) -> None:
    simulator = Simulator(tmp_path / "bank.sqlite3", "127.0.0.1", 0, 0)
    with pytest.raises(RuntimeError):
        _ = simulator.http_url

    async with simulator:
        assert simulator.port != 0
        assert simulator.http_port not in (0, simulator.port)
        assert simulator.http_url == f"http://127.0.0.1:{simulator.http_port}"
        async with httpx.AsyncClient(base_url=simulator.http_url) as http:
            assert (await http.get("/3ds/result/x")).status_code == 404

    with pytest.raises(RuntimeError):
        _ = simulator.http_url
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", simulator.http_port)


async def test_a_taken_http_port_stops_the_start_cleanly(tmp_path: Path) -> None:
    async with Simulator(tmp_path / "a.sqlite3") as first:
        second = Simulator(tmp_path / "b.sqlite3", http_port=first.http_port)
        with pytest.raises(OSError, match="in use"):
            await second.start()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", second.port)
        with pytest.raises(RuntimeError):
            _ = second.ledger


async def test_run_serves_both_sides(tmp_path: Path) -> None:
    ready: asyncio.Queue[Simulator] = asyncio.Queue()
    serving = asyncio.create_task(
        run("127.0.0.1", 0, tmp_path / "bank.sqlite3", http_port=0, on_ready=ready.put_nowait)
    )
    try:
        simulator = await asyncio.wait_for(ready.get(), 10.0)
        async with httpx.AsyncClient(base_url=simulator.http_url) as http:
            created = await http.post(
                "/wallet/payments",
                json={
                    "reference": "r",
                    "amount": 100,
                    "currency": "RUB",
                    "merchant_id": "7",
                    "description": "",
                    "return_url": "http://shop.example/",
                },
            )
        assert created.status_code == 200
        assert len(await simulator.ledger.wallet.payments()) == 1
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def test_a_store_of_the_settlement_simulator_gains_the_http_books(tmp_path: Path) -> None:
    store = tmp_path / "bank.sqlite3"
    async with await Ledger.open(store) as ledger:
        await ledger.place_hold(hold_request())
    with sqlite3.connect(store) as db:
        for table in ("wallet_refunds", "wallet_payments", "wallet_accounts", "acs_transactions"):
            db.execute(f"DROP TABLE {table}")
        db.execute("PRAGMA user_version = 1")
    db.close()

    async with await Ledger.open(store) as ledger:
        assert [hold.rrn for hold in await ledger.holds()] == ["1"]
        assert await ledger.acs.transactions() == []
        assert await ledger.wallet.payments() == []

    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (schema.VERSION,)
    db.close()
