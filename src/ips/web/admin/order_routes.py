"""The console's orders, of any merchant, read-only: found by billnumber, RRN, approval code
or (with the merchant's id) order number; an order with its books, operations, transactions,
notifications, webhook deliveries and audit trail, its notifications and webhooks sent again
from there by an operator or an administrator."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ips.services import order_search
from ips.services.order_details import order_record
from ips.web.admin.attention_routes import SENT
from ips.web.admin.session import PREFIX, Console
from ips.web.admin.views import render
from ips.web.services import AppServices

router = APIRouter(prefix=PREFIX)


@router.get("/orders")
async def orders_page(request: Request, signed: Console, services: AppServices) -> Response:
    q = request.query_params.get("q", "")
    merchant = request.query_params.get("merchant", "")
    found = await order_search.find_orders(q, merchant, services.uow_factory)
    return render(request, "orders.html", signed, q=q, merchant=merchant, found=found)


@router.get("/orders/{billnumber}")
async def order_page(
    billnumber: str, request: Request, signed: Console, services: AppServices
) -> Response:
    record = await order_record(billnumber, services.uow_factory)
    done = SENT.get(request.query_params.get("done", ""), "")
    return render(request, "order.html", signed, record=record, done=done)
