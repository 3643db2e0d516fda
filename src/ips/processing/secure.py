"""The ``ThreeDSecure`` port: asking the card's issuer to authenticate the cardholder.

Before a card is authorized, IPS asks whether the card takes part in 3-D Secure
(``enroll``). If it does, the buyer is sent to the issuer's access control server (ACS) at
``Challenge.url``, proves they hold the card there, and comes back to the ``return_url`` IPS
gave. IPS then asks the ACS itself for the ``result`` — never trusting what the browser
carries — and, when the cardholder was authenticated, sends the authorization with the
``cavv`` the issuer will check. Every method raises ``NoAnswer`` when the ACS cannot be
reached or its answer cannot be read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from ips.domain.cards import Pan
from ips.domain.money import Money


@dataclass(frozen=True)
class Challenge:
    transaction: str
    """The ACS's id of this authentication."""
    url: str
    """The page the buyer is sent to."""


class AuthenticationStatus(enum.Enum):
    AUTHENTICATED = "Y"
    FAILED = "N"
    PENDING = "U"
    """The buyer has not answered the challenge (yet)."""


@dataclass(frozen=True)
class Authentication:
    status: AuthenticationStatus
    cavv: str = ""


class ThreeDSecure(Protocol):
    async def may_take_part(self, pan: Pan) -> bool:
        """``False`` when the card is known to take no part in 3-D Secure without asking (it
        lies outside every card range the directory publishes); ``True``: ``enroll`` must
        ask."""
        ...

    async def enroll(
        self, pan: Pan, amount: Money, merchant_id: str, return_url: str
    ) -> Challenge | None:
        """The challenge the buyer must answer; ``None`` when the card is not enrolled."""
        ...

    async def result(self, transaction: str) -> Authentication: ...


class NoThreeDSecure:
    """IPS without a 3-D Secure directory: no card is enrolled, every card is authorized
    directly (merchants that require 3-D Secure then refuse every card)."""

    async def may_take_part(self, pan: Pan) -> bool:
        return False

    async def enroll(
        self, pan: Pan, amount: Money, merchant_id: str, return_url: str
    ) -> Challenge | None:
        return None

    async def result(self, transaction: str) -> Authentication:
        return Authentication(AuthenticationStatus.FAILED)
