"""The Assist protocol's endpoints: the payment request and the web services."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ips.domain.errors import DomainError
from ips.services.orders import create_order, order_states
from ips.web.assist import render
from ips.web.assist.codes import FORMAT_NOT_SUPPORTED, assist_codes
from ips.web.assist.requests import orderstate_query, payment_request
from ips.web.pages.views import error_page
from ips.web.params import read_params
from ips.web.services import AppServices

router = APIRouter()


@router.api_route("/pay/order.cfm", methods=["GET", "POST"])
async def order_cfm(request: Request, services: AppServices) -> Response:
    """The shop sends the buyer here with the order; the buyer goes on to the card page."""
    try:
        command = payment_request(await read_params(request))
        order = await create_order(command, services.uow_factory, services.gateway.clock)
    except DomainError as exc:
        return error_page(request, exc)
    return RedirectResponse(f"/pay/{order.billnumber}", status_code=303)


@router.api_route("/orderstate/orderstate.cfm", methods=["GET", "POST"])
async def orderstate(request: Request, services: AppServices) -> Response:
    fmt = render.Format.XML
    try:
        params = await read_params(request)
        fmt = render.requested_format(params)
        if fmt not in render.SUPPORTED:
            return render.error(render.Format.XML, FORMAT_NOT_SUPPORTED)
        merchant, orders = await order_states(
            orderstate_query(params), services.uow_factory, services.gateway.clock
        )
    except DomainError as exc:
        return render.error(fmt, assist_codes(exc))
    return render.orderstate(fmt, merchant, orders, services.gateway.clock())
