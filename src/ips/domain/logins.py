"""Guarding a login against guessing: failures are slowed down, then the login is locked.

After ``FREE_FAILURES`` failures each further one is answered after a growing pause; at
``LOCK_AFTER`` failures the login is locked for ``LOCK_FOR``, whatever password comes. A
success clears the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_FAILURES = 3
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=30)
MAX_PAUSE = timedelta(seconds=8)


@dataclass
class LoginGuard:
    subject: str
    failures: int = 0
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def fail(self, now: datetime) -> timedelta:
        """Counts a failure; returns how long to wait before answering it."""
        if self.locked_until is not None and now >= self.locked_until:
            self.failures, self.locked_until = 0, None
        self.failures += 1
        if self.failures >= LOCK_AFTER:
            self.locked_until = now + LOCK_FOR
        extra = self.failures - FREE_FAILURES
        return min(timedelta(seconds=2 ** (extra - 1)), MAX_PAUSE) if extra > 0 else timedelta(0)

    def succeed(self) -> None:
        self.failures, self.locked_until = 0, None
