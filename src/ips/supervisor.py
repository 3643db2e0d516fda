"""``ips serve --processes N``: N node processes answering on one port, and the parent that
binds the port and keeps them running.

The parent binds the port (a port in use stops it before anything starts) and starts N
``ips serve`` processes that inherit the bound socket: each listens on it, and the kernel
gives each new connection to one of them. Each is a full node — its own pool of database
connections, its own link to the processing center, its own terminal — and the first alone
runs the background workers (they claim their work, so more of them would only poll more).
Each child has a link to the parent (a socket pair): it writes ``ready`` there once it
listens, and stops gracefully, as on SIGTERM, when the parent's end closes — when the parent
stops it or dies, however it dies.

SIGTERM or SIGINT to the parent closes its copy of the port and stops every child
gracefully; the parent ends once they have, with status 0 when each ended so. A second
signal kills the children and ends the parent at once, with status 1. A child that ends
while the parent runs is started again, with its role (a pause first, which grows while it
keeps failing to start); but a child that fails before every child was first ready stops
them all and ends the parent with status 1: a setting or the database is wrong, and starting
it again would not help.

The children keep their metrics' values in files of one directory (``ips.metrics``,
multiprocess mode): the parent forgets the gauges of a child that ended.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ips.metrics import MULTIPROCESS_DIR, forget_process

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)
FIRST_PAUSE = 1.0
"""Seconds before a child that ended is started again; doubled at each failure to start,
up to ``LONGEST_PAUSE``."""
LONGEST_PAUSE = 30.0


class ChildFailed(Exception):
    """A child ended before it was ready."""


@dataclass
class Child:
    """Node process ``number``: ``ips serve ARGUMENTS`` on the inherited port, and the
    parent's end of its link."""

    number: int
    arguments: Sequence[str]
    env: Mapping[str, str]
    port: socket.socket
    process: asyncio.subprocess.Process | None = None
    failures: int = 0
    """Its failures to start in a row."""
    _link: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        """Starts the process and returns once it is ready; ``ChildFailed`` when it ends
        first."""
        ours, theirs = socket.socketpair()
        with theirs:
            try:
                self.process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "ips", "serve", *self.arguments,
                    "--listen-fd", str(self.port.fileno()),
                    "--supervisor-fd", str(theirs.fileno()),
                    env=dict(self.env), pass_fds=(self.port.fileno(), theirs.fileno()),
                )  # fmt: skip
            except BaseException:
                ours.close()
                raise
        reader, self._link = await asyncio.open_connection(sock=ours)
        if await reader.readline() != b"ready\n":
            self.stop()
            self.failures += 1
            status = await self.process.wait()
            raise ChildFailed(
                f"node process {self.number} (pid {self.process.pid}) ended at start with "
                f"status {status}"
            )
        self.failures = 0

    def stop(self) -> None:
        """Closes the link: the child stops gracefully (once set up, when it is starting)."""
        if self._link is not None:
            self._link.close()
            self._link = None

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    @property
    def pause(self) -> float:
        """Seconds to wait before starting it again."""
        return min(FIRST_PAUSE * 2.0**self.failures, LONGEST_PAUSE)


async def supervise(
    count: int,
    port: socket.socket,
    arguments: Callable[[int], Sequence[str]],
    env: Mapping[str, str],
    started: Callable[[Sequence[int]], None],
) -> int:
    """Runs ``count`` children on ``port`` until a signal stops them, and returns the exit
    status. ``arguments(n)`` are those of child ``n`` (from 0); ``started`` is given their
    pids once all are ready. ``port`` is closed on return."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    children = [Child(n, arguments(n), env, port) for n in range(count)]

    def on_signal(number: int) -> None:
        name = signal.Signals(number).name
        if stop.is_set():
            log.warning("%s again: killing the node processes and ending now", name)
            for child in children:
                child.kill()
            logging.shutdown()
            os._exit(1)
        log.info("%s: stopping the node processes", name)
        stop.set()

    for number in SIGNALS:
        loop.add_signal_handler(number, on_signal, number)
    status, keeping = 0, []
    try:
        try:
            ready = await _start(children, stop)
        except ChildFailed as exc:
            log.error("%s: stopping the others", exc)
            status = 1
        else:
            if ready:
                started([child.process.pid for child in children if child.process])
                keeping = [asyncio.create_task(_keep(child)) for child in children]
                await stop.wait()
    finally:
        for task in keeping:
            task.cancel()
        await asyncio.gather(*keeping, return_exceptions=True)
        port.close()  # the port closes once the children stop listening on it too
        for child in children:
            child.stop()
        ended = [await child.process.wait() for child in children if child.process]
        for number in SIGNALS:
            loop.remove_signal_handler(number)
    if any(ended) and not status:
        log.error("node processes ended with status %s", ", ".join(map(str, ended)))
        status = 1
    return status


async def _start(children: Sequence[Child], stop: asyncio.Event) -> bool:
    """Starts every child; ``True`` once all are ready, ``False`` when ``stop`` comes first,
    ``ChildFailed`` when one fails (the others are left starting)."""
    starting = {asyncio.create_task(child.start()) for child in children}
    stopped = asyncio.create_task(stop.wait())
    try:
        while starting and not stop.is_set():
            done, _ = await asyncio.wait(starting | {stopped}, return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stopped}:
                task.result()
            starting -= done
    finally:
        stopped.cancel()
        for task in starting:
            task.cancel()
        await asyncio.gather(*starting, return_exceptions=True)
    return not starting


async def _keep(child: Child) -> None:
    """Starts ``child`` again each time it ends."""
    while child.process is not None:
        status = await child.process.wait()
        child.stop()
        if values := child.env.get(MULTIPROCESS_DIR):
            forget_process(child.process.pid, values)
        log.error(
            "node process %d (pid %d) ended with status %d; starting another in %.0f s",
            child.number,
            child.process.pid,
            status,
            child.pause,
        )
        while True:
            await asyncio.sleep(child.pause)
            try:
                await child.start()
                break
            except (ChildFailed, OSError) as exc:
                log.error("%s; trying again in %.0f s", exc, child.pause)
        log.info("node process %d started again: pid %d", child.number, child.process.pid)
