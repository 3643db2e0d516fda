"""``python -m ips.processing.simulator [--host H] [--port P] [--http-port P] [--store FILE]``.

The same server as ``ips processing-center``, for tests that need it in its own process: once
it listens it prints ``listening on HOST:PORT`` (ISO 8583) and then ``http on URL`` (the ACS
and the wallet), each on a line of its own. SIGTERM and SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from ips.processing.simulator.server import Simulator, run


def _announce(simulator: Simulator) -> None:
    print(f"listening on {simulator.host}:{simulator.port}", flush=True)
    print(f"http on {simulator.http_url}", flush=True)


async def _main(host: str, port: int, http_port: int, store: Path) -> None:
    serving = asyncio.create_task(run(host, port, store, http_port=http_port, on_ready=_announce))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, serving.cancel)
    try:
        await serving
    except asyncio.CancelledError:
        if not serving.cancelled():
            raise


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ips.processing.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8583)
    parser.add_argument("--http-port", type=int, default=8584)
    parser.add_argument("--store", type=Path, default=Path("processing-center.sqlite3"))
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_main(arguments.host, arguments.port, arguments.http_port, arguments.store))


if __name__ == "__main__":
    main()
