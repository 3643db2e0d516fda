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

from ips.domain.errors import DomainError
from ips.domain.money import Money, currency

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


def money_value(value: Money) -> dict[str, Any]:
    """An amount as an entry keeps it: its minor units and its currency."""
    return {"minor": value.minor, "currency": value.currency.code}


NOTHING = "—"


@dataclass(frozen=True)
class Change:
    """One value of an entry, in words, as a page shows it."""

    name: str
    before: str | None
    """None for something made: it had no value before."""
    after: str | None
    """None for something removed."""


def changes(entry: AuditEntry) -> list[Change]:
    """What the entry changed, a line a setting: each value of what it made (no ``before``)
    but the empty ones, each of what it removed (no ``after``), or each setting that
    differs, before and after."""
    before, after = entry.before, entry.after
    if before is None or after is None:
        values = before if after is None else after
        return [
            Change(name, None, shown(value)) if before is None
            else Change(name, shown(value), None)
            for name, value in (values or {}).items()
            if shown(value) != NOTHING
        ]  # fmt: skip
    names = list(dict.fromkeys([*before, *after]))
    return [Change(name, shown(before.get(name)), shown(after.get(name))) for name in names]


def shown(value: Any) -> str:
    """A kept value in words: an amount as ``100.00 RUB``, a list joined, a flag as yes or
    no, nothing as ``—``."""
    if value is None or value == [] or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping) and set(value) == {"minor", "currency"}:
        try:
            return str(Money(int(value["minor"]), currency(str(value["currency"]))))
        except (ValueError, DomainError):
            return str(dict(value))
    if isinstance(value, list | tuple):
        return ", ".join(shown(item) for item in value)
    return str(value)
