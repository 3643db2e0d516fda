"""Other parties IPS talks to over HTTP (the ACS, the wallet, the points program), misbehaving:
one that never answers, and answers of any status and body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx


@asynccontextmanager
async def never_answering() -> AsyncIterator[str]:
    """A server that takes connections and never answers on them: its base URL."""
    accepted: list[asyncio.StreamWriter] = []

    async def hold_open(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold_open, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


def answering(status: int, content: bytes) -> Callable[[httpx.Request], httpx.Response]:
    """A handler for ``httpx.MockTransport`` that answers every request so."""

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content)

    return handle
