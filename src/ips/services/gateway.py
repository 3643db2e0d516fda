"""What every exchange with the processing center needs, wired once by ``bootstrap``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from ips.crypto.keyring import KeyRing
from ips.domain.money import Currency
from ips.processing.loyalty import Loyalty
from ips.processing.port import ProcessingCenter
from ips.processing.secure import NoThreeDSecure, ThreeDSecure
from ips.processing.wallet import Wallet
from ips.services.clock import Clock, utc_now
from ips.services.credentials import CredentialCache
from ips.services.terminals import Terminal
from ips.services.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class ProcessingProfile:
    """What the processing center allows (its operator's settings)."""

    double_stage: bool = True
    stored_card_double_stage: bool = True
    """Double-stage payments with a stored card (a recurring payment with ``Delay=1``)."""
    card_on_file: bool = False
    """A buyer's payment with a kept card without its CVC (the card on file)."""
    currencies: tuple[Currency, ...] = ()
    """The currencies it takes; empty means all. Orders in others are converted."""

    def takes(self, cur: Currency) -> bool:
        return not self.currencies or cur in self.currencies


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
    profile: ProcessingProfile = field(default_factory=ProcessingProfile)
    timings: Timings = field(default_factory=Timings)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    """How a caller is kept waiting (slowed logins); tests pass one that does not wait."""
    secure: ThreeDSecure = field(default_factory=NoThreeDSecure)
    wallet: Wallet | None = None
    """The e-wallet provider; without one, no order offers the wallet."""
    loyalty: Loyalty | None = None
    """The bonus-points program; without one, no order offers points."""
    terminal: Terminal = field(default_factory=Terminal)
    """The terminal this node sends its authorizations under (and signs on as)."""
    credentials: CredentialCache = field(default_factory=CredentialCache)
    """Web-service credentials verified lately, and the checks under way."""
