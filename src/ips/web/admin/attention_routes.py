"""The console's attention list (``services/attention.py``), and "send again" of a notification
or a webhook delivery that did not reach its shop, for an operator or an administrator (from
the list or from the order's page, to which it returns)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import Refused
from ips.services import attention, notifications, webhooks
from ips.services.operators import SignedOperator
from ips.web.admin.session import PREFIX, Console, actor, may_act, posted, safe_next
from ips.web.admin.views import render, see_other
from ips.web.services import AppServices

router = APIRouter(prefix=PREFIX)

RowId = Annotated[int, Path(ge=1, lt=2**63)]
SENT = {
    "notification": "The notification is sent again at the workers' next look.",
    "webhook": "The webhook is sent again at the workers' next look.",
}


@router.get("/attention")
async def attention_page(request: Request, signed: Console, services: AppServices) -> Response:
    found = await attention.attention(services.gateway)
    done = SENT.get(request.query_params.get("done", ""), "")
    return render(request, "attention.html", signed, found=found, done=done, stale=attention.STALE)


@router.post("/notifications/{notification_id}/send-again")
async def send_notification_again(
    notification_id: RowId, request: Request, signed: Console, services: AppServices
) -> Response:
    form = await posted(request, signed)
    may_act(signed)
    try:
        await notifications.send_again(
            notification_id, actor(request, signed), services.uow_factory, services.gateway.clock
        )
    except Refused as exc:
        return _refused(request, signed, exc)
    return see_other(_back(form, "notification"))


@router.post("/webhooks/{delivery_id}/send-again")
async def send_webhook_again(
    delivery_id: RowId, request: Request, signed: Console, services: AppServices
) -> Response:
    form = await posted(request, signed)
    may_act(signed)
    await webhooks.send_again_as_operator(
        delivery_id, actor(request, signed), services.uow_factory, services.gateway.clock
    )
    return see_other(_back(form, "webhook"))


def _back(form: dict[str, str], sent: str) -> str:
    """The page the form was sent from (a page of the console), told what was done."""
    back = safe_next(form.get("back", "")) if form.get("back") else f"{PREFIX}/attention"
    return f"{back}{'&' if '?' in back else '?'}done={sent}"


def _refused(request: Request, signed: SignedOperator, exc: Refused) -> Response:
    message = exc.message[0].upper() + exc.message[1:] + "."
    return render(request, "error.html", signed, status=409, message=message)
