"""The merchant's webhooks in the Personal Account: its endpoints (never their secrets), the
latest deliveries with every attempt, and "send again" (administrator or operator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from ips.services import webhooks
from ips.services.merchants import SignedIn
from ips.web.cabinet.session import CabinetUser, acting, may_act, posted
from ips.web.cabinet.views import render, see_other
from ips.web.services import AppServices

router = APIRouter(prefix="/cabinet")


@router.get("/webhooks")
async def webhooks_page(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    merchant_id = signed.merchant.merchant_id
    billnumber = request.query_params.get("billnumber", "").strip()
    factory = services.uow_factory
    return render(
        request,
        "webhooks.html",
        signed,
        endpoints=await webhooks.endpoints_of(merchant_id, factory),
        deliveries=await webhooks.deliveries_of(merchant_id, factory, billnumber),
        billnumber=billnumber,
        sent=request.query_params.get("done") == "again",
    )


@router.post("/webhooks/deliveries/{delivery_id}/again")
async def send_again(
    delivery_id: Annotated[int, Path(ge=1, lt=2**63)],
    request: Request,
    signed: CabinetUser,
    services: AppServices,
) -> Response:
    await posted(request, signed)
    may_act(signed)
    caller = SignedIn(signed.merchant.merchant_id)
    await webhooks.send_again(
        caller, delivery_id, services.uow_factory, services.gateway.clock,
        actor=acting(request, signed),
    )  # fmt: skip
    return see_other("/cabinet/webhooks?done=again")
