"""What the database says of the work under way, read when the metrics are scraped
(``services/gauges.py``): the outboxes, the open holds, the settlement batches and the
differences reconciliation keeps. Figures of every node at once, for all share the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Outbox:
    """Rows waiting to be sent: notifications to shops, or webhook deliveries."""

    pending: int = 0
    oldest: datetime | None = None
    """When the oldest waiting row was written."""


@dataclass(frozen=True)
class Holds:
    """Money held and not yet confirmed, released or cancelled, in one currency."""

    currency: str
    orders: int
    amount_minor: int
    oldest: datetime | None
    """When the oldest of these holds was placed (its payment ended)."""


@dataclass(frozen=True)
class Count:
    """How many rows have these ``labels`` (the batches of an acquirer in a state…)."""

    labels: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class Figures:
    notifications: Outbox = field(default_factory=Outbox)
    webhooks: Outbox = field(default_factory=Outbox)
    holds: tuple[Holds, ...] = ()
    batches: tuple[Count, ...] = ()
    """By (acquirer, status)."""
    differences: tuple[Count, ...] = ()
    """By (acquirer, ``open`` or ``resolved``)."""
    at: datetime | None = None
    """When they were read; ages are counted from it."""
