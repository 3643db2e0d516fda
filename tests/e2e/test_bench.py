"""The benchmarks in ``bench/`` in their short form, as the docs run them: they start what
they measure, pay or ask, and print their figures. Only that they run and what they print is
asserted, never how fast."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_payments_on_sqlite_pays_the_whole_way_and_prices_each_process() -> None:
    out = bench("bench.payments", "--database", "sqlite", "--buyers", "2", "--seconds", "3",
                "--pgbench-seconds", "0")  # fmt: skip
    ran = re.search(r"2 buyers, [\d.]+ s: (\d+) payments, [\d.]+/s, errors 0", out)
    assert ran is not None, out
    assert int(ran.group(1)) > 0
    for step in ("order.cfm", "card page", "card form", "orderstate", "payment"):
        assert re.search(rf"^  {step} +[\d.]+ +[\d.]+ +[\d.]+$", out, re.MULTILINE), step
    assert re.search(r"CPU ms per payment: IPS [\d.]+, .*simulator [\d.]+, driver [\d.]+", out)


@pytest.mark.skipif(not os.environ.get("IPS_TEST_POSTGRES_URL"), reason="needs PostgreSQL")
def test_floor_prices_requests_and_statements() -> None:
    server = os.environ["IPS_TEST_POSTGRES_URL"].rsplit("/", 1)[0] + "/postgres"
    out = bench("bench.floor", "--database", server, "--requests", "300", "--statements", "300")
    for measure in (
        "FastAPI: POST /form",
        "asyncpg: SELECT by id",
        "SQLAlchemy Core: SELECT by id",
    ):
        assert re.search(rf"\| {re.escape(measure)} \| 300 \| [\d.]+ \|", out), measure
    assert re.search(r"floor of a payment: 4 requests × [\d.]+ ms \+ 37 statements", out)
