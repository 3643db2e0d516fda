"""The processes of the cluster: the processing-center simulator, two ``ips serve
--no-workers`` and two ``ips worker``, each on ports of its own that stay the same across its
restarts (the load balancer's and the nodes' settings name them), its output appended to a
log file of its own."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.processes import free_port

START_SECONDS = 60.0
"""How long a process may take to listen once started (the machine is busy)."""


@dataclass
class Process:
    """One ``ips`` process, started again as often as it is killed."""

    name: str
    args: list[str]
    port: int
    """Where it listens once it is up."""
    log: Path
    env: dict[str, str]
    cwd: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        assert not self.running, f"{self.name} runs already"
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n=== {self.name}: start {self.starts} ===\n".encode())
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "ips", *self.args],
                cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def up(self) -> None:
        """Returns once the process listens on its port, or was killed meanwhile;
        ``AssertionError`` when it ended on its own first or did not listen in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_SECONDS
        while loop.time() < deadline:
            assert self.popen is not None
            if self.popen.returncode == -signal.SIGKILL:
                return
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} ended at start:\n{self.tail()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise AssertionError(f"{self.name} does not listen on {self.port}:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed, leases and claims stay behind."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()
        self.kills += 1

    def stop(self) -> None:
        """SIGTERM, and the process's own graceful stop; SIGKILL if it takes too long."""
        if not self.running:
            return
        assert self.popen is not None
        self.popen.terminate()
        try:
            self.popen.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Fleet:
    """The cluster's processes and the settings they share."""

    workdir: Path
    env: dict[str, str]
    pc_port: int = field(default_factory=free_port)
    pc_http_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)

    @classmethod
    def make(cls, workdir: Path, database_url: str, settings: dict[str, str]) -> Fleet:
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        fleet = cls(workdir, {})
        fleet.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "IPS_DATABASE_URL": database_url,
            "IPS_KEY_FILE": str(workdir / "ips.key"),
            "IPS_PROCESSING": f"127.0.0.1:{fleet.pc_port}",
            "IPS_SIMULATOR_STORE": str(fleet.store),
            **{f"IPS_{name.upper()}": value for name, value in settings.items()},
        }
        links = ["--processing", f"127.0.0.1:{fleet.pc_port}",
                 "--processing-http", fleet.pc_http_url]  # fmt: skip
        fleet._add("simulator", ["processing-center", "--port", str(fleet.pc_port),
                                 "--http-port", str(fleet.pc_http_port), "--store",
                                 str(fleet.store)], fleet.pc_port)  # fmt: skip
        for n in (1, 2):
            port = free_port()
            fleet._add(f"web-{n}", ["serve", "--no-workers", "--port", str(port), *links], port)
        for n in (1, 2):
            port = free_port()
            fleet._add(f"worker-{n}", ["worker", "--health-port", str(port), *links], port)
        return fleet

    def _add(self, name: str, args: list[str], port: int) -> None:
        log = self.workdir / "logs" / f"{name}.log"
        self.processes[name] = Process(name, args, port, log, self.env, self.workdir)

    @property
    def store(self) -> Path:
        """The simulator's books."""
        return self.workdir / "bank.sqlite3"

    @property
    def pc_http_url(self) -> str:
        return f"http://127.0.0.1:{self.pc_http_port}"

    @property
    def web_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.processes[f'web-{n}'].port}" for n in (1, 2)]

    async def start(self, name: str) -> None:
        process = self.processes[name]
        process.start()
        await process.up()

    async def start_all(self) -> None:
        await self.start("simulator")
        for name in ("web-1", "web-2", "worker-1", "worker-2"):  # one at a time: migrations
            await self.start(name)

    async def ips(self, *args: str, seconds: float = 180) -> tuple[int, str]:
        """``ips ARGS…`` (``settle``, ``reconcile``…) run to its end: its status and output."""
        command = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ips", *args, cwd=self.workdir, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            async with asyncio.timeout(seconds):
                output, _ = await command.communicate()
        except TimeoutError:
            command.kill()
            output, _ = await command.communicate()
            return -1, output.decode(errors="replace") + "\n(killed: it took too long)"
        assert command.returncode is not None
        return command.returncode, output.decode(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.running:
                assert process.popen is not None
                process.popen.terminate()
        for process in self.processes.values():
            process.stop()

    def logs(self) -> dict[str, str]:
        return {
            name: p.log.read_text(errors="replace")
            for name, p in self.processes.items()
            if p.log.exists()
        }
