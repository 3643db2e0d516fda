"""The ISO 8583 client and terminals: its link signs on as a terminal (and again as another),
each message goes under the terminal it names, and answers of several terminals on one link
are told apart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from demobank import Simulator
from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Money, currency
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.port import AuthorizationRequest, MessageId, ReversalRequest
from tests.integration.test_iso8583_faults import FakeHost, authorization

RUB = currency("RUB")
VISA = "4111111111111111"


@pytest.fixture
async def host() -> AsyncIterator[FakeHost]:
    fake = FakeHost()
    await fake.start()
    yield fake
    await fake.stop()


async def test_the_link_signs_on_as_its_terminal_and_again_as_another(host: FakeHost) -> None:
    client = Iso8583ProcessingCenter(
        "127.0.0.1", host.port, terminal_id="T1", acquirer_id="1", timeout=1.0
    )
    try:
        await client.start()
        await client.authorize(authorization())
        await client.sign_on_as("T2")
        await client.authorize(authorization())
        named = authorization()
        await client.authorize(replace(named, id=replace(named.id, terminal_id="T9")))
    finally:
        await client.close()

    sent = [(m["t"], m.get("70", ""), m.get("41", "")) for m in host.received]
    assert sent == [
        ("0800", "001", "T1      "),
        ("0100", "", "T1      "),
        ("0800", "001", "T2      "),
        ("0100", "", "T2      "),
        ("0100", "", "T9      "),  # the terminal its MessageId names
    ]
    assert host.connections == 1 and client.terminal_id == "T2"


async def test_an_invalid_terminal_id_is_refused_before_anything_is_sent(
    host: FakeHost,
) -> None:
    client = Iso8583ProcessingCenter(
        "127.0.0.1", host.port, terminal_id="T1", acquirer_id="1", timeout=1.0
    )
    try:
        with pytest.raises(ValueError, match="terminal id"):
            await client.sign_on_as("TOO-LONG-ID")
    finally:
        await client.close()
    assert client.terminal_id == "T1" and host.received == []


@pytest.fixture
async def bank(tmp_path: Path) -> AsyncIterator[tuple[Simulator, Iso8583ProcessingCenter]]:
    async with Simulator(tmp_path / "bank.sqlite3") as simulator:
        client = Iso8583ProcessingCenter(
            "127.0.0.1", simulator.port, terminal_id="LINK", acquirer_id="1", timeout=2.0
        )
        try:
            yield simulator, client
        finally:
            await client.close()


async def test_the_same_stan_of_two_terminals_at_once_on_one_link(
    bank: tuple[Simulator, Iso8583ProcessingCenter],
) -> None:
    """Two terminals count their STANs apart, so one link may carry the same STAN of both at
    the same moment: each answer goes to its own request."""
    simulator, client = bank
    at = datetime.now(UTC).replace(microsecond=0)
    card = Card(Pan.parse(VISA), Expiry(12, 2035), Secret("123"), "IVAN PETROV")
    holds = [
        MessageId(1, f"{n:012d}", at, terminal_id=terminal)
        for n, terminal in enumerate(("T1", "T2"), start=1)
    ]
    approvals = await asyncio.gather(
        *(
            client.authorize(AuthorizationRequest(hold, card, Money(100_00, RUB), "100500"))
            for hold in holds
        )
    )
    assert [a.approved for a in approvals] == [True, True]

    reversals = await asyncio.gather(
        *(
            client.reverse(
                ReversalRequest(
                    MessageId(2, hold.rrn, at, terminal_id=hold.terminal_id),
                    hold,
                    Pan.parse(VISA),
                    Money(40_00 * n, RUB),
                    "100500",
                )
            )
            for n, hold in enumerate(holds, start=1)
        )
    )

    assert [r.approved for r in reversals] == [True, True]
    released = [await simulator.ledger.hold(h.terminal_id, h.rrn) for h in holds]
    assert [(h.terminal_id, h.released.minor) for h in released if h] == [
        ("T1", 40_00),
        ("T2", 80_00),
    ]
