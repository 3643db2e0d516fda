"""Web-service credentials remembered once verified, so that argon2 is paid once, not per call.

What is remembered is a keyed hash, on the merchant's row (so every node shares it, and the
read of the merchant brings it): HMAC-SHA256, with a key derived from the key ring, over the
Merchant_ID, the login, the password and the password hash it was verified against. It is
believed for ``keep``. It is never the password, and no use without the key file; a new
password forgets it (``Merchant.change_ws_password``), and since the hash is part of it, a
mark written for the old password verifies nothing against the new one. A wrong password
matches no mark, so it pays the full check as before.

Calls with the same credential that arrive while it is being checked wait for that one
check (``SingleFlight``): a burst of first calls pays argon2 once per node.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from ips.crypto.keyring import KeyRing
from ips.domain.merchants import Merchant

KEEP = timedelta(minutes=5)
PURPOSE = "web-service credentials"

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    """The outcome of checking a credential with argon2."""

    login_ok: bool
    password_ok: bool
    pause: timedelta
    """How long to keep the caller waiting when it failed."""

    @property
    def ok(self) -> bool:
        return self.login_ok and self.password_ok


class SingleFlight(Generic[K, T]):
    """One piece of work per key at a time: callers asking for a key under way wait for its
    result (or its error) instead of starting it again. The work runs as a task of its own, so
    a caller that goes away does not cancel it for the others."""

    def __init__(self) -> None:
        self._flights: dict[K, asyncio.Task[T]] = {}

    async def run(self, key: K, work: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(work())
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(flight)

    def _landed(self, key: K, flight: asyncio.Task[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # retrieved here, so that nobody waiting is not an error

    def __len__(self) -> int:
        return len(self._flights)


class CredentialCache:
    def __init__(self, keep: timedelta = KEEP) -> None:
        self.keep = keep
        """How long a verified credential is believed; zero remembers none."""
        self.checks: SingleFlight[tuple[str, str], Check] = SingleFlight()
        """Checks under way, by credential (its mark) and source."""
        self._key: tuple[KeyRing, bytes] | None = None

    def mac(self, keyring: KeyRing, merchant: Merchant, login: str, password: str) -> str:
        if self._key is None or self._key[0] is not keyring:
            self._key = (keyring, keyring.derive(PURPOSE))
        parts = (merchant.merchant_id, login, password, merchant.password_hash)
        message = b"".join(b"%d:%b" % (len(part), part) for part in (p.encode() for p in parts))
        return hmac.new(self._key[1], message, hashlib.sha256).hexdigest()

    def remembered(self, merchant: Merchant, mac: str, now: datetime) -> bool:
        """Whether this credential (its ``mac``) is the merchant's, verified lately."""
        until = merchant.credential_until
        return (
            bool(self.keep)
            and bool(merchant.credential_mac)
            and until is not None
            and now < until
            and hmac.compare_digest(merchant.credential_mac, mac)
        )
