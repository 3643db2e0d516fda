"""Paying part of an order with bonus points, the rest by card or wallet (``domain/points.py``).

Both payments succeed or neither does:

1. ``reserve_points``: the program's rate asked first; then, under the order's lock, the points
   payment is begun with its reservation recorded as sent (``points_reservation``), the order
   taking its number; the program holds the points; the answer is committed. A refusal, or
   no answer, declines the points payment and the order (no answer: the reservation is
   released, which closes its reference at the program).
2. The rest is paid like any payment, beside the points (``begin_payment(beside=…)``).
3. ``follow_points``: once the rest's payment is over — at once, when the buyer is back from
   3-D Secure or the wallet, or by the janitor — the points are spent if it succeeded (the
   points payment succeeds and the order's books take the points in the same commit), or
   released if it did not. The spend or release is recorded as sent before it goes out and
   repeated by the janitor until the program answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from ips.domain.cards import Secret
from ips.domain.errors import DomainError, NotFound, Refused
from ips.domain.merchants import Merchant
from ips.domain.orders import (
    Buyer,
    Operation,
    OperationKind,
    Order,
    PaymentMeans,
    Transaction,
    TransactionKind,
)
from ips.domain.points import PointsOffer, points_offer
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, OrderState, TransactionStatus
from ips.faults import fault
from ips.logs.context import about_order
from ips.processing.loyalty import RefusalReason, Reservation, ReservationStatus
from ips.processing.port import NoAnswer
from ips.services.gateway import Gateway
from ips.services.notifications import enqueue
from ips.services.operations import lock_exchange
from ips.services.payments import PaymentStep, completed_buyer, open_exchange
from ips.services.points_exchanges import (
    is_points_payment,
    loyalty_of,
    open_points_exchange,
    reservation_of,
    send_points,
)
from ips.services.rates import quote
from ips.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

REFUSALS = {
    RefusalReason.UNKNOWN_ACCOUNT: ("NOAC", ResponseCode.WRONG_CARD_DATA),
    RefusalReason.WRONG_PIN: ("PIN", ResponseCode.WRONG_CARD_DATA),
    RefusalReason.INSUFFICIENT_POINTS: ("NSF", ResponseCode.INSUFFICIENT_FUNDS),
    RefusalReason.BLOCKED: ("BLK", ResponseCode.DECLINED),
    RefusalReason.LOCKED: ("LCK", ResponseCode.DECLINED),
}
"""How a refusal is recorded: the reservation's response, the points payment's code."""


@dataclass(frozen=True)
class PointsPart:
    """The points the buyer pays with, from the account the buyer named."""

    account: str
    pin: Secret
    points: int


async def offer(order: Order, merchant: Merchant, gateway: Gateway) -> PointsOffer | None:
    """What points may pay of ``order`` at the program's rate now; ``None`` when the order
    takes no points or the program does not answer. Call it with no unit of work open."""
    if PaymentMeans.POINTS not in order.means or gateway.loyalty is None:
        return None
    try:
        point = await gateway.loyalty.rate(order.amount.currency)
    except NoAnswer:
        log.warning("the points program did not answer for its rate")
        return None
    if point is None:
        return None
    return points_offer(order.amount, merchant.points_share, order.max_points, point)


async def pay_with_points(
    billnumber: str,
    part: PointsPart,
    pay_rest: Callable[[Operation], Awaitable[PaymentStep]],
    gateway: Gateway,
    client_ip: str = "",
    buyer: Buyer | None = None,
) -> PaymentStep:
    """Pays ``part`` of the order in points and the rest with ``pay_rest`` (given the points
    payment it pays beside): the points reserved first, then spent or released by how the
    rest went — now, or once the buyer is back from 3-D Secure or the wallet. ``buyer``: what
    the buyer typed of the data the merchant requires, checked before any point is held."""
    reserved = await reserve_points(billnumber, part, gateway, client_ip, buyer)
    if isinstance(reserved, Order):
        return PaymentStep(reserved)
    try:
        step = await pay_rest(reserved)
    except DomainError:  # the rest was refused before it began
        await follow_points(billnumber, gateway, release_alone=True)
        raise
    await follow_points(billnumber, gateway, release_alone=True)
    return step


async def after_rest(step: PaymentStep, gateway: Gateway) -> PaymentStep:
    """``step`` of a payment that may pay the rest beside points, the points followed once it
    is over (the buyer back from 3-D Secure or the wallet)."""
    if PaymentMeans.POINTS in step.order.means and not step.go_to:
        await follow_points(step.order.billnumber, gateway)
    return step


async def reserve_points(
    billnumber: str,
    part: PointsPart,
    gateway: Gateway,
    client_ip: str = "",
    buyer: Buyer | None = None,
) -> Order | Operation:
    """Steps 1: the points payment, its points held — or the order as it is when they are
    not (refused, no answer, or the order may not be paid now)."""
    loyalty = loyalty_of(gateway)
    async with gateway.uow_factory(readonly=True) as uow:
        current = await uow.orders.get(billnumber)
    if current is None:
        raise NotFound("no such order", field="billnumber")
    about_order(current)
    try:
        point = await loyalty.rate(current.amount.currency)
    except NoAnswer:
        message = "the points program does not answer: pay without points"
        raise Refused(message, field="points") from None
    if point is None:
        raise Refused(f"points pay nothing in {current.amount.currency}", field="points")
    begun = await _begin(billnumber, part, point, gateway, client_ip, buyer)
    if isinstance(begun, Order):
        return begun
    _, reservation = begun
    try:
        answer: Reservation | None = await loyalty.reserve(
            reservation.reference,
            part.account,
            part.pin.reveal(),
            part.points,
            current.merchant_id,
            f"order {current.ordernumber}",
        )
    except NoAnswer:
        log.warning("the points program did not answer a reservation of order %s", billnumber)
        answer = None
    fault("points.reservation.sent")
    return await _reserved(reservation, answer, gateway)


async def _begin(
    billnumber: str,
    part: PointsPart,
    point: int,
    gateway: Gateway,
    client_ip: str,
    buyer: Buyer | None,
) -> Order | tuple[Operation, Transaction]:
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get(billnumber, lock=True)
        assert order is not None and order.id is not None
        earlier = await uow.operations.of_order(order.id)
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        now = gateway.clock()
        lifetime = gateway.timings.order_lifetime
        if not order.may_be_paid(earlier, merchant.payment_attempts, now, lifetime):
            return order
        if PaymentMeans.POINTS not in order.means:
            raise Refused("points pay nothing of this order", field="points")
        completed_buyer(order.buyer, buyer, merchant)  # the rest's payment would refuse it
        if (await quote(uow, order.amount, merchant, gateway)).rate is not None:
            raise Refused("points pay no order paid in another currency", field="points")
        can = points_offer(order.amount, merchant.points_share, order.max_points, point)
        if can is None:
            raise Refused("points pay nothing of this order", field="points")
        can.check(part.points)
        order.begin_payment(PaymentMeans.POINTS, now)
        payment = Operation(
            order_id=order.id,
            number=len(earlier) + 1,
            kind=OperationKind.PAYMENT,
            amount=can.value(part.points),
            created_at=now,
            means=PaymentMeans.POINTS,
            client_ip=client_ip,
            points=part.points,
            points_account=part.account,
            begun_at=now,
        )
        await uow.operations.add(payment)
        about_order(order, payment)
        reservation = await open_exchange(uow, payment, TransactionKind.POINTS_RESERVATION, gateway)
        reservation.reference = f"ips-{order.billnumber}.{payment.number}"
        await uow.transactions.save(reservation)
        await uow.orders.save(order)
        fault("points.begin.committing")
        await uow.commit()
    fault("points.begin.committed")
    return payment, reservation


async def _reserved(
    reservation: Transaction, answer: Reservation | None, gateway: Gateway
) -> Order | Operation:
    """Step 1's answer. No answer: the reservation is released, which holds nothing more
    at the program whatever it did with the reservation."""
    async with gateway.uow_factory() as uow:
        order, current, payment = await lock_exchange(uow, reservation)
        if current.status is not TransactionStatus.SENT:
            return order
        now = gateway.clock()
        release = None
        if answer is not None and answer.status is ReservationStatus.RESERVED:
            current.change_status(TransactionStatus.APPROVED, now)
        elif answer is None:  # closed by its release: nothing stays held, whatever it did
            current.response = "NA"
            current.change_status(TransactionStatus.DECLINED, now)
            release = await _close(uow, order, payment, current, ResponseCode.SYSTEM_ERROR, now)
        else:
            response, code = REFUSALS[answer.reason or RefusalReason.BLOCKED]
            current.response = response
            current.change_status(TransactionStatus.DECLINED, now)
            payment.finish(OperationStatus.DECLINED, code, now)
            order.end_payment(payment, now)
            await uow.operations.save(payment)
            await uow.orders.save(order)
        await uow.transactions.save(current)
        fault("points.reservation.committing")
        await uow.commit()
    if release is not None:
        await send_points(release, gateway)
    return payment if payment.status is OperationStatus.IN_PROCESS else order


async def _close(
    uow: UnitOfWork,
    order: Order,
    payment: Operation,
    reservation: Transaction,
    code: ResponseCode,
    now: datetime,
) -> Transaction:
    """Declines the points payment and opens the release of its points (sent after the
    commit); the order is declined with it unless the rest's payment already was."""
    payment.finish(OperationStatus.DECLINED, code, now)
    if order.state is OrderState.IN_PROCESS:
        order.end_payment(payment, now)
    await uow.operations.save(payment)
    await uow.orders.save(order)
    return await open_points_exchange(
        uow, payment, TransactionKind.POINTS_RELEASE, reservation.reference, payment.amount, now
    )


async def follow_points(billnumber: str, gateway: Gateway, *, release_alone: bool = False) -> None:
    """Step 3 for the order, when its points payment waits on the rest's payment and that
    is over: the points spent or released. ``release_alone``: no payment of the rest will
    begin any more (its request is over, or died: the janitor's call), so points reserved
    with none are released."""
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get(billnumber, lock=True)
        if order is None or order.id is None:
            return
        about_order(order)
        operations = await uow.operations.of_order(order.id)
        now = gateway.clock()
        exchange = await _follow_locked(uow, order, operations, now, release_alone=release_alone)
        if exchange is None:
            return
        fault("points.follow.committing")
        await uow.commit()
    fault("points.follow.committed")
    await send_points(exchange, gateway)


async def _follow_locked(
    uow: UnitOfWork,
    order: Order,
    operations: list[Operation],
    now: datetime,
    *,
    release_alone: bool,
) -> Transaction | None:
    points = next(
        (op for op in operations if is_points_payment(op, OperationStatus.IN_PROCESS)), None
    )
    if points is None:
        return None
    rest = _rest(points, operations)
    if rest is not None and rest.status is OperationStatus.IN_PROCESS:
        return None
    assert order.id is not None
    reservation = reservation_of(points, await uow.transactions.of_order(order.id))
    if reservation.status is not TransactionStatus.APPROVED:
        return None  # its answer is awaited (``give_up_reservation``)
    if rest is None:
        if not release_alone:
            return None
        return await _close(uow, order, points, reservation, ResponseCode.SYSTEM_ERROR, now)
    if rest.status is not OperationStatus.SUCCESS:
        code = rest.response_code or ResponseCode.DECLINED
        return await _close(uow, order, points, reservation, code, now)
    points.finish(OperationStatus.SUCCESS, ResponseCode.SUCCESS, now)
    order.pay_in_points(points, now)
    await uow.operations.save(points)
    await uow.orders.save(order)
    merchant = await uow.merchants.get(order.merchant_id)
    assert merchant is not None
    await enqueue(uow, merchant, order, points, points, now)
    return await open_points_exchange(
        uow, points, TransactionKind.POINTS_SPEND, reservation.reference, points.amount, now
    )


def _rest(points: Operation, operations: list[Operation]) -> Operation | None:
    """The payment of the rest beside ``points``: the one begun after them."""
    assert points.begun_at is not None
    return next(
        (
            op
            for op in reversed(operations)
            if op.kind is OperationKind.PAYMENT
            and op.means is not PaymentMeans.POINTS
            and op.begun_at is not None
            and op.begun_at >= points.begun_at
        ),
        None,
    )


async def give_up_reservation(reservation: Transaction, gateway: Gateway) -> None:
    """The janitor's, for a reservation whose answer never came (its process died): it is
    released, which holds nothing more at the program whatever it did."""
    await _reserved(reservation, None, gateway)
