"""The CVC while the buyer is at the issuer's 3-D Secure page: in this process's memory only,
for a few minutes, taken once. It is never written anywhere; after a restart it is gone, and
the authorization goes without it."""

from __future__ import annotations

import time
from collections.abc import Callable

from ips.domain.cards import Secret

KEEP_S = 15 * 60


class CvcMemory:
    def __init__(self, keep_s: float = KEEP_S, now: Callable[[], float] = time.monotonic) -> None:
        self._kept: dict[int, tuple[Secret, float]] = {}
        self._keep_s = keep_s
        self._now = now

    def keep(self, payment_id: int, cvc: Secret) -> None:
        self._forget_old()
        self._kept[payment_id] = (cvc, self._now() + self._keep_s)

    def take(self, payment_id: int) -> Secret | None:
        self._forget_old()
        kept = self._kept.pop(payment_id, None)
        return kept[0] if kept else None

    def _forget_old(self) -> None:
        now = self._now()
        for payment_id in [p for p, (_, until) in self._kept.items() if until <= now]:
            del self._kept[payment_id]
