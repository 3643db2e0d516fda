"""What every exchange with the processing center needs, wired once by ``bootstrap``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from ips.crypto.keyring import KeyRing
from ips.domain.acquirers import DEFAULT_ACQUIRER, Acquirer, Rules
from ips.metrics import Metrics
from ips.processing.loyalty import Loyalty
from ips.processing.port import NoAnswer, ProcessingCenter
from ips.processing.secure import NoThreeDSecure, ThreeDSecure
from ips.processing.wallet import Wallet
from ips.services.clock import Clock, utc_now
from ips.services.credentials import CredentialCache
from ips.services.terminals import Terminal
from ips.services.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class Link:
    """An acquirer the operator added, as this node reaches it: its processing center and the
    terminal this node signs on to it as."""

    acquirer: Acquirer
    processing: ProcessingCenter
    terminal: Terminal


@dataclass
class Links:
    """The acquirers the operator added that this node is connected to, by name; kept up to
    date while the node runs (``bootstrap``)."""

    by_name: dict[str, Link] = field(default_factory=dict)

    def get(self, name: str) -> Link | None:
        return self.by_name.get(name)

    def items(self) -> list[tuple[str, Link]]:
        return list(self.by_name.items())


@dataclass(frozen=True)
class Timings:
    order_lifetime: timedelta = timedelta(hours=24)
    """An order nobody paid in this time becomes ``Timeout``."""
    hold_period: timedelta = timedelta(days=7)
    """A hold nobody confirmed in this time is released."""


@dataclass(frozen=True)
class Gateway:
    uow_factory: UnitOfWorkFactory
    processing: ProcessingCenter
    keyring: KeyRing
    clock: Clock = utc_now
    reversal_attempts: int = 1
    """Reversals sent at once, while the caller waits; the janitor repeats them after that."""
    rules: Rules = field(default_factory=Rules)
    """The default acquirer's (the settings')."""
    timings: Timings = field(default_factory=Timings)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """How a caller is kept waiting (slowed logins); tests pass one that does not wait."""
    secure: ThreeDSecure = field(default_factory=NoThreeDSecure)
    wallet: Wallet | None = None
    """The e-wallet provider; without one, no order offers the wallet."""
    loyalty: Loyalty | None = None
    """The bonus-points program; without one, no order offers points."""
    terminal: Terminal = field(default_factory=Terminal)
    """The terminal this node sends the default acquirer's authorizations under (and signs
    on as)."""
    links: Links = field(default_factory=Links)
    """The other acquirers."""
    credentials: CredentialCache = field(default_factory=CredentialCache)
    """Web-service credentials verified lately, and the checks under way."""
    metrics: Metrics = field(default_factory=Metrics)
    """This process's metrics; the payments that end are counted by the unit of work's
    commits (``Metrics.committed``), given the same."""

    def acquirer(self, name: str) -> Acquirer | None:
        """The acquirer of that name, if this node knows it."""
        if name == DEFAULT_ACQUIRER:
            return Acquirer(DEFAULT_ACQUIRER, rules=self.rules)
        link = self.links.get(name)
        return link.acquirer if link else None

    def processing_of(self, name: str) -> ProcessingCenter:
        """The processing center of the acquirer of that name; ``NoAnswer`` when this node is
        not connected to it (what is to be sent stays to send)."""
        if name in (DEFAULT_ACQUIRER, ""):
            return self.processing
        link = self.links.get(name)
        if link is None:
            raise NoAnswer(f"this node is not connected to acquirer {name}")
        return link.processing

    def terminal_of(self, name: str) -> Terminal:
        link = self.links.get(name)
        return link.terminal if link else self.terminal
