"""The JSON API's routes: each parses, calls one use case (``services/api_orders``) and
renders. Errors are problem details (``problems``), raised as the domain's errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import NotFound
from ips.domain.orders import Buyer, CancelReason, Language, PaymentMeans, ReturnUrls
from ips.domain.states import OrderState
from ips.domain.webhooks import Endpoint
from ips.services import api_orders
from ips.services.api_keys import KeyHolder, key_holder
from ips.services.cancellations import Cancel
from ips.services.monitor import MAX_LIMIT, OrderFilter
from ips.services.order_details import OrderDetails
from ips.services.orders import CreateOrder
from ips.services.recurring import RecurringPayment
from ips.web.api import problems
from ips.web.api.models import (
    NO_NUL,
    AmountRequest,
    CancelRequest,
    Capture,
    EndpointRequest,
    EndpointView,
    OperationDone,
    OperationView,
    OrderList,
    OrderRequest,
    OrderSummary,
    OrderView,
    Problem,
    RecurringRequest,
    Way,
    amount_text,
)
from ips.web.params import client_ip
from ips.web.services import AppServices


async def _holder(request: Request, services: AppServices) -> KeyHolder:
    """The caller's key; checked already when the request came with an Idempotency-Key."""
    known: KeyHolder | None = getattr(request.state, "key_holder", None)
    if known is not None:
        return known
    return await key_holder(request.headers.get("authorization", ""), services.uow_factory)


Holder = Annotated[KeyHolder, Depends(_holder)]
_PROBLEM = {
    "model": Problem,
    "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM, "description": description}
    for status, description in (
        (400, "The body cannot be read as JSON"),
        (401, "No valid API key"),
        (403, "The key may not do this"),
        (404, "Not found (or another merchant's)"),
        (409, "The order's state forbids it, or it is being changed now"),
        (422, "The request is not valid"),
    )
}
router = APIRouter(responses=PROBLEMS)
_MEANS = {
    Way.CARD: PaymentMeans.CARD,
    Way.WALLET: PaymentMeans.WALLET,
    Way.POINTS: PaymentMeans.POINTS,
}
_REASONS = {
    "shop": CancelReason.SHOP,
    "customer": CancelReason.CUSTOMER,
    "fraud": CancelReason.FRAUD,
}


_BILLNUMBER = {"billnumber": "$response.body#/billnumber"}
LINKS = {
    name: {"operationId": operation, "parameters": _BILLNUMBER}
    for name, operation in (
        ("GetOrder", "getOrder"),
        ("CaptureOrder", "captureOrder"),
        ("CancelOrder", "cancelOrder"),
    )
}
"""What follows from a made order (OpenAPI links): read it, capture it, cancel it."""


@router.post(
    "/orders",
    status_code=201,
    operation_id="createOrder",
    openapi_extra={"responses": {"201": {"links": LINKS}}},
)
async def create_order(
    body: OrderRequest, request: Request, holder: Holder, services: AppServices
) -> OrderView:
    """Create an order; the buyer pays it on ``payment_url``."""
    amount, _ = amount_text(body.amount, body.currency)
    customer = body.customer
    offered = {PaymentMeans(way.value) for way in body.payment_methods or Way}
    command = CreateOrder(
        merchant_id=holder.merchant_id,
        ordernumber=body.order_number,
        amount=amount,
        currency=body.currency,
        delay=body.capture is Capture.MANUAL,
        language=Language(body.language.upper()) if body.language else None,
        comment=body.description,
        buyer=Buyer(
            lastname=customer.last_name,
            firstname=customer.first_name,
            middlename=customer.middle_name,
            email=customer.email,
            mobile_phone=customer.phone,
            country=customer.country,
            city=customer.city,
            address=customer.address,
            zip=customer.zip,
            client_ip=client_ip(request),
        ),
        return_urls=ReturnUrls(ok=body.return_url_ok, no=body.return_url_no),
        hidden_means=frozenset(PaymentMeans) - offered,
        customer_number=body.customer_number,
    )
    order = await api_orders.create(holder, command, services.gateway)
    return OrderView.of(order, _payment_url(request, order.billnumber))


@router.get("/orders/{billnumber}", operation_id="getOrder")
async def get_order(
    billnumber: str, request: Request, holder: Holder, services: AppServices
) -> OrderView:
    """The order with its operations."""
    return _view(request, await api_orders.get(holder, billnumber, services.gateway))


@router.get("/orders", operation_id="listOrders")
async def list_orders(
    holder: Holder,
    services: AppServices,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    starting_after: Annotated[str, Query(max_length=20)] = "",
    state: Annotated[list[OrderState] | None, Query()] = None,
    order_number: Annotated[str, Query(max_length=128, pattern=NO_NUL)] = "",
    created_since: datetime | None = None,
    created_before: datetime | None = None,
) -> OrderList:
    """The merchant's orders, newest first; the next page starts after the last one's
    billnumber (``starting_after``)."""
    wanted = OrderFilter(
        merchant_id=holder.merchant_id,
        since=created_since,
        until=created_before,
        states=frozenset(state or ()),
        ordernumber=order_number,
    )
    listed = await api_orders.list_orders(holder, wanted, starting_after, limit, services.gateway)
    return OrderList(
        data=[OrderSummary.of(row, listed.operations[row.id]) for row in listed.rows],
        has_more=listed.has_more,
    )


@router.post("/orders/{billnumber}/captures", status_code=201, operation_id="captureOrder")
async def capture(
    billnumber: str,
    request: Request,
    holder: Holder,
    services: AppServices,
    body: AmountRequest | None = None,
) -> OperationDone:
    """Confirm a double-stage payment: all that is held, or ``amount`` of it."""
    amount, currency = amount_text(body.amount, body.currency) if body else ("", "")
    done = await api_orders.capture(holder, billnumber, amount, currency, services.gateway)
    return _done(request, done)


@router.post("/orders/{billnumber}/cancels", status_code=201, operation_id="cancelOrder")
async def cancel(
    billnumber: str,
    request: Request,
    holder: Holder,
    services: AppServices,
    body: CancelRequest | None = None,
) -> OperationDone:
    """Cancel all of a payment or ``amount`` of it: IPS reverses what is not settled yet and
    refunds the rest (``operation.method``)."""
    body = body or CancelRequest()
    amount, currency = amount_text(body.amount, body.currency)
    command = Cancel(
        billnumber,
        amount,
        currency,
        CancelReason[body.reason.upper()],
        client_ip=client_ip(request),
    )
    return _done(request, await api_orders.cancel_order(holder, command, services.gateway))


@router.post("/orders/{billnumber}/recurring", status_code=201, operation_id="chargeAgain")
async def recurring(
    billnumber: str,
    body: RecurringRequest,
    request: Request,
    holder: Holder,
    services: AppServices,
) -> OperationDone:
    """A payment the merchant makes on the card of the first order ``billnumber`` (which
    set up recurring payments); its order is a new one."""
    amount, currency = amount_text(body.amount, body.currency)
    command = RecurringPayment(
        billnumber, body.order_number, amount, currency, body.description,
        client_ip(request), body.capture is Capture.MANUAL,
    )  # fmt: skip
    return _done(request, await api_orders.charge_again(holder, command, services.gateway))


@router.post("/webhook_endpoints", status_code=201, operation_id="addWebhookEndpoint")
async def add_webhook_endpoint(
    body: EndpointRequest, holder: Holder, services: AppServices
) -> EndpointView:
    """Register an endpoint for webhooks; its signing secret is in this answer only."""
    ports = services.notification_ports
    endpoint, secret = await api_orders.add_webhook(
        holder, body.url, ",".join(body.events), services.gateway, ports
    )
    return _endpoint(endpoint, secret)


@router.get("/webhook_endpoints", operation_id="listWebhookEndpoints")
async def list_webhook_endpoints(holder: Holder, services: AppServices) -> list[EndpointView]:
    return [_endpoint(e) for e in await api_orders.webhooks_of(holder, services.gateway)]


@router.delete(
    "/webhook_endpoints/{endpoint_id}", status_code=204, operation_id="removeWebhookEndpoint"
)
async def remove_webhook_endpoint(
    endpoint_id: str, holder: Holder, services: AppServices
) -> Response:
    """Remove an endpoint: its deliveries not made yet are dropped."""
    await api_orders.remove_webhook(holder, endpoint_id, services.gateway)
    return Response(status_code=204)


def _endpoint(endpoint: Endpoint, secret: str | None = None) -> EndpointView:
    return EndpointView(
        id=endpoint.endpoint_id,
        url=endpoint.url,
        events=list(endpoint.event_types),
        created_at=endpoint.created_at,
        secret=secret,
    )


@router.get("/problems/{slug}", include_in_schema=False)
async def problem_type(slug: str) -> dict[str, object]:
    """What a problem type names (its ``type`` URI resolves here)."""
    for kind in problems.TYPES:
        if kind.slug == slug:
            return {"type": kind.uri, "title": kind.title, "status": kind.status}
    raise NotFound("no such problem type")


def _payment_url(request: Request, billnumber: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/pay/{billnumber}"


def _view(request: Request, details: OrderDetails) -> OrderView:
    order = details.order
    return OrderView.of(
        order, _payment_url(request, order.billnumber), details.operations, details.transactions
    )


def _done(request: Request, done: api_orders.Done) -> OperationDone:
    return OperationDone(
        operation=OperationView.of(done.operation, done.order.transactions),
        order=_view(request, done.order),
    )
