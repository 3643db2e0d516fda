"""The buyer's pages: the card form, and the result of the payment."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ips.domain.cards import Card
from ips.domain.errors import DomainError, InvalidCard, InvalidInput
from ips.domain.orders import Operation, OperationKind, Order
from ips.domain.states import OrderState
from ips.services.orders import OrderView, order_view
from ips.services.payments import PayByCard, pay_by_card
from ips.web.pages.views import error_page, page
from ips.web.params import client_ip, read_params
from ips.web.services import AppServices

router = APIRouter()


async def _order_view(billnumber: str, services: AppServices) -> OrderView:
    """The order of the page; ``NotFound`` becomes the 404 page (``web.app``)."""
    return await order_view(billnumber, services.gateway)


PageOrder = Annotated[OrderView, Depends(_order_view)]


@router.get("/pay/{billnumber}")
async def card_form(
    billnumber: str, request: Request, services: AppServices, view: PageOrder
) -> Response:
    if not view.order.awaits_payment(view.operations):
        return RedirectResponse(f"/pay/{billnumber}/result", status_code=303)
    if view.quote is None:
        message = f"Payments in {view.order.amount.currency} are not possible at the moment."
        return page(request, "error.html", status=409, message=message)
    return _form(request, view, services)


@router.post("/pay/{billnumber}")
async def pay(
    billnumber: str, request: Request, services: AppServices, view: PageOrder
) -> Response:
    try:
        form = await read_params(request)
    except InvalidInput as exc:
        return _form(request, view, services, error=exc.message)
    if not services.tokens.valid(billnumber, form.get("token", "")):
        return _form(request, view, services, error="The page has expired. Please try again.")
    try:
        card = Card.parse(
            number=form.get("card_number", ""),
            month=form.get("exp_month", ""),
            year=form.get("exp_year", ""),
            cvc=form.get("cvc", ""),
            holder=form.get("cardholder", ""),
            today=services.gateway.clock().date(),
        )
    except InvalidCard as exc:
        kept = {name: form.get(name, "") for name in ("exp_month", "exp_year", "cardholder")}
        return _form(request, view, services, error=exc.message, field=exc.field, kept=kept)
    try:
        order = await pay_by_card(PayByCard(billnumber, card, client_ip(request)), services.gateway)
    except DomainError as exc:
        return error_page(request, exc, status=409)
    return RedirectResponse(_after_payment(order), status_code=303)


@router.get("/pay/{billnumber}/result")
async def result(billnumber: str, request: Request, view: PageOrder) -> Response:
    payment = _last_payment(view)
    return page(
        request,
        "result.html",
        order=view.order,
        merchant=view.merchant,
        payment=payment,
        outcome=_outcome(view),
        back=_return_url(view.order),
    )


def _form(
    request: Request,
    view: OrderView,
    services: AppServices,
    *,
    error: str = "",
    field: str | None = None,
    kept: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "card.html",
        status=400 if error else 200,
        order=view.order,
        merchant=view.merchant,
        quote=view.quote,
        token=services.tokens.issue(view.order.billnumber),
        error=error,
        error_field=field,
        kept=kept or {},
    )


def _outcome(view: OrderView) -> str:
    """What the result page tells the buyer."""
    state = view.order.state
    if state in (OrderState.CANCELED, OrderState.PARTIAL_CANCELED):
        return "cancelled"
    if state.is_paid:
        return "paid"
    if state is OrderState.IN_PROCESS:
        return "unpaid" if view.order.awaits_payment(view.operations) else "waiting"
    return "expired" if state is OrderState.TIMEOUT else "declined"


def _last_payment(view: OrderView) -> Operation | None:
    payments = [op for op in view.operations if op.kind is OperationKind.PAYMENT]
    return payments[-1] if payments else None


def _return_url(order: Order) -> str:
    """The shop's page for this outcome, with ``billnumber``, ``ordernumber`` and
    ``payerdenial`` added to its query (``0``: the buyer did not refuse to pay — the page
    has no button to do so)."""
    url = order.return_urls.after(order.state.is_paid)
    if not url:
        return ""
    parts = urlsplit(url)
    extra = urlencode(
        {"billnumber": order.billnumber, "ordernumber": order.ordernumber, "payerdenial": "0"}
    )
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _after_payment(order: Order) -> str:
    if order.state is OrderState.IN_PROCESS:
        return f"/pay/{order.billnumber}/result"
    return _return_url(order) or f"/pay/{order.billnumber}/result"
