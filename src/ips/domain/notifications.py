"""Payment notifications: the result of an operation, posted to the merchant's URL.

A notification is written in the same database transaction as the operation's result, so a
crash never loses one, and delivered later by a background worker. Without an answer it is
sent again at growing intervals (``PAUSES``) — eight attempts in all, the last four hours
after the first; an explicit refusal from the shop is final, until an operator sends it
again. Every attempt is kept.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ips.domain.errors import Refused

PAUSES = tuple(timedelta(minutes=m) for m in (1, 4, 10, 15, 30, 60, 120))
"""The pause after each unanswered attempt; they add up to four hours."""
MAX_ATTEMPTS = len(PAUSES) + 1

ALLOWED_PORTS = frozenset({80, 443, 8080, 8443})


class AnswerMode(enum.Enum):
    """How the shop's answer is read."""

    PLAIN = "plain"
    """Any 2xx answer means the notification arrived."""
    PUSHPAYMENTRESULT = "pushpaymentresult"
    """The answer must be ``<pushpaymentresult firstcode="0" …>``; another firstcode is a
    refusal, anything else no answer."""


class NotificationStatus(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    REFUSED = "refused"
    GAVE_UP = "gave_up"
    SUPERSEDED = "superseded"
    """Of a declined attempt, still waiting when a later payment of the order succeeded: a
    shop told "Declined" after "Approved" could take a paid order for a failed one."""


SENT_AGAIN_FROM = frozenset({NotificationStatus.GAVE_UP, NotificationStatus.REFUSED})
"""What an operator may send again: what ended without reaching the shop."""


class Outcome(enum.Enum):
    """What one attempt came to."""

    DELIVERED = "delivered"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class Attempt:
    at: datetime
    outcome: Outcome
    http_status: int | None = None
    answer: str = ""
    error: str = ""


@dataclass
class Notification:
    merchant_id: str
    order_id: int
    operation_id: int
    fields: dict[str, str]
    created_at: datetime
    status: NotificationStatus = NotificationStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    id: int | None = None
    history: list[Attempt] = field(default_factory=list, repr=False)

    def record(self, attempt: Attempt) -> NotificationStatus:
        """Moves the notification by one attempt's outcome; returns its new status."""
        self.history.append(attempt)
        self.attempts += 1
        if attempt.outcome is Outcome.DELIVERED:
            self.status, self.next_attempt_at = NotificationStatus.DELIVERED, None
        elif attempt.outcome is Outcome.REFUSED:
            self.status, self.next_attempt_at = NotificationStatus.REFUSED, None
        elif self.attempts >= MAX_ATTEMPTS:
            self.status, self.next_attempt_at = NotificationStatus.GAVE_UP, None
        else:
            self.next_attempt_at = attempt.at + PAUSES[self.attempts - 1]
        return self.status

    def send_again(self, now: datetime) -> None:
        """Once more, at the workers' next look (an operator's "send again"): a notification
        given up or refused is tried once more — its attempts stay counted, so one more
        without an answer gives it up again. One delivered, superseded (a shop told
        "Declined" after "Approved" could take a paid order for a failed one) or still
        being tried is left as it is."""
        if self.status not in SENT_AGAIN_FROM:
            raise Refused(
                f"the notification is {self.status.value.replace('_', ' ')}: only one given up"
                " or refused is sent again"
            )
        self.status, self.next_attempt_at = NotificationStatus.PENDING, now
