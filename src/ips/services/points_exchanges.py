"""Exchanges with the points program recorded as sent, sent and answered — a spend, a release,
a give-back, an accrual or an accrual's reversal: each is recorded as sent in the commit that
decides it, sent after, and its answer committed; with no answer it stays sent, and the
janitor sends it again (the program does each once per reference).
"""

from __future__ import annotations

import logging
from datetime import datetime

from ips.domain.errors import Refused
from ips.domain.money import Money
from ips.domain.orders import Operation, OperationKind, PaymentMeans, Transaction, TransactionKind
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, TransactionStatus
from ips.faults import fault
from ips.processing.loyalty import Loyalty, ReservationStatus
from ips.processing.port import NoAnswer
from ips.services.gateway import Gateway
from ips.services.notifications import enqueue
from ips.services.operations import lock_exchange
from ips.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def loyalty_of(gateway: Gateway) -> Loyalty:
    if gateway.loyalty is None:
        raise Refused("no points program is connected", field="points")
    return gateway.loyalty


async def send_points(exchange: Transaction, gateway: Gateway) -> None:
    """Sends a spend, a release, a give-back, an accrual or an accrual's reversal recorded as
    sent, and records the answer; with no answer it stays sent, for the janitor to repeat."""
    assert exchange.id is not None
    loyalty = loyalty_of(gateway)
    points = 0
    try:
        if exchange.kind is TransactionKind.POINTS_SPEND:
            done = await loyalty.spend(exchange.reference) is ReservationStatus.SPENT
        elif exchange.kind is TransactionKind.POINTS_RELEASE:
            done = await loyalty.release(exchange.reference) is not ReservationStatus.RESERVED
        elif exchange.kind in ACCRUAL_KINDS:
            async with gateway.uow_factory(readonly=True) as uow:
                order = await uow.orders.get_by_id(exchange.order_id)
                accrual = await uow.operations.get(exchange.operation_id)
            assert order is not None and accrual is not None
            done, points = await _ask_accrual(exchange, accrual, order.merchant_id, loyalty)
        else:
            reservation, given = await _give_back_of(exchange, gateway)
            done = await loyalty.give_back(reservation, given, exchange.reference)
    except NoAnswer:
        log.warning("the points program did not answer %s %s", exchange.kind.value, exchange.id)
        return
    fault("points.exchange.sent")
    async with gateway.uow_factory() as uow:
        order, current, operation = await lock_exchange(uow, exchange)
        if not current.awaits_answer:
            return
        now = gateway.clock()
        if current.kind is TransactionKind.POINTS_ACCRUAL:
            _record_accrual(current, operation, done, points, now)
            await uow.operations.save(operation)
            merchant = await uow.merchants.get(order.merchant_id)
            assert merchant is not None
            await enqueue(uow, merchant, order, operation, operation, now)
        elif current.kind is TransactionKind.POINTS_ACCRUAL_REVERSAL:
            _record_accrual(current, None, done, points, now)
        else:
            answered = TransactionStatus.APPROVED if done else TransactionStatus.DECLINED
            current.change_status(answered, now)
        if not done:
            log.error(
                "the points program refused %s of order %s: see the points report",
                exchange.kind.value,
                order.billnumber,
            )
        await uow.transactions.save(current)
        fault("points.answer.committing")
        await uow.commit()


async def repeat(exchange: Transaction, gateway: Gateway) -> None:
    """The janitor's, for an exchange with the program it has not answered: sent again under
    the same reference, which the program does once."""
    async with gateway.uow_factory() as uow:
        _, current, _ = await lock_exchange(uow, exchange)
        if not current.awaits_answer:
            return
        current.mark_sent(gateway.clock())
        await uow.transactions.save(current)
        fault("points.repeat.committing")
        await uow.commit()
    await send_points(current, gateway)


async def _give_back_of(exchange: Transaction, gateway: Gateway) -> tuple[str, int]:
    """The reservation a give-back gives points back to, and how many points it gives."""
    async with gateway.uow_factory(readonly=True) as uow:
        operations = await uow.operations.of_order(exchange.order_id)
        exchanges = await uow.transactions.of_order(exchange.order_id)
    points = next(op for op in operations if is_points_payment(op, OperationStatus.SUCCESS))
    point = points.amount.minor // points.points
    return reservation_of(points, exchanges).reference, exchange.amount.minor // point


def is_points_payment(operation: Operation, status: OperationStatus) -> bool:
    return (
        operation.kind is OperationKind.PAYMENT
        and operation.means is PaymentMeans.POINTS
        and operation.status is status
    )


def reservation_of(points: Operation, exchanges: list[Transaction]) -> Transaction:
    return next(
        t
        for t in exchanges
        if t.operation_id == points.id and t.kind is TransactionKind.POINTS_RESERVATION
    )


async def open_points_exchange(
    uow: UnitOfWork,
    operation: Operation,
    kind: TransactionKind,
    reference: str,
    amount: Money,
    now: datetime,
) -> Transaction:
    """An exchange with the program under ``operation``, recorded as sent: a spend or a
    release named by the reservation's reference, a give-back by its own."""
    assert operation.id is not None
    exchange = Transaction(
        order_id=operation.order_id,
        operation_id=operation.id,
        kind=kind,
        amount=amount,
        created_at=now,
        reference=reference,
    )
    exchange.mark_sent(now)
    await uow.transactions.add(exchange)
    return exchange


ACCRUAL_KINDS = frozenset({TransactionKind.POINTS_ACCRUAL, TransactionKind.POINTS_ACCRUAL_REVERSAL})


async def _ask_accrual(
    exchange: Transaction, accrual: Operation, merchant_id: str, loyalty: Loyalty
) -> tuple[bool, int]:
    """Sends an accrual (``accrual`` its operation) or its reversal: whether the program did
    it, and the points it moved."""
    if exchange.kind is TransactionKind.POINTS_ACCRUAL_REVERSAL:
        return True, (await loyalty.reverse_accrual(exchange.reference)).points
    point = await loyalty.rate(accrual.amount.currency)
    points = accrual.amount.minor // point if point else 0
    if not points:
        return False, 0
    accrued = await loyalty.accrue(exchange.reference, accrual.points_account, points, merchant_id)
    return accrued, points if accrued else 0


def _record_accrual(
    exchange: Transaction, accrual: Operation | None, done: bool, points: int, now: datetime
) -> None:
    """The program's answer to an accrual — its operation, ``accrual``, succeeds or is
    declined — or to a reversal."""
    exchange.points = points
    exchange.change_status(TransactionStatus.APPROVED if done else TransactionStatus.DECLINED, now)
    if accrual is not None and accrual.status is OperationStatus.IN_PROCESS:
        accrual.points = points
        status = OperationStatus.SUCCESS if done else OperationStatus.DECLINED
        accrual.finish(status, ResponseCode.SUCCESS if done else ResponseCode.DECLINED, now)
