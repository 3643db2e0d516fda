"""A caller that goes away while it sends its request — an IPS node killed half way through
its enrolment call, as the cluster test (seed 7) saw — is no failure of the simulator: it
logs no error and no traceback, and answers the next caller."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from demobank import Simulator


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/3ds/enroll", "application/json"),
        ("/3ds/challenge/x", "application/x-www-form-urlencoded"),
    ],
)
async def test_a_caller_gone_before_its_body_arrived_is_no_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, path: str, kind: str
) -> None:
    caplog.set_level(logging.INFO)
    async with Simulator(tmp_path / "bank.sqlite3") as simulator:
        _, writer = await asyncio.open_connection("127.0.0.1", simulator.http_port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
            'Content-Length: 200\r\n\r\n{"pan": "4000'.encode()
        )
        await writer.drain()
        await asyncio.sleep(0.2)  # the app waits for the rest of the body
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.2)

        async with httpx.AsyncClient(base_url=simulator.http_url) as http:
            answer = await http.post("/3ds/enroll", json={})
        assert answer.status_code == 400

    failed = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert failed == [], [r.getMessage() for r in failed]
