"""The JSON API's use cases, over the same services as the Assist protocol: each acts for the
merchant whose API key calls (``api_keys.KeyHolder``), as the Personal Account acts for its
signed-in user's — another merchant's order is not found."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ips.domain.api_keys import Scope
from ips.domain.errors import NotFound
from ips.domain.orders import Operation, Order
from ips.domain.text import is_digits
from ips.domain.webhooks import Endpoint
from ips.services import webhooks
from ips.services.api_keys import KeyHolder
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchants import SignedIn
from ips.services.monitor import OrderFilter, OrderRow, Position, page_after
from ips.services.order_details import OrderDetails, order_details
from ips.services.orders import CreateOrder, create_order
from ips.services.recurring import RecurringPayment, pay_recurring


@dataclass(frozen=True)
class Done:
    """An operation made on an order, and the order after it."""

    operation: Operation
    order: OrderDetails


@dataclass(frozen=True)
class Listed:
    rows: list[OrderRow]
    operations: dict[int, list[Operation]]
    """By order id."""
    has_more: bool


async def create(holder: KeyHolder, cmd: CreateOrder, gateway: Gateway) -> Order:
    holder.require(Scope.WRITE)
    mine = dataclasses.replace(cmd, merchant_id=holder.merchant_id, by_api_key=True)
    return await create_order(mine, gateway)


async def get(holder: KeyHolder, billnumber: str, gateway: Gateway) -> OrderDetails:
    return await order_details(holder.merchant_id, billnumber, gateway.uow_factory)


async def list_orders(
    holder: KeyHolder, wanted: OrderFilter, starting_after: str, limit: int, gateway: Gateway
) -> Listed:
    """A page of the merchant's orders, newest first, after the order ``starting_after``
    (a billnumber of the page before), with their operations."""
    wanted = dataclasses.replace(wanted, merchant_id=holder.merchant_id)
    after = None
    async with gateway.uow_factory(readonly=True) as uow:
        if starting_after:
            order = await uow.orders.get(starting_after) if is_digits(starting_after) else None
            if order is None or order.merchant_id != holder.merchant_id or order.id is None:
                raise NotFound("no such order to start after", field="starting_after")
            after = Position(order.created_at, order.id)
        rows, more = await page_after(uow, wanted, after, limit)
        operations = await uow.operations.of_orders([row.id for row in rows]) if rows else []
    by_order: dict[int, list[Operation]] = {row.id: [] for row in rows}
    for op in operations:
        by_order[op.order_id].append(op)
    return Listed(rows, by_order, more)


async def capture(
    holder: KeyHolder, billnumber: str, amount: str, currency: str, gateway: Gateway
) -> Done:
    holder.require(Scope.WRITE)
    caller = SignedIn(holder.merchant_id)
    result = await confirm(Confirm(billnumber, amount, currency), caller, gateway)
    return Done(result.operation, await get(holder, billnumber, gateway))


async def cancel_order(holder: KeyHolder, cmd: Cancel, gateway: Gateway) -> Done:
    holder.require(Scope.WRITE)
    result = await cancel(cmd, SignedIn(holder.merchant_id), gateway)
    return Done(result.operation, await get(holder, cmd.billnumber, gateway))


async def add_webhook(
    holder: KeyHolder, url: str, events: str, gateway: Gateway, ports: frozenset[int]
) -> tuple[Endpoint, str]:
    holder.require(Scope.WRITE)
    return await webhooks.add_endpoint(
        holder.merchant_id, url, events, gateway.uow_factory, gateway.clock, ports
    )


async def webhooks_of(holder: KeyHolder, gateway: Gateway) -> list[Endpoint]:
    return await webhooks.endpoints_of(holder.merchant_id, gateway.uow_factory)


async def remove_webhook(holder: KeyHolder, endpoint_id: str, gateway: Gateway) -> None:
    holder.require(Scope.WRITE)
    await webhooks.remove_endpoint(
        holder.merchant_id, endpoint_id, gateway.uow_factory, gateway.clock
    )


async def charge_again(holder: KeyHolder, cmd: RecurringPayment, gateway: Gateway) -> Done:
    """A merchant-initiated payment on the card of the first order ``cmd.billnumber``."""
    holder.require(Scope.WRITE)
    result = await pay_recurring(cmd, SignedIn(holder.merchant_id), gateway)
    return Done(result.operation, await get(holder, result.order.billnumber, gateway))
