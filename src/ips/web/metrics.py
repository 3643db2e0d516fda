"""``GET /metrics``: the process's metrics and the database's figures in Prometheus' text
format (``ips.metrics``), for the operator's Prometheus — not for the internet.

Who may scrape (``Scrapes.allows``): a caller from ``IPS_METRICS_NETWORKS`` (the loopback
addresses by default), or any caller that sends ``Authorization: Bearer`` with
``IPS_METRICS_TOKEN`` when one is set. A request that came through a proxy IPS does not know
— it carries ``X-Forwarded-For`` or ``Forwarded`` while ``IPS_TRUSTED_PROXIES`` is empty — is
not taken to come from the proxy's address: a proxy on the same host would make everyone
local. Others are answered 403.

The figures are read at each scrape (``services.gauges``), within ``FIGURES_TIMEOUT``; when
the database does not answer, the scrape still answers, with ``ips_figures_up`` 0.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount
from starlette.types import Scope

from ips.domain.addresses import Network, client_address, within
from ips.domain.gauges import Figures
from ips.metrics import CONTENT_TYPE, Metrics
from ips.services.clock import Clock, utc_now
from ips.services.gauges import read_figures
from ips.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)

PATH = "/metrics"
FIGURES_TIMEOUT = 5.0
"""Seconds the database's figures may take to read before a scrape goes without them."""
UNMATCHED = "unmatched"
"""The route label of a request no route took (never its path: paths are unbounded)."""


@dataclass(frozen=True)
class Scrapes:
    """What ``/metrics`` serves, and to whom."""

    metrics: Metrics
    uow_factory: UnitOfWorkFactory
    clock: Clock = utc_now
    networks: tuple[Network, ...] = ()
    """Callers that may scrape without the token (``IPS_METRICS_NETWORKS``)."""
    token: str = ""
    """The bearer token any caller may scrape with (``IPS_METRICS_TOKEN``); empty: none."""
    proxies: tuple[Network, ...] = ()
    """The operator's proxies (``IPS_TRUSTED_PROXIES``)."""

    def allows(self, peer: str, headers: Sequence[tuple[str, str]]) -> bool:
        """Whether a request from ``peer`` (the connection's address) with these headers
        (lower-case names) may scrape."""
        named = dict(headers)
        if self.token:
            scheme, _, given = named.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and secrets.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                return True
        forwarded = "x-forwarded-for" in named or "forwarded" in named
        if forwarded and not self.proxies:
            return False
        forwarded_for = [value for name, value in headers if name == "x-forwarded-for"]
        return within(client_address(peer, forwarded_for, self.proxies), self.networks)

    async def figures(self) -> Figures | None:
        try:
            async with asyncio.timeout(FIGURES_TIMEOUT):
                return await read_figures(self.uow_factory, self.clock)
        except Exception:
            log.warning("the figures of the metrics could not be read", exc_info=True)
            return None


def router(scrapes: Scrapes | None) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    if scrapes is None:
        return routes

    @routes.get(PATH)
    async def scrape(request: Request) -> Response:
        peer = request.client.host if request.client else ""
        headers = [(name.lower(), value) for name, value in request.headers.items()]
        if not scrapes.allows(peer, headers):
            return PlainTextResponse(
                "Forbidden: the metrics are served to the operator's Prometheus "
                "(IPS_METRICS_NETWORKS, IPS_METRICS_TOKEN)",
                status_code=403,
            )
        body = scrapes.metrics.exposition(await scrapes.figures())
        return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return routes


def route_of(scope: Scope) -> str:
    """The template of the route that took the request (``/pay/{billnumber}/card``), with the
    path of the app it is mounted in (``/api/v1/orders/{billnumber}``); read once the app
    answered."""
    route, prefix = scope.get("route"), scope.get("root_path", "")
    path = getattr(route, "path", None)
    if isinstance(route, Mount) or (route is None and prefix):  # a mount that routes no further
        return f"{prefix}/{{path}}"
    return f"{prefix}{path}" if isinstance(path, str) else UNMATCHED
