"""An order takes further payment attempts after a declined one: while attempts are left and
its lifetime lasts, one at a time, never after a success, never for a recurring payment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ips.domain.errors import Refused
from ips.domain.money import Money, currency
from ips.domain.orders import Operation, OperationKind, Order, PaymentMeans
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, OrderState

CREATED = datetime(2026, 11, 30, tzinfo=UTC)
LIFETIME = timedelta(hours=24)
AMOUNT = Money(10000, currency("RUB"))


def attempt(number: int, status: OperationStatus, *, begun: bool = True) -> Operation:
    op = Operation(7, number, OperationKind.PAYMENT, AMOUNT, CREATED)
    op.begun_at = CREATED if begun else None
    if status is not OperationStatus.IN_PROCESS:
        op.finish(status, ResponseCode.DECLINED, CREATED)
    return op


def declined(*statuses: OperationStatus) -> tuple[Order, list[Operation]]:
    order = Order("1000000000000001", "111111", "N-1", AMOUNT, CREATED, id=7)
    operations = [attempt(n, s) for n, s in enumerate(statuses, start=1)]
    order.begin_payment(PaymentMeans.CARD, CREATED)
    order.end_payment(attempt(1, OperationStatus.DECLINED), CREATED)
    return order, operations


def may(order: Order, operations: list[Operation], limit: int = 3, after: float = 1) -> bool:
    return order.may_be_paid(operations, limit, CREATED + timedelta(hours=after), LIFETIME)


def test_a_new_order_may_be_paid() -> None:
    order = Order("1000000000000001", "111111", "N-1", AMOUNT, CREATED, id=7)
    assert may(order, []) and order.attempts_left([], 3) == 3


def test_a_declined_order_may_be_paid_again_while_attempts_are_left() -> None:
    order, operations = declined(OperationStatus.DECLINED)
    assert order.state is OrderState.DECLINED and not order.holds_ordernumber
    assert may(order, operations) and order.attempts_left(operations, 3) == 2

    order.begin_payment(PaymentMeans.CARD, CREATED)

    assert (order.state, order.holds_ordernumber) == (OrderState.IN_PROCESS, True)
    assert [(e.old, e.new) for e in order.events][-1] == ("Declined", "In Process")


@pytest.mark.parametrize(
    ("statuses", "limit", "after"),
    [
        ([OperationStatus.DECLINED] * 3, 3, 1),  # no attempt left
        ([OperationStatus.DECLINED], 1, 1),  # the merchant allows one
        ([OperationStatus.DECLINED], 3, 24),  # the lifetime has ended
    ],
)
def test_no_further_attempt(statuses: list[OperationStatus], limit: int, after: float) -> None:
    order, operations = declined(*statuses)
    assert not may(order, operations, limit, after)


def test_a_payment_under_way_takes_no_other() -> None:
    order, operations = declined(OperationStatus.DECLINED, OperationStatus.IN_PROCESS)
    order.begin_payment(PaymentMeans.CARD, CREATED)
    assert order.chosen_payment(operations) is None
    assert not may(order, operations)


def test_the_rest_of_an_order_is_paid_beside_its_points_in_process() -> None:
    order, operations = declined(OperationStatus.DECLINED, OperationStatus.IN_PROCESS)
    points = operations[1]
    points.means = PaymentMeans.POINTS
    order.begin_payment(PaymentMeans.CARD, CREATED)
    assert not may(order, operations)
    assert order.may_be_paid(operations, 3, CREATED, LIFETIME, beside=points)
    assert order.attempts_left(operations, 3) == 2  # points beside a payment are not an attempt


def test_a_way_to_pay_only_chosen_is_not_an_attempt() -> None:
    order, operations = declined(OperationStatus.DECLINED, OperationStatus.IN_PROCESS)
    operations[1].begun_at = None
    order.choose(PaymentMeans.CARD, CREATED)

    assert order.chosen_payment(operations) is operations[1]
    assert (order.state, order.holds_ordernumber) == (OrderState.IN_PROCESS, False)
    assert may(order, operations) and order.attempts_left(operations, 3) == 2
    assert not may(order, operations, limit=1)


def test_a_way_not_offered_is_not_chosen() -> None:
    order = Order("1000000000000001", "111111", "N-1", AMOUNT, CREATED, id=7)
    with pytest.raises(Refused):
        order.choose(PaymentMeans.WALLET, CREATED)
    assert order.events == []


def test_an_order_left_at_the_choice_expires_with_its_chosen_payment() -> None:
    order = Order("1000000000000001", "111111", "N-1", AMOUNT, CREATED, id=7)
    chosen = attempt(1, OperationStatus.IN_PROCESS, begun=False)
    order.choose(PaymentMeans.CARD, CREATED)

    assert order.expire(CREATED + LIFETIME, chosen) == []

    assert (order.state, chosen.status) == (OrderState.TIMEOUT, OperationStatus.TIMEOUT)


def test_a_recurring_payment_is_not_tried_again() -> None:
    order, operations = declined(OperationStatus.DECLINED)
    order.recurring_of = 1
    assert not may(order, operations)


def test_a_paid_order_takes_no_attempt() -> None:
    order = Order("1000000000000001", "111111", "N-1", AMOUNT, CREATED, id=7)
    order.begin_payment(PaymentMeans.CARD, CREATED)
    success = Operation(7, 1, OperationKind.PAYMENT, AMOUNT, CREATED)
    success.finish(OperationStatus.SUCCESS, ResponseCode.SUCCESS, CREATED)
    order.end_payment(success, CREATED)
    assert not may(order, [success])
    with pytest.raises(Refused):
        order.begin_payment(PaymentMeans.CARD, CREATED)


def test_an_open_order_past_its_lifetime_takes_no_payment() -> None:
    order = Order("1000000000000001", "111111", "N-1", AMOUNT, CREATED, id=7)
    assert may(order, [], after=23.9) and not may(order, [], after=24)


def test_a_recurring_payment_is_the_shop_s_alone() -> None:
    order = Order("1000000000000001", "111111", "N-1", AMOUNT, CREATED, id=7, recurring_of=1)
    later = CREATED + timedelta(hours=1)
    assert not may(order, [])
    assert order.may_be_paid([], 3, later, LIFETIME, by_the_shop=True)
