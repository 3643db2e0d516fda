"""How an ``ips`` process logs: every record to standard error — and, with ``IPS_LOG_DIR``, to
a file of the process's own there — one line each in the format of ``IPS_LOG_FORMAT``, from
``IPS_LOG_LEVEL`` up. uvicorn's loggers go the same way (``node`` gives it no configuration of
its own); httpx's lines of each request it makes, which name whole URLs, are left out."""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
from pathlib import Path
from typing import Literal

from ips.logs.formats import Context, JsonFormatter, TextFormatter

Format = Literal["json", "text"]
Level = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

QUIET = ("httpx", "httpcore")
"""Libraries whose lines below a warning IPS leaves out."""

_installed: list[logging.Handler] = []


def configure(
    process: str, *, format: Format = "json", level: Level = "INFO", directory: Path | None = None
) -> None:
    """Sends the process's log records to standard error (and a file in ``directory``),
    replacing what an earlier call installed. ``process`` names it in every line (``ips
    serve``). ``DEBUG`` is IPS's own: other libraries log from ``INFO`` up."""
    formatter: logging.Formatter = (
        JsonFormatter(process, socket.gethostname(), os.getpid())
        if format == "json"
        else TextFormatter()
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9]+", "-", process).strip("-") or "ips"
        handlers.append(
            logging.FileHandler(
                directory / f"{name}-{os.getpid()}.log", encoding="utf-8", delay=True
            )
        )
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed[:] = handlers
    for handler in handlers:
        handler.addFilter(Context())
        handler.setFormatter(formatter)
        root.addHandler(handler)
    wanted = logging.getLevelName(level)
    root.setLevel(max(wanted, logging.INFO))
    logging.getLogger("ips").setLevel(wanted)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
