"""Races against one node and against two. A node is what an ``ips serve`` process is to the
database and the processing center: its own engine and pool and, against the real
simulator, its own ISO 8583 link signed on as its own terminal (``IPS00001``,
``IPS00002``…). Requests sent at once through ``Alternating`` take turns among the nodes, as
a load balancer spreads one browser's or one shop's requests; they share one cookie jar.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from demobank.server import Simulator
from ips.crypto.keyring import KeyRing
from ips.processing.iso8583.client import Iso8583ProcessingCenter
from ips.processing.port import ProcessingCenter
from ips.services.gateway import Gateway
from ips.services.terminals import Terminal
from ips.storage.database import create_engine
from ips.storage.unit_of_work import Database
from tests.nodes import Balancer, buyer

ONE_AND_TWO_NODES = pytest.mark.parametrize("node_count", [1, 2], ids=["one node", "two nodes"])
"""Runs a race against one node and against two."""


@asynccontextmanager
async def nodes(
    database_url: str,
    keyring: KeyRing,
    count: int,
    processing: ProcessingCenter | Simulator,
    **settings: Any,
) -> AsyncIterator[list[Gateway]]:
    """``count`` nodes on the (migrated) database at ``database_url``. With the simulator,
    each node has a link of its own to it, as terminal ``IPS0000n``; with a processing
    center given, they share it. ``settings`` go to every node's ``Gateway``."""
    async with AsyncExitStack() as stack:
        made = []
        for n in range(1, count + 1):
            database = Database(create_engine(database_url), keyring)
            stack.push_async_callback(database.dispose)
            link, terminal = processing, Terminal()
            if isinstance(processing, Simulator):
                terminal = Terminal(f"IPS{n:05d}")
                client = Iso8583ProcessingCenter(
                    "127.0.0.1",
                    processing.port,
                    terminal_id=terminal.id,
                    acquirer_id="10000000001",
                    timeout=1.0,
                )
                await client.start()
                stack.push_async_callback(client.close)
                link = client
            assert not isinstance(link, Simulator)
            made.append(Gateway(database, link, keyring, terminal=terminal, **settings))
        yield made


class Alternating(Balancer):
    """Sends each request to the next node in turn."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        node = self._nodes[self.to]
        self.to = (self.to + 1) % len(self._nodes)
        return await node.handle_async_request(request)


def browser(gateways: Sequence[Gateway], base_url: str = "http://ips.test") -> httpx.AsyncClient:
    """One browser (or one shop's client) whose requests take turns among the nodes."""
    return buyer(Alternating(gateways), base_url)
