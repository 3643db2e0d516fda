"""Helpers of the tests that run ``ips`` as a process: a free port, a command, a wait for a
server to listen."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_ips(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``ips ARGS…`` run to its end (a minute at most), its output kept."""
    return subprocess.run(
        [sys.executable, "-m", "ips", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for_port(
    port: int, process: subprocess.Popen[Any], output: Callable[[], str], seconds: float = 30
) -> None:
    """Returns once ``process`` listens on ``port``; an ``AssertionError`` with its
    ``output()`` when it ends first or does not listen in time (then it is killed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process ended at start:\n{output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise AssertionError(f"nothing listens on {port}:\n{output()}")
