"""The audit trail: every change a person makes — in the operator console, the Personal
Account or with the ``ips`` command — written in the transaction that makes the change.

An entry says who (``Actor``: an operator, a shop's user or the command, and from where),
when, what (``action``, a dotted name such as ``merchant.change``), on what (``subject``)
and the values before and after. What is secret (passwords, secret words, keys) is written
as ``CHANGED``, never as its value or its hash. Entries are only ever added: the database
refuses to change or delete one (migration 0027's triggers).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CHANGED = "(changed)"
"""What an entry shows of a secret that was set or changed."""

Values = Mapping[str, Any]
"""What an entry keeps of a subject: JSON-shaped values (str, int, bool, None, lists)."""


class ActorKind(enum.Enum):
    OPERATOR = "operator"
    """One of the operator's staff, in the console."""
    USER = "user"
    """A shop's user, in the Personal Account."""
    COMMAND = "command"
    """Whoever ran an ``ips`` command (the system user, on the host)."""


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str
    """The login, or the system user for a command."""
    source: str
    """Where from: the browser's address, or ``host`` for a command."""
    merchant_id: str | None = None
    """The merchant a shop's user belongs to."""

    def __str__(self) -> str:
        return f"{self.kind.value} {self.name}"


@dataclass(frozen=True)
class Subject:
    """What was changed: ``Subject("merchant", "0001")``, ``Subject("order", billnumber)``."""

    kind: str
    key: str
    merchant_id: str | None = None
    billnumber: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    actor: Actor
    action: str
    subject: Subject
    at: datetime
    before: Values | None = None
    after: Values | None = None
    id: int | None = field(default=None, compare=False)


def record(
    actor: Actor,
    action: str,
    subject: Subject,
    at: datetime,
    before: Values | None = None,
    after: Values | None = None,
) -> AuditEntry:
    """The entry of a change; of ``before`` and ``after`` only what differs is kept (all
    of ``after`` for something made, all of ``before`` for something removed)."""
    if before is not None and after is not None:
        keys = [key for key in {**before, **after} if before.get(key) != after.get(key)]
        before = {key: before.get(key) for key in keys}
        after = {key: after.get(key) for key in keys}
    return AuditEntry(actor, action, subject, at, before, after)
