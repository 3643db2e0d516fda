"""Guarding a login against guessing, without letting anyone lock its owner out.

Failures are counted per login *and source* (``addresses.source_of``: an IPv4 address, an
IPv6 /64), so a stranger's guesses lock the stranger. After ``FREE_FAILURES`` failures each
further one is answered after a growing pause; at ``LOCK_AFTER`` failures the source is
locked out of the login for ``LOCK_FOR``, whatever password comes. A success clears the
source's count and marks the source as one the login has seen succeed.

A guesser with many addresses gets ``LOCK_AFTER`` tries from each. So the failures of a login
from all sources are counted too; at ``SPREAD_AFTER`` of them the login closes for
``LOCK_FOR`` to every source that has not succeeded within ``KNOWN_FOR``: the owner's own
servers and browsers go on, newcomers are refused before any password is checked. It never
locks a source that has succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ips.domain.addresses import source_of

FREE_FAILURES = 3
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=30)
MAX_PAUSE = timedelta(seconds=8)
SPREAD_AFTER = 100
KNOWN_FOR = timedelta(days=30)
NOTE_SUCCESS_EVERY = timedelta(days=1)
"""A known source's success is written again at most this often."""


@dataclass
class LoginGuard:
    subject: str
    failures: int = 0
    locked_until: datetime | None = None
    succeeded_at: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def fail(self, now: datetime, lock_after: int = LOCK_AFTER) -> timedelta:
        """Counts a failure; returns how long to wait before answering it."""
        if self.locked_until is not None and now >= self.locked_until:
            self.failures, self.locked_until = 0, None
        self.failures += 1
        if self.failures >= lock_after:
            self.locked_until = now + LOCK_FOR
        extra = self.failures - FREE_FAILURES
        return min(timedelta(seconds=2 ** (extra - 1)), MAX_PAUSE) if extra > 0 else timedelta(0)

    def succeed(self, now: datetime) -> None:
        self.failures, self.locked_until, self.succeeded_at = 0, None, now

    def known(self, now: datetime) -> bool:
        """Whether this source has succeeded lately."""
        return self.succeeded_at is not None and now - self.succeeded_at < KNOWN_FOR


@dataclass(frozen=True)
class Subjects:
    """The guards of one attempt: the login from this source, and the login from anywhere."""

    source: str
    login: str

    @classmethod
    def of(cls, login: str, address: str) -> Subjects:
        """``login`` names the login with its kind (``ws:111111``, ``cabinet:anna``)."""
        return cls(f"{login} from {source_of(address)}", login)


@dataclass
class Guards:
    source: LoginGuard
    login: LoginGuard

    def refused(self, now: datetime) -> bool:
        """Refused before any password is checked: the source is locked, or the login is
        closed to sources it has not seen succeed."""
        return self.source.locked(now) or (self.login.locked(now) and not self.source.known(now))

    def fail(self, now: datetime) -> timedelta:
        """Counts a failure (before the password is checked: a success takes it back);
        returns how long to wait before answering it."""
        self.login.fail(now, SPREAD_AFTER)
        return self.source.fail(now)

    def succeed(self, now: datetime, *, counted: bool) -> None:
        """A success; ``counted`` when it was counted as a failure first."""
        self.source.succeed(now)
        if counted and self.login.failures:
            self.login.failures -= 1

    def worth_noting(self, now: datetime) -> bool:
        """Whether a success needs writing: failures to clear, or the source's success not
        noted lately."""
        noted = self.source.succeeded_at
        return bool(self.source.failures) or noted is None or now - noted >= NOTE_SUCCESS_EVERY
