"""Issue 14's "done when", as an operator does it: two banks as processes of their own, IPS
connected to both (BANK-A the default acquirer of the settings, BANK-B added), shops routed
to each, double-stage payments refused where the bank takes none and taken after the move,
what follows from a hold going to the bank that holds it, settlement and reconciliation per
bank from its own report, and one bank stopped while the other's shops still pay."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ips.processing.bank_report import read_report
from tests.e2e.test_banks import Bank, start_bank
from tests.e2e.test_processes import orderstate, pay, web_service
from tests.processes import free_port, run_ips, wait_for_port

ACQUIRER_A, ACQUIRER_B = "10000000001", "20000000002"
CARD = "4111111111111111"


@dataclass
class Provider:
    url: str
    bank_a: Bank
    bank_b: Bank
    stop_bank_b: subprocess.Popen[str]
    cwd: Path
    env: dict[str, str]

    def ips(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = run_ips(*args, cwd=self.cwd, env=self.env)
        assert "Traceback" not in done.stderr, done.stderr
        return done


@pytest.fixture
def provider(tmp_path: Path, database_url: str) -> Iterator[Provider]:
    processes: list[subprocess.Popen[str]] = []
    try:
        bank_a, process = start_bank(
            tmp_path, ["-m", "ips", "processing-center"], "BANK-A", "--no-double-stage"
        )
        processes.append(process)
        bank_b, bank_b_process = start_bank(
            tmp_path, ["-m", "ips", "processing-center"], "BANK-B", "--acquirer-id",
            ACQUIRER_B, "--currencies", "RUB,USD",
        )  # fmt: skip
        processes.append(bank_b_process)
        env = {
            **os.environ,
            "IPS_DATABASE_URL": database_url,
            "IPS_PROCESSING": f"127.0.0.1:{bank_a.port}",
            "IPS_PROCESSING_HTTP": bank_a.http_url,
            "IPS_PROCESSING_DOUBLE_STAGE": "false",
            "IPS_PROCESSING_TIMEOUT": "1",
        }
        setup = Provider("", bank_a, bank_b, bank_b_process, tmp_path, env)
        for merchant_id, login in (("111111", "shop"), ("222222", "other")):
            added = setup.ips(
                "merchant", "add", "--merchant-id", merchant_id, "--name", f"Shop {login}",
                "--login", login, "--password", f"{login}-password", "--secret-word", "secret",
                "--return-host", "shop.example", "--double-stage",
            )  # fmt: skip
            assert added.returncode == 0, added.stderr
        added = setup.ips(
            "acquirer", "add", "BANK-B", "--processing", f"127.0.0.1:{bank_b.port}",
            "--processing-http", bank_b.http_url, "--acquirer-id", ACQUIRER_B,
            "--currencies", "RUB,USD",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        http_port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "ips", "serve", "--port", str(http_port)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        processes.append(server)
        wait_for_port(http_port, server, lambda: server.communicate()[0])
        setup.url = f"http://127.0.0.1:{http_port}"
        yield setup
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            output, _ = process.communicate(timeout=20)
            assert CARD not in output
            assert "Traceback" not in output, output


def route(provider: Provider, merchant_id: str, *how: str) -> None:
    routed = provider.ips("merchant", "set", "--merchant-id", merchant_id, "--acquirer", *how)
    assert routed.returncode == 0, routed.stderr


async def held_at(http: httpx.AsyncClient, bank: Bank, acquirer_id: str) -> list[tuple[str, int]]:
    """What the bank's own report says it holds or captured: (currency, amount) each."""
    answer = await http.get(f"{bank.http_url}/report", params={"acquirer_id": acquirer_id})
    figures = read_report(answer.content, acquirer_id).figures.values()
    return sorted((f.currency, f.amount) for f in figures)


async def test_two_acquirers_each_with_its_shops_rules_books_and_report(
    provider: Provider,
) -> None:
    route(provider, "222222", "BANK-B")
    route(provider, "111111", "BANK-B", "--currency", "USD")
    shown = provider.ips("merchant", "show", "--merchant-id", "111111").stdout
    assert re.search(r"^acquirers +USD:\*=BANK-B$", shown, re.M), shown
    listed = provider.ips("acquirer", "list").stdout
    assert re.search(r"^default .*IPS00001.*double-stage no", listed, re.M), listed
    assert re.search(r"^BANK-B .*IPSA0001 +RUB,USD", listed, re.M), listed

    async with httpx.AsyncClient(base_url=provider.url, timeout=30) as http:
        for number, extra in (("R-1", {}), ("U-1", {"OrderCurrency": "USD"})):
            paid = await pay(http, number, CARD, **extra)
            assert paid.headers["location"].startswith("https://shop.example/ok"), paid.text
        other = await pay(http, "O-1", CARD, Merchant_ID="222222", OrderAmount="50.00")
        assert other.headers["location"].startswith("https://shop.example/ok"), other.text
        assert await held_at(http, provider.bank_a, ACQUIRER_A) == [("RUB", 100_00)]
        assert await held_at(http, provider.bank_b, ACQUIRER_B) == [
            ("RUB", 50_00),
            ("USD", 100_00),
        ]

        refused = await http.get("/pay/order.cfm", params={
            "Merchant_ID": "111111", "OrderNumber": "D-1", "OrderAmount": "100.00",
            "OrderCurrency": "RUB", "Delay": "1", "Language": "EN"})  # fmt: skip
        assert refused.status_code == 400 and "double-stage" in refused.text
        route(provider, "111111", "BANK-B")
        held = await pay(http, "D-1", CARD, Delay="1", OrderAmount="70.00")
        bill = parse_qs(urlsplit(held.headers["location"]).query)["billnumber"][0]
        assert (await orderstate(http, "D-1"))["orderstate"] == "Delayed"

        route(provider, "111111", "default")  # the hold stays with BANK-B
        charged = await web_service(http, "/charge/charge.cfm", Billnumber=bill)
        assert charged["orderstate"] == "Approved"

        settled_b = provider.ips("settle", "--acquirer", "BANK-B")
        assert settled_b.returncode == 0, settled_b.stdout + settled_b.stderr
        batches_b = re.findall(r"^batch \d+ (\w+) accepted (\S+)$", settled_b.stdout, re.M)
        assert sorted(batches_b) == [("RUB", "BANK-B"), ("USD", "BANK-B")], settled_b.stdout
        settled = provider.ips("settle")
        assert re.findall(r"^batch \d+ (\w+) accepted (\S+)$", settled.stdout, re.M) == [
            ("RUB", "default")
        ], settled.stdout
        for acquirer in ("BANK-B", "default"):
            reconciled = provider.ips("reconcile", "--acquirer", acquirer)
            assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
            assert "no differences" in reconciled.stdout
        mixed = provider.ips(
            "reconcile", "--acquirer", "default", "--report-url",
            f"{provider.bank_b.http_url}/report?acquirer_id={ACQUIRER_B}",
        )  # fmt: skip
        assert mixed.returncode == 2 and "another acquirer" not in mixed.stdout
        assert f"acquirer id {ACQUIRER_B}, not {ACQUIRER_A}" in mixed.stderr

        provider.stop_bank_b.terminate()
        provider.stop_bank_b.wait(timeout=20)
        unreachable = await pay(http, "O-2", CARD, Merchant_ID="222222", OrderAmount="5.00")
        assert re.fullmatch(r"/pay/\d+", unreachable.headers["location"])  # declined: retry
        still = await pay(http, "R-2", CARD)
        assert still.headers["location"].startswith("https://shop.example/ok"), still.text
