"""How a payment under way ends without an answer: given up (declined) or with its order's
lifetime (timeout) — only when no money may have moved on it."""

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
from ips.domain.states import OperationStatus, OrderState, TransactionStatus

NOW = datetime(2026, 11, 30, tzinfo=UTC)
AMOUNT = Money(10000, currency("RUB"))


def paying() -> tuple[Order, Operation]:
    order = Order("1000000000000001", "111111", "N-1", AMOUNT, NOW, id=7)
    order.means = frozenset(PaymentMeans)
    order.begin_payment(PaymentMeans.CARD, NOW)
    return order, Operation(7, 1, OperationKind.PAYMENT, AMOUNT, NOW, id=3)


def sent(kind: TransactionKind, reference: str = "", operation_id: int = 3) -> Transaction:
    exchange = Transaction(7, operation_id, kind, AMOUNT, NOW, reference=reference)
    exchange.mark_sent(NOW)
    return exchange


@pytest.mark.parametrize(
    ("exchange", "moved"),
    [
        (sent(TransactionKind.AUTHORIZATION), True),
        (sent(TransactionKind.WALLET_PAYMENT, "w-1"), True),
        (sent(TransactionKind.WALLET_PAYMENT), False),
        (sent(TransactionKind.AUTHENTICATION, "acs-1"), False),
        (sent(TransactionKind.AUTHENTICATION), False),
    ],
)
def test_what_may_have_moved_money(exchange: Transaction, moved: bool) -> None:
    assert exchange.awaits_answer and exchange.may_have_moved_money is moved
    exchange.change_status(TransactionStatus.DECLINED, NOW)
    assert not exchange.awaits_answer and not exchange.may_have_moved_money


def test_a_payment_given_up_closes_its_waiting_exchanges_and_frees_the_number() -> None:
    order, payment = paying()
    check, other = sent(TransactionKind.AUTHENTICATION), sent(TransactionKind.AUTHENTICATION, "", 9)
    closed = order.give_up_payment(payment, [check, other], ResponseCode.SYSTEM_ERROR, NOW)

    assert closed == [check] and check.status is TransactionStatus.DECLINED
    assert other.status is TransactionStatus.SENT  # another operation's
    assert payment.status is OperationStatus.DECLINED
    assert payment.response_code is ResponseCode.SYSTEM_ERROR
    assert order.state is OrderState.DECLINED and not order.holds_ordernumber


@pytest.mark.parametrize(
    "exchange", [sent(TransactionKind.AUTHORIZATION), sent(TransactionKind.WALLET_PAYMENT, "w-1")]
)
def test_a_payment_that_may_have_moved_money_is_neither_given_up_nor_expired(
    exchange: Transaction,
) -> None:
    order, payment = paying()
    with pytest.raises(Refused):
        order.give_up_payment(payment, [exchange], ResponseCode.SYSTEM_ERROR, NOW)
    with pytest.raises(Refused):
        order.expire(NOW, payment, [exchange])
    assert exchange.status is TransactionStatus.SENT and not exchange.events[1:]
    assert payment.status is OperationStatus.IN_PROCESS and not payment.events
    assert order.state is OrderState.IN_PROCESS and order.holds_ordernumber
    assert not order.events


def test_expiry_ends_a_payment_under_way_with_the_order() -> None:
    order, payment = paying()
    check = sent(TransactionKind.AUTHENTICATION, "acs-1")
    assert order.expire(NOW, payment, [check]) == [check]
    assert check.status is TransactionStatus.DECLINED
    assert payment.status is OperationStatus.TIMEOUT
    assert order.state is OrderState.TIMEOUT and not order.holds_ordernumber


def test_expiry_needs_the_payment_under_way_and_an_open_order() -> None:
    order, _ = paying()
    with pytest.raises(Refused):
        order.expire(NOW)
    assert order.state is OrderState.IN_PROCESS

    unpaid = Order("1000000000000002", "111111", "N-2", AMOUNT, NOW, id=8)
    unpaid.expire(NOW)
    assert unpaid.state is OrderState.TIMEOUT
    with pytest.raises(InvalidTransition):
        unpaid.expire(NOW)
