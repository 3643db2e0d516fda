"""What every exchange with the processing center needs, wired once by ``bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass

from ips.crypto.keyring import KeyRing
from ips.processing.port import ProcessingCenter
from ips.services.clock import Clock, utc_now
from ips.services.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class Gateway:
    uow_factory: UnitOfWorkFactory
    processing: ProcessingCenter
    keyring: KeyRing
    clock: Clock = utc_now
    reversal_attempts: int = 3
    """Reversals sent at once, while the buyer waits; the janitor repeats them after that."""
