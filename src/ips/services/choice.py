"""The buyer's choice of the way to pay. The seed: "The customer chooses the way of payment …
This creates the operation." The order's payment operation is created ``In Process`` at the
choice, before anything is typed; the payment of the form sent begins it
(``payments.begin_payment``). Choosing another way changes its way: a choice is not an
attempt (``Order.attempts_left``). An operation whose buyer leaves ends with the order, by the
janitor (``janitor.expire_orders``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ips.domain.errors import NotFound
from ips.domain.orders import Operation, OperationKind, Order, PaymentMeans
from ips.faults import fault
from ips.logs.context import about_order
from ips.services.gateway import Gateway
from ips.services.rates import quote


@dataclass(frozen=True)
class ChooseMeans:
    billnumber: str
    means: PaymentMeans
    client_ip: str = ""


async def choose_means(cmd: ChooseMeans, gateway: Gateway) -> Order:
    """Creates (or changes the way of) the order's chosen payment, when the order may be paid
    now (``Order.may_be_paid``); returns the order. ``Refused`` when ``means`` is not offered
    for it."""
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get(cmd.billnumber, lock=True)
        if order is None:
            raise NotFound("no such order", field="billnumber")
        about_order(order)
        assert order.id is not None
        earlier = await uow.operations.of_order(order.id)
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        now = gateway.clock()
        lifetime = gateway.timings.order_lifetime
        if not order.may_be_paid(earlier, merchant.payment_attempts, now, lifetime):
            return order
        chosen = order.chosen_payment(earlier)
        if chosen is not None and chosen.means is cmd.means:
            return order
        order.choose(cmd.means, now)
        price = await quote(uow, order.amount, merchant, gateway)
        if chosen is None:
            chosen = Operation(
                order_id=order.id,
                number=len(earlier) + 1,
                kind=OperationKind.PAYMENT,
                amount=price.amount,
                rate=price.rate,
                created_at=now,
                means=cmd.means,
                client_ip=cmd.client_ip,
            )
            await uow.operations.add(chosen)
        else:
            chosen.means, chosen.amount, chosen.rate = cmd.means, price.amount, price.rate
            await uow.operations.save(chosen)
        await uow.orders.save(order, chosen)
        fault("choice.committing")
        await uow.commit()
    fault("choice.committed")
    return order
