"""A node: what one ``ips serve`` or ``ips worker`` process runs — an HTTP server, the
background workers, or both — and how it stops.

The first SIGTERM or SIGINT stops a node gracefully: the HTTP server stops accepting
connections and lets the requests under way finish (for up to ``Settings.shutdown_grace``
seconds, then cuts them off), then each worker finishes the run it is in, the links close,
and the process ends with status 0. A second signal ends it at once, with status 1, as
SIGKILL would: what it cuts off is taken up again from the database, by another node or
this one restarted. A node started by ``ips serve --processes`` (``supervisor``) also stops
gracefully when the parent's end of its link closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from ips.bootstrap import Runtime, running
from ips.config import Settings

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class CannotListen(Exception):
    """The HTTP port could not be bound."""


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port``, not listening yet; ``CannotListen`` when the port
    cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotListen(f"cannot listen on {host}:{port}: {exc}") from None
    return sock


@dataclass(frozen=True)
class Http:
    """What a node serves over HTTP, and where."""

    app: Callable[[Runtime], ASGIApp]
    host: str
    port: int
    proxies: Sequence[str] = ()
    """Whose ``X-Forwarded-For`` and ``-Proto`` uvicorn believes (none: nobody's)."""
    grace: float = 1.0
    """Seconds the requests under way may take once the node stops."""
    sock: socket.socket | None = None
    """The port bound already, by the process that started this one (``host`` and ``port``
    then only name it): several node processes take connections from it."""


class Listener:
    """uvicorn serving an app in this event loop; the process's signals stay the node's.

    The port is bound when the listener is made (or was, by the parent), so a port in use
    stops the node before it starts anything; connections are taken from ``start`` on."""

    def __init__(self, http: Http) -> None:
        self.http = http
        self._socket = http.sock if http.sock is not None else bind(http.host, http.port)
        self._server: uvicorn.Server | None = None
        self._ticking: asyncio.Task[None] | None = None

    async def start(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app,
            lifespan="off",
            proxy_headers=True,
            forwarded_allow_ips=list(self.http.proxies),
            access_log=False,  # the app's own (``web.app.Guard``)
            log_config=None,  # its records go where the process's go (``logs.setup``)
            timeout_graceful_shutdown=math.ceil(self.http.grace),
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[self._socket])  # listens
        self._server = server
        self._ticking = asyncio.create_task(server.main_loop())  # the Date header, each second

    async def stop(self) -> None:
        """Stops accepting, and returns once the requests under way have been answered."""
        server, ticking = self._server, self._ticking
        self._server = self._ticking = None
        if server is None or ticking is None:
            self._socket.close()
            return
        server.should_exit = True
        await ticking
        await server.shutdown(sockets=[self._socket])


async def run(
    settings: Settings,
    *,
    workers: bool,
    http: Http | None,
    started: Callable[[Runtime], None],
    supervisor: socket.socket | None = None,
) -> None:
    """Runs a node until a signal stops it; ``started`` is called once it is set up, before
    it listens.

    ``supervisor``: this node's end of its link to the process that started it (``ips serve
    --processes``): the node writes ``ready`` on it once it listens, and stops as on a first
    signal when the other end closes."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def stopping(why: str) -> None:
        if stop.is_set():
            return
        parts = [f"requests under way have up to {http.grace:.0f} s"] if http else []
        parts += ["each worker finishes the run it is in"] if workers else []
        log.info("%s: stopping (%s)", why, "; ".join(parts))
        stop.set()

    def on_signal(number: int) -> None:
        if stop.is_set():
            log.warning("%s again: ending now", signal.Signals(number).name)
            logging.shutdown()
            os._exit(1)
        stopping(signal.Signals(number).name)

    listener = Listener(http) if http else None
    link = await _Link.open(supervisor, stopping) if supervisor is not None else None
    for number in SIGNALS:
        loop.add_signal_handler(number, on_signal, number)
    try:
        async with running(settings, workers=workers) as runtime:
            started(runtime)
            try:
                if listener is not None:
                    await listener.start(listener.http.app(runtime))
                if link is not None:
                    link.ready()
                await stop.wait()
            finally:
                if listener is not None:
                    await listener.stop()  # before the workers stop and the links close
    finally:
        if listener is not None:
            await listener.stop()  # the port, when the node failed to start
        for number in SIGNALS:
            loop.remove_signal_handler(number)
        if link is not None:
            await link.close()


class _Link:
    """A node's end of its link to the ``ips serve --processes`` parent."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stopping: Callable[[str], None],
    ) -> None:
        self._writer = writer
        self._watching = asyncio.create_task(self._watch(reader, stopping))

    @classmethod
    async def open(cls, sock: socket.socket, stopping: Callable[[str], None]) -> _Link:
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer, stopping)

    @staticmethod
    async def _watch(reader: asyncio.StreamReader, stopping: Callable[[str], None]) -> None:
        while await reader.read(64):
            pass
        stopping("the parent process stops this one, or is gone")

    def ready(self) -> None:
        self._writer.write(b"ready\n")

    async def close(self) -> None:
        self._watching.cancel()
        await asyncio.gather(self._watching, return_exceptions=True)
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
