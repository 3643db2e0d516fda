from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ips.domain.errors import InvalidTransition, Refused
from ips.domain.money import Money, currency
from ips.domain.orders import (
    Operation,
    OperationKind,
    Order,
    PaymentMeans,
    Transaction,
    TransactionKind,
)
from ips.domain.responses import ResponseCode
from ips.domain.states import (
    ORDER_TRANSITIONS,
    OperationStatus,
    OrderState,
    TransactionStatus,
)

NOW = datetime(2026, 11, 30, tzinfo=UTC)
AMOUNT = Money(10000, currency("RUB"))


def order(delay: bool = False) -> Order:
    return Order("1000000000000001", "111111", "N-1", AMOUNT, NOW, delay=delay, id=7)


def payment(status: OperationStatus) -> Operation:
    op = Operation(7, 1, OperationKind.PAYMENT, AMOUNT, NOW)
    op.finish(status, ResponseCode.SUCCESS, NOW)
    return op


def test_every_state_has_its_row_and_final_states_lead_nowhere() -> None:
    assert set(ORDER_TRANSITIONS) == set(OrderState)
    for final in (OrderState.TIMEOUT, OrderState.CANCELED):
        assert ORDER_TRANSITIONS[final] == frozenset()
    assert ORDER_TRANSITIONS[OrderState.DECLINED] == {OrderState.IN_PROCESS}


@pytest.mark.parametrize(
    ("delay", "state"), [(False, OrderState.APPROVED), (True, OrderState.DELAYED)]
)
def test_a_successful_payment_approves_or_holds(delay: bool, state: OrderState) -> None:
    o = order(delay)
    o.begin_payment(PaymentMeans.CARD, NOW)
    o.end_payment(payment(OperationStatus.SUCCESS), NOW)
    assert o.state is state and o.holds_ordernumber
    assert [(e.entity, e.old, e.new) for e in o.events] == [("order", "In Process", state.value)]


def test_a_failed_payment_declines_and_gives_the_number_back() -> None:
    o = order()
    o.begin_payment(PaymentMeans.CARD, NOW)
    o.end_payment(payment(OperationStatus.TIMEOUT), NOW)
    assert o.state is OrderState.DECLINED and not o.holds_ordernumber


def test_a_decided_order_cannot_be_paid_or_moved_back() -> None:
    o = order()
    o.change_state(OrderState.APPROVED, NOW)
    with pytest.raises(Refused):
        o.begin_payment(PaymentMeans.CARD, NOW)
    with pytest.raises(InvalidTransition):
        o.change_state(OrderState.IN_PROCESS, NOW)
    with pytest.raises(InvalidTransition):
        o.change_state(OrderState.DECLINED, NOW)


def test_an_operation_finishes_once() -> None:
    op = payment(OperationStatus.DECLINED)
    with pytest.raises(InvalidTransition):
        op.finish(OperationStatus.SUCCESS, ResponseCode.SUCCESS, NOW)


def test_transaction_ids_and_repeats() -> None:
    tx = Transaction(7, 1, TransactionKind.REVERSAL, AMOUNT, NOW, id=1_000_123)
    tx.mark_sent(NOW)
    tx.stan_taken = 17  # as the unit of work takes it (tests/unit/test_terminals.py)
    stan, rrn = tx.stan, tx.rrn
    assert 1 <= stan <= 999_999 and len(rrn) == 12 and rrn.isdigit()
    tx.mark_sent(datetime(2026, 12, 1, tzinfo=UTC))  # a repeat: same message identity
    assert (tx.status, tx.attempts, tx.stan, tx.rrn) == (TransactionStatus.UNKNOWN, 2, stan, rrn)
    tx.change_status(TransactionStatus.APPROVED, NOW)
    with pytest.raises(InvalidTransition):
        tx.change_status(TransactionStatus.DECLINED, NOW)
