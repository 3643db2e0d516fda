"""The Assist protocol's endpoints: the payment request and the web services."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response

from ips.domain.errors import DomainError
from ips.services.cancellations import cancel
from ips.services.confirmations import confirm
from ips.services.order_results import order_results
from ips.services.orders import create_order, order_states, request_payment
from ips.services.recurring import pay_recurring
from ips.web.assist import formats, render, schema
from ips.web.assist.codes import FORMAT_NOT_SUPPORTED, INTERNAL_ERROR, assist_codes
from ips.web.assist.formats import BUILT, Format, requested_format
from ips.web.assist.requests import (
    cancel_request,
    confirm_request,
    credentials,
    language,
    orderresult_query,
    orderstate_query,
    payment_request,
    recurring_payment,
)
from ips.web.pages.views import refused_request_page
from ips.web.params import client_ip, read_params
from ips.web.services import AppServices

log = logging.getLogger(__name__)
router = APIRouter()

PAYMENT_PAGE = "choice"
"""The name of the buyer's card page route (``web.pages``)."""


@router.api_route("/pay/order.cfm", methods=["GET", "POST"], openapi_extra=schema.PAYMENT_REQUEST)
async def order_cfm(request: Request, services: AppServices) -> Response:
    """The shop sends the buyer here with the order; the buyer goes on to the card page."""
    params: dict[str, str] = {}
    try:
        params = await read_params(request)
        order = await create_order(payment_request(params), services.gateway)
    except DomainError as exc:
        return refused_request_page(request, exc, language(params))
    return RedirectResponse(f"/pay/{order.billnumber}", status_code=303)


Produce = Callable[[dict[str, str], Format], Awaitable[Response]]


async def _web_service(request: Request, default: Format, produce: Produce) -> Response:
    """The frame of every web service: parameters, format, and errors in that format — with
    HTTP 200, whatever happened."""
    fmt = default
    try:
        params = await read_params(request)
        fmt = requested_format(params, default)
        if fmt not in BUILT:
            return formats.error(Format.XML, FORMAT_NOT_SUPPORTED)
        return await produce(params, fmt)
    except DomainError as exc:
        return formats.error(fmt, assist_codes(exc))
    except ClientDisconnect:
        raise  # nobody to answer (``web.app.Guard``)
    except Exception:
        log.exception("unhandled error in the web service %s", request.url.path)
        return formats.error(fmt, INTERNAL_ERROR)


@router.api_route(
    "/orderstate/orderstate.cfm", methods=["GET", "POST"], openapi_extra=schema.ORDER_STATE
)
async def orderstate(request: Request, services: AppServices) -> Response:
    async def produce(params: dict[str, str], fmt: Format) -> Response:
        query = orderstate_query(params, client_ip(request))
        merchant, orders = await order_states(query, services.gateway)
        return render.orderstate(fmt, merchant, orders, services.gateway.clock())

    return await _web_service(request, Format.XML, produce)


@router.api_route(
    "/orderresult/orderresult.cfm", methods=["GET", "POST"], openapi_extra=schema.ORDER_RESULT
)
async def orderresult(request: Request, services: AppServices) -> Response:
    async def produce(params: dict[str, str], fmt: Format) -> Response:
        query = orderresult_query(params, client_ip(request))
        found = await order_results(query, services.gateway)
        return render.orderresult(fmt, found, language(params), services.gateway.clock())

    return await _web_service(request, Format.XML, produce)


@router.api_route("/pay/payrequest.cfm", methods=["GET", "POST"], openapi_extra=schema.PAYREQUEST)
async def payrequest(request: Request, services: AppServices) -> Response:
    """The payment request, server to server: the shop gets the payment page's address."""

    async def produce(params: dict[str, str], fmt: Format) -> Response:
        requested = await request_payment(payment_request(params), services.gateway)
        page = request.url_for(PAYMENT_PAGE, billnumber=requested.order.billnumber)
        return render.payrequest(fmt, requested, str(page))

    return await _web_service(request, Format.JSON, produce)


@router.api_route("/charge/charge.cfm", methods=["GET", "POST"], openapi_extra=schema.CHARGE)
async def charge(request: Request, services: AppServices) -> Response:
    async def produce(params: dict[str, str], fmt: Format) -> Response:
        caller = client_ip(request)
        result = await confirm(
            confirm_request(params, caller), credentials(params, caller), services.gateway
        )
        return render.operation(fmt, "charge", result, language(params), services.gateway.clock())

    return await _web_service(request, Format.CSV, produce)


async def _cancel(request: Request, services: AppServices, default: Format, root: str) -> Response:
    async def produce(params: dict[str, str], fmt: Format) -> Response:
        caller = client_ip(request)
        result = await cancel(
            cancel_request(params, caller), credentials(params, caller), services.gateway
        )
        return render.operation(fmt, root, result, language(params), services.gateway.clock())

    return await _web_service(request, default, produce)


@router.api_route("/cancel/cancel.cfm", methods=["GET", "POST"], openapi_extra=schema.CANCEL)
async def cancel_cfm(request: Request, services: AppServices) -> Response:
    return await _cancel(request, services, Format.XML, "cancel")


@router.api_route("/cancel/wscancel.cfm", methods=["GET", "POST"], openapi_extra=schema.WSCANCEL)
async def wscancel(request: Request, services: AppServices) -> Response:
    return await _cancel(request, services, Format.JSON, "wscancel")


@router.api_route("/recurrent/rp.cfm", methods=["GET", "POST"], openapi_extra=schema.RECURRING)
async def recurrent(request: Request, services: AppServices) -> Response:
    async def produce(params: dict[str, str], fmt: Format) -> Response:
        caller = client_ip(request)
        result = await pay_recurring(
            recurring_payment(params, caller), credentials(params, caller), services.gateway
        )
        return render.operation(fmt, "rp", result, language(params), services.gateway.clock())

    return await _web_service(request, Format.XML, produce)
