"""The bank's lockout of a login or a PIN: wrong tries in a row are counted, each after the
third answered after a pause that doubles (1, 2, 4, then 8 seconds), and the try that makes
``lock_after`` locks it for 30 minutes, whatever comes then. A right one clears the count;
once a lock has run out the count starts again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

LOCK_AFTER = 10
LOCKED_FOR = timedelta(minutes=30)
UNPAUSED = 3
LONGEST_PAUSE = timedelta(seconds=8)


@dataclass
class LoginGuard:
    """The count of wrong tries at ``subject`` (a wallet's login, a points account)."""

    subject: str
    failures: int = 0
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def fail(self, now: datetime, lock_after: int = LOCK_AFTER) -> timedelta:
        """Counts a wrong try; returns the pause before it is answered."""
        if self.locked_until is not None and not self.locked(now):
            self.failures, self.locked_until = 0, None
        self.failures += 1
        if self.failures >= lock_after:
            self.locked_until = now + LOCKED_FOR
        if self.failures <= UNPAUSED:
            return timedelta(0)
        return min(timedelta(seconds=2 ** (self.failures - UNPAUSED - 1)), LONGEST_PAUSE)
