"""What the routes may call, gathered in one object on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from ips.crypto.tokens import FormTokens
from ips.domain.addresses import Network, parse_network
from ips.domain.notifications import ALLOWED_PORTS
from ips.services.gateway import Gateway
from ips.services.unit_of_work import UnitOfWorkFactory

LOOPBACK = (parse_network("127.0.0.0/8"), parse_network("::1"))


@dataclass(frozen=True)
class Services:
    gateway: Gateway
    tokens: FormTokens
    notification_ports: frozenset[int] = ALLOWED_PORTS
    """The ports a shop's notification URL may use (``IPS_NOTIFICATION_PORTS``)."""
    trusted_proxies: tuple[Network, ...] = ()
    """The operator's proxies, whose ``X-Forwarded-For`` names the caller (``client_ip``)."""
    metrics_networks: tuple[Network, ...] = LOOPBACK
    """Who may scrape ``/metrics`` without a token (``IPS_METRICS_NETWORKS``)."""
    metrics_token: str = ""
    """The bearer token any caller may scrape ``/metrics`` with (``IPS_METRICS_TOKEN``)."""

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self.gateway.uow_factory


async def _services(request: Request) -> Services:
    """Async, so that FastAPI calls it in the event loop, not in its thread pool."""
    services: Services = request.app.state.services
    return services


AppServices = Annotated[Services, Depends(_services)]
