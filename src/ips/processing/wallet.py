"""The ``Wallet`` port: an e-wallet provider that takes payments on its own pages.

IPS ``create``s a payment at the provider and sends the buyer to ``WalletPayment.url``; the
buyer signs in to the wallet there and confirms, and comes back to the ``return_url``. IPS
then asks the provider for the payment's ``status`` — never trusting the browser. A payment
the buyer never finishes is ``cancel``led once its order's time is up. A paid
payment can be given back, all or part, with ``refund``. Every method raises ``NoAnswer``
when the provider cannot be reached or its answer cannot be read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from ips.domain.money import Money


@dataclass(frozen=True)
class WalletPayment:
    id: str
    """The provider's id of the payment."""
    url: str
    """The provider's page where the buyer confirms it."""


class WalletStatus(enum.Enum):
    PENDING = "pending"
    PAID = "paid"
    DECLINED = "declined"
    """The buyer cancelled, or the wallet could not pay."""


@dataclass(frozen=True)
class WalletState:
    status: WalletStatus
    account: str = ""
    """The wallet that paid, as the provider shows it (masked)."""


class Wallet(Protocol):
    async def create(
        self, reference: str, amount: Money, merchant_id: str, description: str, return_url: str
    ) -> WalletPayment:
        """``reference`` is IPS's own id of the payment: the same reference twice makes one
        payment at the provider."""
        ...

    async def status(self, payment_id: str) -> WalletState: ...

    async def cancel(self, payment_id: str) -> WalletState:
        """Gives up a payment the buyer never finished: a pending one is declined, any
        other stays as it is (the buyer may have paid a moment before). The state after."""
        ...

    async def refund(self, payment_id: str, amount: Money, reference: str) -> bool:
        """True when the provider gave ``amount`` back; a repeat with the same ``reference``
        gives nothing more back."""
        ...
