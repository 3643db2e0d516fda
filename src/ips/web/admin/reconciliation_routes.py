"""The console's reconciliation: the differences ``ips reconcile`` found between IPS's books
and an acquirer's report, still open or resolved since, with when each was found, last seen
and resolved; each links to the orders its RRN names."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import InvalidInput
from ips.services.reconciliation import kept_differences
from ips.web.admin.session import PREFIX, Console
from ips.web.admin.views import render
from ips.web.services import AppServices

router = APIRouter(prefix=PREFIX)

STATES = ("open", "resolved")


@router.get("/reconciliation")
async def reconciliation_page(request: Request, signed: Console, services: AppServices) -> Response:
    state = request.query_params.get("state", "open")
    if state not in STATES:
        raise InvalidInput("a difference is open or resolved", field="state")
    acquirer = request.query_params.get("acquirer", "").strip()
    if len(acquirer) > 32 or "\x00" in acquirer:
        raise InvalidInput("no acquirer has that name", field="acquirer")
    found = await kept_differences(
        services.uow_factory, resolved=state == "resolved", acquirer=acquirer
    )
    return render(
        request, "reconciliation.html", signed, found=found, state=state, acquirer=acquirer,
        states=STATES,
    )  # fmt: skip
