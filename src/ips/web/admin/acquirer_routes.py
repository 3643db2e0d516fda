"""The console's acquirers: each one's settings and rules, and the state of this node's link
to its processing center (``services/acquirer_links.py``). Every role reads them; they are
changed with ``ips acquirer``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ips.services.acquirer_links import acquirer_link, acquirer_links
from ips.web.admin.session import PREFIX, Console
from ips.web.admin.views import render
from ips.web.services import AppServices

router = APIRouter(prefix=PREFIX)


@router.get("/acquirers")
async def acquirers_page(request: Request, signed: Console, services: AppServices) -> Response:
    links = await acquirer_links(services.gateway)
    return render(request, "acquirers.html", signed, links=links)


@router.get("/acquirers/{name}")
async def acquirer_page(
    name: str, request: Request, signed: Console, services: AppServices
) -> Response:
    link = await acquirer_link(name, services.gateway)
    return render(request, "acquirer.html", signed, link=link)
