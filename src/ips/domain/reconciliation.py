"""Reconciliation's terms: what is known of an authorization's money, on either side, and a
difference between IPS's books and a bank's (``services/reconciliation.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Figures:
    """What is known of one authorization's money, in minor units of ``currency``."""

    currency: str
    amount: int = 0
    released: int = 0
    captured: int = 0
    credited: int = 0


Authorization = tuple[str, str]
"""(terminal id, RRN): how the bank and IPS name an authorization."""


@dataclass(frozen=True)
class Difference:
    terminal_id: str
    rrn: str
    what: str
    ips: str
    bank: str
    found_at: datetime | None = None
    """When a reconciliation first found it (stored differences)."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.terminal_id, self.rrn, self.what)

    def __str__(self) -> str:
        return f"{self.terminal_id} {self.rrn}: {self.what}: IPS {self.ips}, bank {self.bank}"


@dataclass(frozen=True)
class KeptDifference:
    """A difference as it is kept: found by a reconciliation of ``acquirer``, seen again by
    each one that still found it, resolved by the first that did not."""

    id: int
    acquirer: str
    difference: Difference
    seen_at: datetime
    resolved_at: datetime | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None
