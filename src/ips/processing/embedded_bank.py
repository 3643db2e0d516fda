"""The simulated bank a node starts itself when no processing center is named (``ips serve``
without ``--processing``), in a process of its own: its work never waits behind the node's
on one event loop, nor on one core. The bank is ``demobank``, a package IPS does not import:
it reaches it over the wire only, as any bank.

``EmbeddedSimulator.start`` runs ``python -m demobank.embedded``: the child opens its store,
listens (ISO 8583 and the HTTP side) on ports it picks or is given, writes ``ISO_PORT
HTTP_PORT`` as the one line of its standard output once it does, and serves until its
standard input ends — when the node stops it, or when the node dies however it dies
(SIGKILL too), so it never outlives its node. It ignores SIGINT and SIGTERM: a Ctrl-C, or a
process manager stopping every process of the node's group, reaches it as well, and the node
needs its bank until the payments under way have finished. A child that ends while the node
runs is started again on the same ports.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import ips

log = logging.getLogger(__name__)

CHILD = "demobank.embedded"
"""The module the child runs."""

RESTART_PAUSE = 1.0
"""Seconds between tries to start a simulator again that will not start."""
STOP_WAIT = 10.0
"""Seconds a stopping simulator has to end before it is killed."""
SOURCE = str(Path(ips.__file__).resolve().parent.parent)
"""Where the child imports ``demobank`` from: beside the ``ips`` this process runs."""


class SimulatorFailed(Exception):
    """The simulator's process ended before it listened."""


class EmbeddedSimulator:
    """The simulator in a child process; ``port``, ``http_port`` and ``http_url`` name where
    it listens once started (on ``host``)."""

    def __init__(self, store_path: Path | str, host: str = "127.0.0.1") -> None:
        self.store_path = Path(store_path).resolve()
        self.host = host
        self.port = 0
        self.http_port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._watching: asyncio.Task[None] | None = None

    @property
    def http_url(self) -> str:
        if self._process is None:
            raise RuntimeError("the simulator is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.http_port}"

    async def start(self) -> None:
        """Returns once the simulator listens; ``SimulatorFailed`` when it cannot."""
        await self._spawn()
        self._watching = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        """Ends the simulator: it lets the messages under way be answered, then closes."""
        watching, process = self._watching, self._process
        self._watching = self._process = None
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        if process is not None:
            await _end(process)

    async def _spawn(self) -> None:
        path = os.pathsep.join(filter(None, [SOURCE, os.environ.get("PYTHONPATH")]))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", CHILD, "--store", str(self.store_path),
            "--host", self.host, "--port", str(self.port), "--http-port", str(self.http_port),
            "--log-level", str(logging.getLogger().getEffectiveLevel()),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )  # fmt: skip
        try:
            assert process.stdout is not None
            said = (await process.stdout.readline()).split()
            if len(said) != 2:
                status = await process.wait()
                raise SimulatorFailed(f"the simulator did not start (exit status {status})")
        except BaseException:
            process.kill()
            await process.wait()
            raise
        self.port, self.http_port = int(said[0]), int(said[1])
        self._process = process

    async def _watch(self) -> None:
        while self._process is not None:
            status = await self._process.wait()
            log.error(
                "the simulator (pid %d) ended with status %d; starting it again",
                self._process.pid,
                status,
            )
            while True:
                try:
                    await self._spawn()
                    break
                except (SimulatorFailed, OSError) as exc:
                    log.error("%s; trying again in %.0f s", exc, RESTART_PAUSE)
                    await asyncio.sleep(RESTART_PAUSE)


async def _end(process: asyncio.subprocess.Process) -> None:
    """Closes the child's standard input (it stops) and waits for it to end; killed when it
    takes longer than ``STOP_WAIT``, or when this wait is cancelled."""
    if process.stdin is not None:
        process.stdin.close()
    try:
        async with asyncio.timeout(STOP_WAIT):
            await process.wait()
    except BaseException as exc:
        if process.returncode is None:
            log.warning("the simulator (pid %d) did not stop: killed", process.pid)
            process.kill()
            await process.wait()
        if not isinstance(exc, TimeoutError):
            raise
