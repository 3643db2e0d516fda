"""The bank as the child process of an IPS node (``python -m demobank.embedded``), which a
node starts when no processing center is named.

It opens its store, listens (ISO 8583 and the HTTP side) on the ports it is given (0: any
free one), writes ``ISO_PORT HTTP_PORT`` as the one line of its standard output once it does,
and serves until its standard input ends — when the node stops it, or dies however it dies.
It ignores SIGINT and SIGTERM: the node needs its bank until the payments under way have
finished, and ends it by closing the pipe.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from demobank.server import Simulator

log = logging.getLogger("demobank.embedded")  # also when run as __main__


async def _serve(store: Path, host: str, port: int, http_port: int) -> None:
    loop = asyncio.get_running_loop()
    parent = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(parent), sys.stdin)
    async with Simulator(store, host, port, http_port) as simulator:
        os.write(1, f"{simulator.port} {simulator.http_port}\n".encode())
        os.dup2(2, 1)  # nothing more for the node to read
        while await parent.read(4096):  # until the node closes it, or is gone
            pass
        log.info("the node has stopped: the bank stops")


def _run(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop where it is installed (as beside ``uvicorn[standard]``), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m demobank.embedded")
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--log-level", type=int, default=logging.INFO)
    arguments = parser.parse_args()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    logging.basicConfig(
        level=arguments.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _run(_serve(arguments.store, arguments.host, arguments.port, arguments.http_port))


if __name__ == "__main__":
    main()
