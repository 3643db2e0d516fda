"""Several IPS nodes on one database, as far as a buyer and the database can tell: each node
its own engine and pool, its own app, all on one key file; a load balancer in front sends
each request to the node the test names, and the buyer's cookies go with it."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from ips.crypto.tokens import FormTokens
from ips.services.gateway import Gateway
from ips.web.app import create_app
from ips.web.services import Services

BUYER_ADDRESS = ("203.0.113.7", 50000)


class Balancer(httpx.AsyncBaseTransport):
    """Sends each request to the app of node ``to``."""

    def __init__(self, gateways: Sequence[Gateway]) -> None:
        self._nodes = [
            httpx.ASGITransport(
                app=create_app(Services(g, FormTokens(g.keyring.derive("form tokens")))),
                client=BUYER_ADDRESS,
            )
            for g in gateways
        ]
        self.to = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._nodes[self.to].handle_async_request(request)


def buyer(balancer: Balancer, base_url: str = "http://ips.test") -> httpx.AsyncClient:
    """One browser (one cookie jar) behind the balancer."""
    return httpx.AsyncClient(
        transport=balancer, base_url=base_url, headers={"Accept-Language": "en"}
    )
