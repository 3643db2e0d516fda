"""A node: what one ``ips serve`` or ``ips worker`` process runs — an HTTP server, the
background workers, or both — and how it stops.

The first SIGTERM or SIGINT stops a node gracefully: the HTTP server stops accepting
connections and lets the requests under way finish (for up to ``Settings.shutdown_grace``
seconds, then cuts them off), then each worker finishes the run it is in, the links close,
and the process ends with status 0. A second signal ends it at once, with status 1, as
SIGKILL would: what it cuts off is taken up again from the database, by another node or
this one restarted.
"""

from __future__ import annotations

import asyncio
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


class Listener:
    """uvicorn serving an app in this event loop; the process's signals stay the node's.

    The port is bound when the listener is made, so a port in use stops the node before it
    starts anything; connections are taken from ``start`` on."""

    def __init__(self, http: Http) -> None:
        self.http = http
        family = socket.AF_INET6 if ":" in http.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((http.host, http.port))
        except OSError as exc:
            sock.close()
            raise CannotListen(f"cannot listen on {http.host}:{http.port}: {exc}") from None
        self._socket = sock
        self._server: uvicorn.Server | None = None
        self._ticking: asyncio.Task[None] | None = None

    async def start(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app,
            lifespan="off",
            proxy_headers=True,
            forwarded_allow_ips=list(self.http.proxies),
            access_log=False,
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
) -> None:
    """Runs a node until a signal stops it; ``started`` is called once it is set up, before
    it listens."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(number: int) -> None:
        if stop.is_set():
            log.warning("%s again: ending now", signal.Signals(number).name)
            logging.shutdown()
            os._exit(1)
        parts = [f"requests under way have up to {http.grace:.0f} s"] if http else []
        parts += ["each worker finishes the run it is in"] if workers else []
        log.info("%s: stopping (%s)", signal.Signals(number).name, "; ".join(parts))
        stop.set()

    listener = Listener(http) if http else None
    for number in SIGNALS:
        loop.add_signal_handler(number, on_signal, number)
    try:
        async with running(settings, workers=workers) as runtime:
            started(runtime)
            try:
                if listener is not None:
                    await listener.start(listener.http.app(runtime))
                await stop.wait()
            finally:
                if listener is not None:
                    await listener.stop()  # before the workers stop and the links close
    finally:
        if listener is not None:
            await listener.stop()  # the port, when the node failed to start
        for number in SIGNALS:
            loop.remove_signal_handler(number)
