from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ips.domain.logins import LoginGuard
from ips.domain.notifications import (
    MAX_ATTEMPTS,
    AnswerMode,
    Attempt,
    Notification,
    NotificationStatus,
    Outcome,
)
from ips.protocol.notification import read_answer

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_unanswered_notifications_are_repeated_at_growing_pauses_then_given_up() -> None:
    notification = Notification("1", 1, 1, {}, NOW, next_attempt_at=NOW)
    at, pauses = NOW, []
    while notification.status is NotificationStatus.PENDING:
        notification.record(Attempt(at, Outcome.NO_ANSWER))
        if notification.next_attempt_at is not None:
            pauses.append(notification.next_attempt_at - at)
            at = notification.next_attempt_at
    assert notification.attempts == MAX_ATTEMPTS == 8
    assert notification.status is NotificationStatus.GAVE_UP
    assert pauses == sorted(pauses) and sum(pauses, timedelta()) == timedelta(hours=4)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.DELIVERED, NotificationStatus.DELIVERED),
        (Outcome.REFUSED, NotificationStatus.REFUSED),
    ],
)
def test_an_answer_ends_the_attempts(outcome: Outcome, status: NotificationStatus) -> None:
    notification = Notification("1", 1, 1, {}, NOW)
    assert notification.record(Attempt(NOW, outcome)) is status
    assert notification.next_attempt_at is None


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (
            '<?xml version="1.0"?><pushpaymentresult firstcode="0" secondcode="0"/>',
            Outcome.DELIVERED,
        ),
        (
            "<?xml version='1.0'?>\\n<pushpaymentresult firstcode='0' secondcode='0'>",
            Outcome.DELIVERED,
        ),
        ("<PushPaymentResult FirstCode = 0 >", Outcome.DELIVERED),
        ('<pushpaymentresult firstcode="9" secondcode="7"/>', Outcome.REFUSED),
        ('<pushpaymentresult firstcode="13" secondcode="0"/>', Outcome.REFUSED),
        ("<pushpaymentresult secondcode='0'/>", Outcome.NO_ANSWER),
        ("-1", Outcome.NO_ANSWER),
        ("", Outcome.NO_ANSWER),
    ],
)
def test_pushpaymentresult_is_read_leniently(body: str, outcome: Outcome) -> None:
    assert read_answer(AnswerMode.PUSHPAYMENTRESULT, 200, body) is outcome


def test_plain_answers_need_only_a_2xx() -> None:
    assert read_answer(AnswerMode.PLAIN, 204, "") is Outcome.DELIVERED
    assert read_answer(AnswerMode.PLAIN, 302, "") is Outcome.NO_ANSWER


def test_failed_logins_are_slowed_then_locked_and_a_success_clears_them() -> None:
    guard = LoginGuard("ws:1")
    pauses = [guard.fail(NOW) for _ in range(10)]
    assert pauses[:3] == [timedelta(0)] * 3
    assert pauses[3:6] == [timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4)]
    assert max(pauses) == timedelta(seconds=8)
    assert guard.locked(NOW + timedelta(minutes=29))
    assert not guard.locked(NOW + timedelta(minutes=30))
    guard.fail(NOW + timedelta(minutes=31))
    assert guard.failures == 1  # the count starts again after a lock ran out
    guard.succeed(NOW)
    assert guard.failures == 0 and not guard.locked(NOW)
