"""``ips serve --processes N`` and the embedded simulator as real processes: the parent, its
node processes and the simulator, found through ``/proc``, paid through HTTP, killed and
stopped.

Which node process takes a connection is the kernel's choice. To know that each one serves,
a test stops the others (SIGSTOP) while it pays: a stopped process accepts nothing, so the
one left running takes the connection, and the payment's transaction names its terminal.

Each ``ips serve`` is started in a session of its own: whatever the test does, the whole
process group (node processes and simulator included) is killed at its end.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from ips.storage.database import create_engine
from tests.conftest import PostgresDatabases
from tests.e2e.test_nodes import readiness
from tests.integration.test_http_payment import card_form
from tests.processes import free_port, run_ips, wait_for_port

START = 90.0
"""Seconds a test waits at most for processes to start (each imports IPS, on a busy machine)."""
SETTLE = 30.0
"""Seconds a test waits at most for processes to do something on their own."""
SIMULATOR = "demobank.embedded"
"""In the command line of the embedded simulator's process."""
NODE_PROCESS = "--supervisor-fd"
"""In the command line of a node process of ``ips serve --processes``."""
CARD = "4111111111111111"


@dataclass(frozen=True)
class Proc:
    """A process as ``/proc`` shows it; ``start`` (its start time) tells it from a later
    process given the same pid."""

    pid: int
    start: int
    command: str

    def alive(self) -> bool:
        stat = _stat(self.pid)
        return stat is not None and stat[2] == self.start and stat[0] != "Z"


def _stat(pid: int) -> tuple[str, int, int] | None:
    """State, parent pid and start time of process ``pid``; ``None`` when there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[19])


def children(pid: int) -> list[Proc]:
    """The live processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[1] != pid or stat[0] == "Z":
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        found.append(Proc(int(entry.name), stat[2], command))
    return found


def of_kind(processes: Sequence[Proc], marker: str) -> list[Proc]:
    return [p for p in processes if marker in p.command]


class Served:
    """``ips serve ARGS…`` in a session of its own, its output (stdout and stderr, with that
    of its children) read as it comes."""

    def __init__(self, args: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ips", "serve", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    def output(self) -> str:
        return "".join(self._lines)

    async def said(self, pattern: str, times: int = 1, seconds: float = START) -> list[str]:
        """The first ``times`` lines matching ``pattern``, once they have been written."""
        deadline = time.monotonic() + seconds
        while True:
            lines = [line for line in list(self._lines) if re.search(pattern, line)]
            if len(lines) >= times:
                return lines[:times]
            assert self.process.poll() is None, f"ips serve ended:\n{self.output()}"
            assert time.monotonic() < deadline, f"never said {pattern!r}:\n{self.output()}"
            await asyncio.sleep(0.05)

    def wait(self, seconds: float) -> int:
        """Its exit status, once it has ended and its output has all been read."""
        status = self.process.wait(seconds)
        self._reader.join(timeout=seconds)
        return status

    def group_is_empty(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return True
        return False

    def kill_all(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._reader.join(timeout=SETTLE)

    def check_output(self) -> None:
        output = self.output()
        assert "Traceback" not in output, output
        assert CARD not in output


@contextmanager
def serving(*args: str, cwd: Path, env: dict[str, str]) -> Iterator[Served]:
    served = Served(args, cwd, env)
    try:
        yield served
    finally:
        served.kill_all()


def environment(database_url: str) -> dict[str, str]:
    """Without a processing center named, so that ``ips serve`` starts the simulator."""
    return {
        **os.environ,
        "IPS_DATABASE_URL": database_url,
        "IPS_PROCESSING": "",
        "IPS_PROCESSING_TIMEOUT": "5",
        "PYTHONUNBUFFERED": "1",
    }


def add_shop(cwd: Path, env: dict[str, str]) -> None:
    added = run_ips(
        "merchant", "add", "--merchant-id", "111111", "--name", "Demo Shop", "--login", "shop",
        "--password", "shop-password", "--secret-word", "secret", "--return-host",
        "shop.example", "--double-stage",
        cwd=cwd, env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


async def paid(url: str, ordernumber: str) -> bool:
    """Whether a buyer of their own (a connection of their own) pays ``ordernumber`` by card:
    payment request, the page of ways to pay (the simulator offers its wallet too), the card
    page, Pay."""
    async with httpx.AsyncClient(base_url=url, timeout=SETTLE) as http:
        request = await http.get(
            "/pay/order.cfm",
            params={"Merchant_ID": "111111", "OrderNumber": ordernumber, "OrderAmount": "100.00",
                    "OrderCurrency": "RUB", "URL_RETURN_OK": "https://shop.example/ok",
                    "URL_RETURN_NO": "https://shop.example/no"},
        )  # fmt: skip
        assert request.status_code == 303, request.text
        card_page = f"{request.headers['location']}/card"
        token = re.search(r'name="token" value="([^"]+)"', (await http.get(card_page)).text)
        assert token is not None
        answer = await http.post(card_page, data=card_form(token[1], CARD))
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].startswith("https://shop.example/ok?")


async def paid_at(url: str, ordernumber: str, stopped: Sequence[Proc]) -> bool:
    """``paid`` while the processes ``stopped`` are stopped: another one serves it."""
    for process in stopped:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        return await paid(url, ordernumber)
    finally:
        for process in stopped:
            os.kill(process.pid, signal.SIGCONT)


async def scraped_at(url: str, stopped: Sequence[Proc]) -> tuple[float, set[str]]:
    """What ``/metrics`` says while the processes ``stopped`` are stopped: the approved card
    payments, and the pids whose ISO 8583 link is up (the sums of every node process's)."""
    for process in stopped:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=SETTLE) as http:
            answer = await http.get("/metrics")
    finally:
        for process in stopped:
            os.kill(process.pid, signal.SIGCONT)
    assert answer.status_code == 200, answer.text
    samples = [s for family in text_string_to_metric_families(answer.text) for s in family.samples]
    approved = {"way": "card", "outcome": "approved", "acquirer": "default"}
    payments = [s.value for s in samples if s.name == "ips_payments_total" and s.labels == approved]
    up = {s.labels["pid"] for s in samples if s.name == "ips_iso8583_link_up" and s.value == 1}
    return sum(payments), up


async def terminals(database_url: str) -> dict[str, str]:
    """The terminal each order's authorization went under, by order number."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT o.ordernumber, t.terminal_id FROM transactions t "
                    "JOIN orders o ON o.id = t.order_id WHERE t.kind = 'authorization'"
                )
            )
            return {str(order): str(terminal) for order, terminal in rows}
    finally:
        await engine.dispose()


async def until_ended(processes: Sequence[Proc], seconds: float = SETTLE) -> None:
    deadline = time.monotonic() + seconds
    while left := [p for p in processes if p.alive()]:
        assert time.monotonic() < deadline, f"still running: {left}"
        await asyncio.sleep(0.1)


async def until_child(parent: int, marker: str, known: Sequence[Proc]) -> Proc:
    """A child of ``parent`` with ``marker`` in its command that is none of ``known``."""
    deadline = time.monotonic() + SETTLE
    while True:
        new = [p for p in of_kind(children(parent), marker) if p not in known]
        if new:
            return new[0]
        assert time.monotonic() < deadline, f"no new {marker} process"
        await asyncio.sleep(0.1)


@pytest.fixture
async def postgres_url(postgres: PostgresDatabases | None) -> str:
    """A database of its own on PostgreSQL; the test is skipped without one."""
    if postgres is None:
        pytest.skip("IPS_TEST_POSTGRES_URL is not set: --processes 2 needs PostgreSQL")
    return await postgres.new()


async def node_processes(served: Served) -> tuple[list[Proc], dict[int, str]]:
    """The node processes of ``ips serve --processes 2`` once both are ready, and the
    terminal of each, by pid."""
    [listed] = await served.said(r"^node processes: ")
    pids = [int(pid) for pid in re.findall(r"\d+", listed)]
    ready = await served.said(r"^node process \d+ ready: ", times=2)
    terminal = {
        int(found[1]): found[2]
        for line in ready
        if (found := re.search(r"^node process (\d+) ready: .*; terminal (\w+)$", line.strip()))
    }
    nodes = of_kind(children(served.process.pid), NODE_PROCESS)
    assert sorted(p.pid for p in nodes) == sorted(pids) == sorted(terminal)
    assert len(set(terminal.values())) == 2
    return sorted(nodes, key=lambda p: pids.index(p.pid)), terminal


async def test_processes_share_the_port_come_back_when_killed_and_stop_on_sigterm(
    tmp_path: Path, postgres_url: str
) -> None:
    env = environment(postgres_url)
    add_shop(tmp_path, env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving("--processes", "2", "--port", str(port), cwd=tmp_path, env=env) as served:
        parent = served.process.pid
        (first, second), terminal = await node_processes(served)
        assert "--workers" in first.command.split() and "--no-workers" in second.command.split()
        [simulator] = of_kind(children(parent), SIMULATOR)
        assert len(children(parent)) == 3

        together = await asyncio.gather(*(paid(url, f"C-{n}") for n in range(10)))
        assert all(together)
        assert await paid_at(url, "AT-FIRST", [second])
        assert await paid_at(url, "AT-SECOND", [first])
        went = await terminals(postgres_url)
        assert set(went) == {*(f"C-{n}" for n in range(10)), "AT-FIRST", "AT-SECOND"}
        assert went["AT-FIRST"] == terminal[first.pid]
        assert went["AT-SECOND"] == terminal[second.pid]
        both = {str(first.pid), str(second.pid)}
        assert await scraped_at(url, [second]) == (12, both)  # each adds up both
        assert await scraped_at(url, [first]) == (12, both)

        os.kill(first.pid, signal.SIGKILL)
        await until_ended([first])
        for _ in range(5):  # the second answers while the first is down
            assert (await readiness(f"{url}/health/ready"))[0] == 200
        again = await until_child(parent, NODE_PROCESS, [first, second])
        assert "--workers" in again.command.split()  # its role: it runs the workers
        [ready] = await served.said(rf"^node process {again.pid} ready: ", seconds=SETTLE)
        assert "HTTP and the background workers" in ready
        new_terminal = ready.strip().rsplit(" ", 1)[1]
        assert (await readiness(f"{url}/health/ready"))[0] == 200
        assert await paid_at(url, "AFTER", [second])
        assert (await terminals(postgres_url))["AFTER"] == new_terminal
        # what the killed process counted stays; its link is forgotten
        assert await scraped_at(url, [again]) == (13, {str(again.pid), str(second.pid)})
        assert sorted(p.pid for p in of_kind(children(parent), NODE_PROCESS)) == sorted(
            [again.pid, second.pid]
        )

        served.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(served.wait, SETTLE) == 0
        assert served.group_is_empty()  # no node process, no simulator
        assert not any(p.alive() for p in (first, second, again, simulator))
        served.check_output()


async def test_the_processes_end_when_their_parent_is_killed(
    tmp_path: Path, postgres_url: str
) -> None:
    port = free_port()
    env = environment(postgres_url)
    with serving("--processes", "2", "--port", str(port), cwd=tmp_path, env=env) as served:
        await node_processes(served)
        left = children(served.process.pid)
        assert len(of_kind(left, NODE_PROCESS)) == 2 and len(of_kind(left, SIMULATOR)) == 1
        served.process.kill()
        served.process.wait()
        await until_ended(left)
        served.check_output()


async def test_more_than_one_process_on_sqlite_is_refused(tmp_path: Path) -> None:
    port = free_port()
    env = environment(f"sqlite:///{tmp_path / 'ips.sqlite3'}")
    with serving("--processes", "2", "--port", str(port), cwd=tmp_path, env=env) as served:
        assert await asyncio.to_thread(served.wait, START) == 1
        output = served.output()
        assert "error: --processes 2 needs PostgreSQL" in output, output
        assert "IPS serves" not in output and "Traceback" not in output
        assert served.group_is_empty()
    with socket.socket() as sock:  # the port was never taken
        sock.bind(("127.0.0.1", port))
    assert not (tmp_path / "ips.sqlite3").exists()


async def test_the_embedded_simulator_ends_when_its_node_is_killed(tmp_path: Path) -> None:
    port = free_port()
    env = environment(f"sqlite:///{tmp_path / 'ips.sqlite3'}")
    with serving("--port", str(port), cwd=tmp_path, env=env) as served:
        wait_for_port(port, served.process, served.output, seconds=START)
        [simulator] = of_kind(children(served.process.pid), SIMULATOR)
        served.process.kill()
        served.process.wait()
        await until_ended([simulator])
        served.check_output()


async def test_a_killed_simulator_is_started_again_and_payments_go_on(tmp_path: Path) -> None:
    port = free_port()
    env = environment(f"sqlite:///{tmp_path / 'ips.sqlite3'}")
    add_shop(tmp_path, env)
    listening = r"simulator listening on (127\.0\.0\.1:\d+) \(ISO 8583\) and (\S+) "
    with serving("--port", str(port), cwd=tmp_path, env=env) as served:
        wait_for_port(port, served.process, served.output, seconds=START)
        node = served.process.pid
        [simulator] = of_kind(children(node), SIMULATOR)

        os.kill(simulator.pid, signal.SIGKILL)
        again = await until_child(node, SIMULATOR, [simulator])
        first, second = await served.said(listening, times=2, seconds=SETTLE)
        assert re.findall(listening, first) == re.findall(listening, second)  # same ports
        assert await paid(f"http://127.0.0.1:{port}", "AFTER")
        assert not simulator.alive() and again.alive()

        served.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(served.wait, SETTLE) == 0
        assert served.group_is_empty()
        served.check_output()
