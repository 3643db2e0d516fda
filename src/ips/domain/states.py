"""The states of orders, operations and transactions, and the only ways they may change.

Each state machine is an enum and one transition table. ``transition`` is the single function
through which every change goes: it checks the table and returns the event to record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from ips.domain.errors import InvalidTransition


class OrderState(enum.Enum):
    """Spelled exactly as the Assist protocol spells them (``In Process`` has a space)."""

    IN_PROCESS = "In Process"
    DELAYED = "Delayed"
    APPROVED = "Approved"
    PARTIAL_DELAYED = "PartialDelayed"
    CANCELED = "Canceled"
    PARTIAL_CANCELED = "PartialCanceled"
    DECLINED = "Declined"
    TIMEOUT = "Timeout"

    @property
    def is_paid(self) -> bool:
        """The order has had its successful payment (whatever happened to the money since)."""
        return self in PAID_STATES


PAID_STATES = frozenset(
    {
        OrderState.DELAYED,
        OrderState.APPROVED,
        OrderState.PARTIAL_DELAYED,
        OrderState.CANCELED,
        OrderState.PARTIAL_CANCELED,
    }
)

_O = OrderState
ORDER_TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    _O.IN_PROCESS: frozenset({_O.APPROVED, _O.DELAYED, _O.DECLINED, _O.TIMEOUT}),
    _O.DELAYED: frozenset({_O.APPROVED, _O.PARTIAL_DELAYED, _O.CANCELED, _O.PARTIAL_CANCELED}),
    _O.PARTIAL_DELAYED: frozenset(
        {_O.APPROVED, _O.PARTIAL_DELAYED, _O.CANCELED, _O.PARTIAL_CANCELED}
    ),
    _O.APPROVED: frozenset({_O.CANCELED, _O.PARTIAL_CANCELED}),
    _O.PARTIAL_CANCELED: frozenset({_O.PARTIAL_CANCELED, _O.CANCELED}),
    _O.CANCELED: frozenset(),
    _O.DECLINED: frozenset({_O.IN_PROCESS}),  # another attempt (``Order.begin_payment``)
    _O.TIMEOUT: frozenset(),
}


class OperationStatus(enum.Enum):
    """An operation stays ``in_process`` until its outcome is known."""

    IN_PROCESS = "in_process"
    SUCCESS = "success"
    DECLINED = "declined"
    TIMEOUT = "timeout"
    ERROR = "error"


_Op = OperationStatus
OPERATION_TRANSITIONS: dict[OperationStatus, frozenset[OperationStatus]] = {
    _Op.IN_PROCESS: frozenset({_Op.SUCCESS, _Op.DECLINED, _Op.TIMEOUT, _Op.ERROR}),
    _Op.SUCCESS: frozenset(),
    _Op.DECLINED: frozenset(),
    _Op.TIMEOUT: frozenset(),
    _Op.ERROR: frozenset(),
}


class TransactionStatus(enum.Enum):
    """One message exchange with the processing center.

    ``unknown``: sent, and no (readable) answer came; such an authorization is reversed.
    ``reversed``: an approved or unknown authorization whose reversal was answered; or a
    financial transaction withdrawn before it was sent (a smaller one replaces it).
    """

    CREATED = "created"
    SENT = "sent"
    APPROVED = "approved"
    DECLINED = "declined"
    UNKNOWN = "unknown"
    REVERSED = "reversed"


_T = TransactionStatus
TRANSACTION_TRANSITIONS: dict[TransactionStatus, frozenset[TransactionStatus]] = {
    _T.CREATED: frozenset({_T.SENT, _T.REVERSED}),
    _T.SENT: frozenset({_T.APPROVED, _T.DECLINED, _T.UNKNOWN}),
    _T.UNKNOWN: frozenset({_T.APPROVED, _T.DECLINED, _T.REVERSED}),
    _T.APPROVED: frozenset({_T.REVERSED}),
    _T.DECLINED: frozenset(),
    _T.REVERSED: frozenset(),
}


@dataclass(frozen=True)
class StateChanged:
    """The record of one change: which entity, from what, to what, when."""

    entity: str
    entity_id: int | None
    old: str
    new: str
    at: datetime


S = TypeVar("S", OrderState, OperationStatus, TransactionStatus)


def transition(
    table: dict[S, frozenset[S]], entity: str, entity_id: int | None, old: S, new: S, at: datetime
) -> StateChanged:
    if new not in table[old]:
        raise InvalidTransition(f"{entity} cannot go from {old.value} to {new.value}")
    return StateChanged(entity, entity_id, old.value, new.value, at)
