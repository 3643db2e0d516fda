"""Webhooks: the changes of a merchant's orders and operations, posted as signed JSON to the
endpoints the merchant registered (issue 15, ``docs/json-api.md``, *Webhooks*).

An **event** is made for each change of an order's state and for each operation that ends
(``event_types``), in the same commit as the change, with one **delivery** per endpoint that
wants its type. A delivery is signed as Standard Webhooks sign (``signature``): HMAC-SHA256 of
``"{id}.{timestamp}.{body}"`` under the endpoint's secret, in ``webhook-signature`` as
``v1,<base64>``; while a rolled secret's predecessor still signs (``ROLL_OVERLAP``), with both,
separated by a space. Any 2xx answer delivers it; anything else is tried again after growing
pauses (``pause``) until three days have passed since it was made (``RETRY_FOR``), and then
given up. Every attempt is kept.

Event types (``EVENT_TYPES``):

- ``order.approved``, ``order.delayed``, ``order.partially_delayed``, ``order.canceled``,
  ``order.partially_canceled``, ``order.declined``, ``order.timeout``: the order came to
  that state (with the operation that brought it there, if one did);
- ``operation.succeeded``, ``operation.declined``, ``operation.timeout``,
  ``operation.failed``: any operation ended so;
- ``payment.succeeded``, ``payment.declined``: a payment ended so;
- ``capture.succeeded``: a capture (confirmation) succeeded;
- ``cancel.succeeded``: a cancel succeeded, by reversal or refund (``operation.method``);
- ``refund.succeeded``: besides it, a cancel that gave money back by refund.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ips.domain.errors import InvalidInput
from ips.domain.orders import Operation, OperationKind, Order
from ips.domain.states import OperationStatus, OrderState

SECRET_PREFIX = "whsec_"  # noqa: S105 — the prefix Standard Webhooks give secrets
ROLL_OVERLAP = timedelta(hours=24)
"""How long a rolled secret keeps signing beside its successor."""
RETRY_FOR = timedelta(days=3)
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=8)
MAX_ENDPOINTS = 16
ANSWER_LIMIT = 500

ORDER_EVENTS: Mapping[OrderState, str] = {
    OrderState.APPROVED: "order.approved",
    OrderState.DELAYED: "order.delayed",
    OrderState.PARTIAL_DELAYED: "order.partially_delayed",
    OrderState.CANCELED: "order.canceled",
    OrderState.PARTIAL_CANCELED: "order.partially_canceled",
    OrderState.DECLINED: "order.declined",
    OrderState.TIMEOUT: "order.timeout",
}
"""An order back ``In Process`` (a new attempt after a decline) makes no event."""
OPERATION_EVENTS: Mapping[OperationStatus, str] = {
    OperationStatus.SUCCESS: "operation.succeeded",
    OperationStatus.DECLINED: "operation.declined",
    OperationStatus.TIMEOUT: "operation.timeout",
    OperationStatus.ERROR: "operation.failed",
}
KIND_EVENTS: Mapping[tuple[OperationKind, OperationStatus], str] = {
    (OperationKind.PAYMENT, OperationStatus.SUCCESS): "payment.succeeded",
    (OperationKind.PAYMENT, OperationStatus.DECLINED): "payment.declined",
    (OperationKind.CONFIRMATION, OperationStatus.SUCCESS): "capture.succeeded",
    (OperationKind.CANCEL, OperationStatus.SUCCESS): "cancel.succeeded",
}
REFUND_EVENT = "refund.succeeded"
EVENT_TYPES: tuple[str, ...] = (
    *ORDER_EVENTS.values(),
    *OPERATION_EVENTS.values(),
    *KIND_EVENTS.values(),
    REFUND_EVENT,
)
OPERATION_TYPES = {
    OperationKind.PAYMENT: "payment",
    OperationKind.CONFIRMATION: "capture",
    OperationKind.CANCEL: "cancel",
    OperationKind.BONUS_ACCRUAL: "bonus_accrual",
}


def parse_event_types(text: str) -> tuple[str, ...]:
    """``order.approved,capture.succeeded`` → those types; empty or ``*``: all (``()``)."""
    wanted = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if wanted in ((), ("*",)):
        return ()
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"no event type {', '.join(unknown)} (there are {', '.join(EVENT_TYPES)})",
            field="events",
        )
    return wanted


def new_secret() -> str:
    """An endpoint's secret, as Standard Webhooks spell one: ``whsec_`` and 32 random bytes
    in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_id(prefix: str) -> str:
    return f"{prefix}_{base64.b32encode(secrets.token_bytes(10)).decode().lower()}"


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"`` under the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass
class Endpoint:
    endpoint_id: str
    merchant_id: str
    url: str
    event_types: tuple[str, ...]
    """The types it wants; empty: all."""
    secret: str = field(repr=False)
    created_at: datetime
    previous_secret: str | None = field(default=None, repr=False)
    previous_until: datetime | None = None
    removed_at: datetime | None = None

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def roll(self, now: datetime) -> str:
        """A new secret; the one it replaces signs beside it for ``ROLL_OVERLAP``."""
        self.previous_secret, self.previous_until = self.secret, now + ROLL_OVERLAP
        self.secret = new_secret()
        return self.secret

    def signing_secrets(self, now: datetime) -> list[str]:
        previous, until = self.previous_secret, self.previous_until
        if previous is not None and until is not None and now < until:
            return [self.secret, previous]
        return [self.secret]

    def signature_header(self, message_id: str, timestamp: int, body: str, now: datetime) -> str:
        return " ".join(
            signature(s, message_id, timestamp, body) for s in self.signing_secrets(now)
        )


@dataclass(frozen=True)
class Event:
    event_id: str
    merchant_id: str
    order_id: int
    type: str
    created_at: datetime
    body: str
    """The JSON posted, as signed."""


def operation_data(op: Operation, method: str | None) -> dict[str, Any]:
    """An operation as an event carries it: never a card number, the masked one at most."""
    return {
        "number": op.number,
        "type": OPERATION_TYPES[op.kind],
        "status": op.status.value,
        "amount": op.amount.minor,
        "currency": op.amount.currency.code,
        "means": op.means.value,
        "masked_pan": op.card.masked_pan if op.card else None,
        "response_code": op.response_code.value if op.response_code else None,
        "approval_code": op.approval_code,
        "method": method,
    }


def make_event(
    event_type: str,
    order: Order,
    state: str,
    at: datetime,
    operation: Operation | None,
    method: str | None = None,
) -> Event:
    assert order.id is not None
    event_id = new_id("evt")
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "data": {
            "billnumber": order.billnumber,
            "order_number": order.ordernumber,
            "state": state,
            "amount": order.amount.minor,
            "currency": order.amount.currency.code,
            "operation": operation_data(operation, method) if operation else None,
        },
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Event(event_id, order.merchant_id, order.id, event_type, at, body)


def operation_types(op: Operation, method: str | None) -> list[str]:
    """The event types of an operation that just ended."""
    found = [OPERATION_EVENTS[op.status]]
    if (op.kind, op.status) in KIND_EVENTS:
        found.append(KIND_EVENTS[op.kind, op.status])
    if op.kind is OperationKind.CANCEL and method in ("refund", "both"):
        found.append(REFUND_EVENT)
    return found


def events_of(
    order: Order,
    order_changes: Iterable[tuple[str, datetime]],
    ended: Collection[Operation],
    methods: Mapping[int, str | None],
) -> list[Event]:
    """The events of one order's changes in a commit: its new states (``order_changes``) and
    its operations that ended; an order's event carries the operation that ended with it."""
    cause = next(iter(ended), None)
    made = [
        make_event(ORDER_EVENTS[OrderState(new)], order, new, at, cause, _method(cause, methods))
        for new, at in order_changes
        if OrderState(new) in ORDER_EVENTS
    ]
    for op in ended:
        at = op.finished_at or order.updated_at or order.created_at
        method = _method(op, methods)
        made += [
            make_event(t, order, order.state.value, at, op, method)
            for t in operation_types(op, method)
        ]
    return made


def _method(op: Operation | None, methods: Mapping[int, str | None]) -> str | None:
    return methods.get(op.id) if op is not None and op.id is not None else None


class DeliveryStatus(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    """Given up: no 2xx in three days, or a "send again" that failed."""
    CANCELED = "canceled"
    """Its endpoint was removed before it was delivered."""


@dataclass(frozen=True)
class Attempt:
    at: datetime
    http_status: int | None
    duration_ms: int
    error: str = ""
    answer: str = ""

    @property
    def delivered(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def pause(attempts: int) -> timedelta:
    """The pause after the ``attempts``-th failed attempt: doubling from a minute, at most
    ``LONGEST_PAUSE``."""
    return min(FIRST_PAUSE * (1 << min(attempts - 1, 20)), LONGEST_PAUSE)


@dataclass
class WebhookDelivery:
    event_id: str
    endpoint_id: str
    merchant_id: str
    created_at: datetime
    give_up_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    id: int | None = None
    event_type: str = ""
    billnumber: str = ""
    history: list[Attempt] = field(default_factory=list, repr=False)

    def record(self, attempt: Attempt) -> DeliveryStatus:
        """Moves the delivery by one attempt; returns its new status. The last try is made
        at ``give_up_at`` itself."""
        self.history.append(attempt)
        self.attempts += 1
        if attempt.delivered:
            self.status, self.next_attempt_at = DeliveryStatus.DELIVERED, None
        elif attempt.at >= self.give_up_at:
            self.status, self.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            self.next_attempt_at = min(attempt.at + pause(self.attempts), self.give_up_at)
        return self.status

    def send_again(self, now: datetime) -> None:
        """Once more, now: a delivery given up or delivered is tried once; one still being
        retried is tried now and goes on as before."""
        if self.status is not DeliveryStatus.PENDING:
            self.status, self.give_up_at = DeliveryStatus.PENDING, now
        self.next_attempt_at = now


@dataclass(frozen=True)
class Due:
    """A delivery claimed for sending, with what it sends and where."""

    delivery: WebhookDelivery
    event: Event
    endpoint: Endpoint


def new_delivery(event: Event, endpoint: Endpoint) -> WebhookDelivery:
    return WebhookDelivery(
        event.event_id,
        endpoint.endpoint_id,
        event.merchant_id,
        event.created_at,
        event.created_at + RETRY_FOR,
        next_attempt_at=event.created_at,
        event_type=event.type,
    )
