"""The console's audit trail: who changed what and when, newest first, of a merchant (and
its orders), of an actor or of an action, a page at a time."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import InvalidInput
from ips.domain.text import is_digits
from ips.services.audit import PAGE, trail
from ips.web.admin.session import PREFIX, Console
from ips.web.admin.trail import changes
from ips.web.admin.views import render
from ips.web.params import read_params
from ips.web.services import AppServices

router = APIRouter(prefix=PREFIX)

FILTERS = ("merchant", "actor", "action")
LONGEST = 100


@router.get("/audit")
async def audit_page(request: Request, signed: Console, services: AppServices) -> Response:
    params = await read_params(request)
    wanted = {name: params.get(name, "").strip() for name in FILTERS}
    if any(len(value) > LONGEST for value in wanted.values()):
        raise InvalidInput(f"a filter has at most {LONGEST} characters", field="filter")
    before = params.get("before", "")
    if before and not (is_digits(before) and len(before) < 19):
        raise InvalidInput("before is the number of an entry", field="before")
    entries = await trail(
        services.uow_factory,
        before_id=int(before) if before else None,
        merchant_id=wanted["merchant"] or None,
        actor=wanted["actor"] or None,
        action=wanted["action"] or None,
    )
    older = entries[-1].id if len(entries) == PAGE else None
    return render(
        request, "audit.html", signed, wanted=wanted, older=older,
        rows=[(entry, changes(entry)) for entry in entries],
    )  # fmt: skip
