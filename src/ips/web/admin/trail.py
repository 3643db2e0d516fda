"""How the console shows the audit trail's entries: each change as a setting's value before
and after it, in words — the same words as the Personal Account's (``domain/audit.py``)."""

from __future__ import annotations

from ips.domain.audit import NOTHING, Change, changes, shown

__all__ = ["NOTHING", "Change", "changes", "shown"]
