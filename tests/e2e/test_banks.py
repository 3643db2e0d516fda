"""Two banks side by side as real processes (``ips processing-center`` and ``python -m
demobank``), each with its own name, books and rules, reached by IPS's ISO 8583 client and
its settlement report over HTTP — never through their storage."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Money, currency
from ips.domain.responses import ResponseCode
from ips.processing.bank_report import read_report
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.port import AuthorizationRequest, MessageId
from tests.processes import free_port, wait_for_port

ACQUIRER_A, ACQUIRER_B = "10000000001", "20000000002"
RUB, USD = currency("RUB"), currency("USD")
_numbers = itertools.count(1)


@dataclass
class Bank:
    name: str
    port: int
    http_url: str
    store: Path


def start_bank(
    tmp_path: Path, command: list[str], name: str, *rules: str
) -> tuple[Bank, subprocess.Popen[str]]:
    port, http_port = free_port(), free_port()
    store = tmp_path / f"{name}.sqlite3"
    process = subprocess.Popen(
        [sys.executable, *command, "--name", name, "--port", str(port), "--http-port",
         str(http_port), "--store", str(store), *rules],
        cwd=tmp_path, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    wait_for_port(port, process, lambda: process.communicate()[0])
    return Bank(name, port, f"http://127.0.0.1:{http_port}", store), process


@pytest.fixture
def banks(tmp_path: Path) -> Iterator[tuple[Bank, Bank]]:
    """BANK-A takes no double-stage payment, with any acquirer id; BANK-B issued acquirer id
    ``ACQUIRER_B``, takes RUB only, and double-stage payments but not of a stored card."""
    processes = []
    try:
        a, process = start_bank(
            tmp_path, ["-m", "ips", "processing-center"], "BANK-A", "--no-double-stage"
        )
        processes.append(process)
        b, process = start_bank(
            tmp_path, ["-m", "demobank"], "BANK-B", "--acquirer-id", ACQUIRER_B,
            "--no-stored-card-double-stage", "--currencies", "RUB",
        )  # fmt: skip
        processes.append(process)
        yield a, b
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            output, _ = process.communicate(timeout=20)
            assert "Traceback" not in output, output


async def connected(bank: Bank, acquirer_id: str) -> Iso8583ProcessingCenter:
    client = Iso8583ProcessingCenter(
        "127.0.0.1", bank.port, terminal_id="IPS00001", acquirer_id=acquirer_id, timeout=5.0
    )
    await client.start()
    return client


def hold(
    amount: Money, *, double_stage: bool = False, recurring: bool = False
) -> AuthorizationRequest:
    number = next(_numbers)
    card = Card(Pan.parse("4111111111111111"), Expiry(12, 2035), Secret("987"), "IVAN PETROV")
    return AuthorizationRequest(
        MessageId(number, f"{number:012d}", datetime.now(UTC)),
        replace(card, cvc=None) if recurring else card,
        amount,
        "111111",
        recurring=recurring,
        double_stage=double_stage,
    )


async def test_each_bank_answers_by_its_own_rules(banks: tuple[Bank, Bank]) -> None:
    bank_a, bank_b = banks
    a, b = await connected(bank_a, ACQUIRER_A), await connected(bank_b, ACQUIRER_B)
    stranger = await connected(bank_b, ACQUIRER_A)
    try:
        refused = await a.authorize(hold(Money(100_00, RUB), double_stage=True))
        assert (refused.code, refused.raw_code) == (ResponseCode.DECLINED, "58")
        single = await a.authorize(hold(Money(100_00, USD)))
        assert single.approved

        held = await b.authorize(hold(Money(200_00, RUB), double_stage=True))
        assert held.approved
        on_file = await b.authorize(hold(Money(300_00, RUB), double_stage=True, recurring=True))
        assert (on_file.code, on_file.raw_code) == (ResponseCode.DECLINED, "58")
        charged = await b.authorize(hold(Money(300_00, RUB), recurring=True))
        assert charged.approved
        dollars = await b.authorize(hold(Money(100_00, USD)))
        assert (dollars.code, dollars.raw_code) == (ResponseCode.DECLINED, "58")
        unknown = await stranger.authorize(hold(Money(100_00, RUB)))
        assert (unknown.code, unknown.raw_code) == (ResponseCode.SYSTEM_ERROR, "92")
    finally:
        await asyncio.gather(a.close(), b.close(), stranger.close())

    async with httpx.AsyncClient(timeout=10) as http:
        reports = [
            (await http.get(f"{bank.http_url}/report", params={"acquirer_id": acquirer})).content
            for bank, acquirer in ((bank_a, ACQUIRER_A), (bank_b, ACQUIRER_B))
        ]
        other = await http.get(f"{bank_b.http_url}/report", params={"acquirer_id": ACQUIRER_A})
    report_a, report_b = read_report(reports[0], ACQUIRER_A), read_report(reports[1], ACQUIRER_B)
    assert (report_a.bank, report_b.bank) == ("BANK-A", "BANK-B")
    assert [(f.currency, f.amount) for f in report_a.figures.values()] == [("USD", 100_00)]
    assert sorted((f.currency, f.amount) for f in report_b.figures.values()) == [
        ("RUB", 200_00),
        ("RUB", 300_00),
    ]
    assert other.status_code == 404
    assert other.json() == {"error": "BANK-B issued acquirer id 20000000002 only"}


async def test_a_bank_reports_one_day_and_refuses_a_day_it_cannot_read(
    banks: tuple[Bank, Bank],
) -> None:
    bank_a, _ = banks
    a = await connected(bank_a, ACQUIRER_A)
    try:
        assert (await a.authorize(hold(Money(100_00, RUB)))).approved
    finally:
        await a.close()
    today = datetime.now(UTC).date().isoformat()
    async with httpx.AsyncClient(base_url=bank_a.http_url, timeout=10) as http:
        on_the_day = await http.get("/report", params={"acquirer_id": ACQUIRER_A, "day": today})
        before = await http.get("/report", params={"acquirer_id": ACQUIRER_A, "day": "2000-01-01"})
        unreadable = await http.get("/report", params={"acquirer_id": ACQUIRER_A, "day": "soon"})
    assert len(read_report(on_the_day.content, ACQUIRER_A).figures) == 1
    assert read_report(before.content, ACQUIRER_A).figures == {}
    assert on_the_day.json()["day"] == today
    assert unreadable.status_code == 400
