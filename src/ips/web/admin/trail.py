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
    before: str
    after: str


def changes(entry: AuditEntry) -> list[Change]:
    """What the entry changed, a line a setting: all it made (no ``before``), all it removed
    (no ``after``), or each setting that differs."""
    before, after = entry.before or {}, entry.after or {}
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
