"""The console's settlement: the batches of a business day (UTC) by state and acquirer, with
their totals; a batch with its debits and credits; and, for an operator or an administrator,
"send again" of a batch left out of balance — marked for the settlement schedule, which
sends it within a minute (``settlement.send_again``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import InvalidInput, Refused
from ips.domain.settlement import BatchStatus
from ips.services import batches, settlement
from ips.services.batches import BatchFilter
from ips.web.admin.session import PREFIX, Console, actor, may_act, posted
from ips.web.admin.views import render, see_other
from ips.web.services import AppServices

router = APIRouter(prefix=PREFIX)

BatchId = Annotated[int, Path(ge=1, lt=2**63)]
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9998, 12, 31)
"""The days a batch may be of: a day's neighbours are linked, and its end is computed."""


@router.get("/settlement")
async def settlement_page(request: Request, signed: Console, services: AppServices) -> Response:
    today = services.gateway.clock().date()
    filter = read_filter(request.query_params, today)
    found = await batches.batches(filter, services.uow_factory)
    day = filter.day
    return render(
        request,
        "settlement.html",
        signed,
        filter=filter,
        found=found,
        statuses=[s.value for s in BatchStatus],
        earlier=day - timedelta(days=1) if day else None,
        later=day + timedelta(days=1) if day and day < today else None,
        today=today,
    )


def read_filter(query: QueryParams, today: date) -> BatchFilter:
    """``day``: YYYY-MM-DD, today when not given, any day when given empty; ``state``: a
    batch's status, or any; ``acquirer``: a name, or any."""
    text = query.get("day")
    try:
        day = today if text is None else date.fromisoformat(text) if text.strip() else None
    except ValueError:
        raise InvalidInput("the day is a date: YYYY-MM-DD", field="day") from None
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput("no batch is of that day", field="day")
    state = query.get("state", "").strip()
    try:
        status = BatchStatus(state) if state else None
    except ValueError:
        raise InvalidInput(f"no batch is {state!r}", field="state") from None
    acquirer = query.get("acquirer", "").strip()
    if len(acquirer) > 32 or "\x00" in acquirer:
        raise InvalidInput("no acquirer has that name", field="acquirer")
    return BatchFilter(day, status, acquirer)


@router.get("/settlement/{batch_id}")
async def batch_page(
    batch_id: BatchId, request: Request, signed: Console, services: AppServices
) -> Response:
    details = await batches.batch_details(batch_id, services.uow_factory)
    sent = request.query_params.get("done") == "again"
    return render(request, "batch.html", signed, details=details, sent=sent, error="")


@router.post("/settlement/{batch_id}/resend")
async def resend(
    batch_id: BatchId, request: Request, signed: Console, services: AppServices
) -> Response:
    await posted(request, signed)
    may_act(signed)
    try:
        await settlement.send_again(batch_id, actor(request, signed), services.gateway)
    except Refused as exc:
        details = await batches.batch_details(batch_id, services.uow_factory)
        return render(
            request, "batch.html", signed, status=409, details=details, sent=False,
            error=exc.message[0].upper() + exc.message[1:] + ".",
        )  # fmt: skip
    return see_other(f"{PREFIX}/settlement/{batch_id}?done=again")
