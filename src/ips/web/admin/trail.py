"""How the console shows the audit trail's entries: each change as a setting's value before
and after it, in words (``domain/audit.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ips.domain.audit import AuditEntry

NOTHING = "—"


@dataclass(frozen=True)
class Change:
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
    if value is None or value == [] or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
