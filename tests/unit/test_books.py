"""An order's books: a cancel never gives back more than was paid, and gives back points and
money in the shares they paid."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ips.domain.books import Books
from ips.domain.errors import LimitExceeded, Refused
from ips.domain.money import currency
from ips.domain.states import OrderState

RUB = currency("RUB")
POINT = 100
"""A point is worth 1.00 RUB."""


def paid(amount: int, in_points: int = 0, *, delay: bool = False) -> Books:
    """``amount`` paid, ``in_points`` of it with points beside the payment."""
    books = Books(RUB).pay(amount - in_points, delay=delay)
    return books.add_points(in_points) if in_points else books


def test_points_are_charged_and_presented_at_once() -> None:
    books = paid(30000, 10000)
    assert (books.held, books.confirmed, books.presented, books.in_points) == (
        30000, 30000, 10000, 10000,
    )  # fmt: skip
    assert books.unpresented == 20000 and books.state() is OrderState.APPROVED


def test_points_pay_no_double_stage_payment_and_pay_once() -> None:
    with pytest.raises(Refused):
        paid(30000, 10000, delay=True)
    with pytest.raises(Refused):
        paid(30000, 10000).add_points(100)


def test_a_full_cancel_gives_back_all_points_and_all_money() -> None:
    books = paid(30000, 10000)
    split = books.split_cancel(None, POINT)
    assert (split.in_points, split.money_refund, split.reversal) == (10000, 0, 20000)
    after = books.cancel(split)
    assert after.state() is OrderState.CANCELED and after.points_left == 0


def test_a_partial_cancel_gives_back_each_its_share_in_whole_points() -> None:
    books = paid(30000, 10000)
    split = books.split_cancel(15050, POINT)  # a third of 150.50 is 50.1666…: 50 points
    assert (split.in_points, split.reversal) == (5000, 10050)
    rest = books.cancel(split).split_cancel(None, POINT)
    assert (rest.in_points, rest.reversal) == (5000, 9950)


def test_points_take_what_the_money_cannot() -> None:
    books = paid(30000, 10000)
    books = books.cancel(books.split_cancel(19999, POINT))  # money's share first: 133.33
    split = books.split_cancel(10001, POINT)
    assert split.in_points + split.reversal + split.money_refund == 10001
    assert split.reversal <= books.unpresented


def test_money_presented_is_refunded_beside_the_points() -> None:
    books = paid(30000, 10000).present(20000)
    split = books.split_cancel(None, POINT)
    assert (split.in_points, split.money_refund, split.reversal) == (10000, 20000, 0)


def test_more_than_is_left_is_refused() -> None:
    books = paid(30000, 10000)
    with pytest.raises(LimitExceeded):
        books.split_cancel(30001, POINT)


def test_books_out_of_balance_are_refused() -> None:
    with pytest.raises(Refused):
        Books(RUB, held=100, confirmed=100, presented=50, in_points=60)
    with pytest.raises(Refused):
        Books(RUB, held=100, confirmed=100, presented=100, in_points=50, points_returned=10)


@given(
    points=st.integers(0, 500),
    money=st.integers(1, 100_000),
    presented=st.floats(0, 1),
    cancels=st.lists(st.integers(1, 200_000), max_size=6),
)
def test_cancels_never_give_back_more_than_each_part_paid(
    points: int, money: int, presented: float, cancels: list[int]
) -> None:
    books = paid(money + points * POINT, points * POINT)
    books = books.present(int(books.unpresented * presented))
    for wanted in cancels:
        amount = min(wanted, books.cancellable)
        if not amount:
            break
        try:
            split = books.split_cancel(amount, POINT)
        except Refused:  # only points are left, and not a whole number of them was asked
            assert books.points_left > books.cancellable - amount and amount % POINT
            continue
        assert split.in_points % POINT == 0
        assert split.in_points + split.reversal + split.money_refund == amount
        books = books.cancel(split)  # the books' own rules hold after every cancel
    if books.cancellable:
        books = books.cancel(books.split_cancel(None, POINT))
    assert books.points_left == 0 and books.state() is OrderState.CANCELED


def test_a_part_of_a_point_is_not_cancelled() -> None:
    books = paid(10100, 10000)
    books = books.cancel(books.split_cancel(100, POINT))
    with pytest.raises(Refused):
        books.split_cancel(50, POINT)
