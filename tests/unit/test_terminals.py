"""Terminal ids of a growing pool, leases, and when a transaction takes its STAN."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ips.domain.money import Money, currency
from ips.domain.orders import Transaction, TransactionKind
from ips.domain.terminals import Lease, next_terminal_id

NOW = datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("like", "taken", "following"),
    [
        ("IPS00001", ["IPS00001"], "IPS00002"),
        ("IPS00001", ["IPS00001", "IPS00004", "IPS0009", "XPS00007"], "IPS00005"),
        ("IPS00001", [], "IPS00002"),
        ("T1", ["T1", "T2", "T10"], "T3"),  # T10 is not of the form T + one digit
        ("NODE", ["NODE"], "NODE1"),
        ("A0000009", ["A0000009"], "A0000010"),
    ],
)
def test_the_pool_grows_by_the_next_id_of_the_same_form(
    like: str, taken: list[str], following: str
) -> None:
    assert next_terminal_id(like, taken) == following


def test_no_id_follows_past_eight_characters() -> None:
    with pytest.raises(ValueError, match="8 characters"):
        next_terminal_id("IPS99999", ["IPS99999"])


def test_a_lease_is_held_until_it_runs_out() -> None:
    lease = Lease("IPS00001", "node a", NOW)
    assert lease.held_at(NOW - timedelta(seconds=1))
    assert not lease.held_at(NOW)
    assert not Lease("IPS00001").held_at(NOW)


def authorization(terminal_id: str = "IPS00001") -> Transaction:
    return Transaction(
        order_id=1,
        operation_id=1,
        kind=TransactionKind.AUTHORIZATION,
        amount=Money(100, currency("RUB")),
        created_at=NOW,
        terminal_id=terminal_id,
        id=5,
    )


def test_a_transaction_needs_its_stan_once_transmitted_under_a_terminal() -> None:
    transaction = authorization()
    assert not transaction.needs_stan and transaction.stan_day is None
    transaction.mark_sent(NOW)
    assert transaction.needs_stan and transaction.stan_day == date(2026, 12, 1)
    transaction.stan_taken = 17
    assert not transaction.needs_stan and transaction.stan == 17
    transaction.mark_sent(NOW + timedelta(seconds=2))  # a repeat, after midnight
    assert transaction.stan == 17 and transaction.stan_day == date(2026, 12, 1)
    assert transaction.rrn == "6335" + "00000005"


def test_an_exchange_with_another_party_takes_no_stan() -> None:
    transaction = authorization(terminal_id="")
    transaction.mark_sent(NOW)
    assert not transaction.needs_stan
