"""Whether a node can do its work: what ``/health/ready`` tells a load balancer.

A node is ready when its database answers within ``TIMEOUT`` with the schema this code needs
(or a newer one: another node, upgraded first, migrated it), its link to the processing center
is signed on, and — when it runs the background workers — each worker loop has succeeded
lately. Each check answers a word or two, never an address or an error's text: the answer is
for anyone who can reach the node. A change of readiness is logged once, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ips.processing.port import Answer, NoAnswer

log = logging.getLogger(__name__)

TIMEOUT = 2.0
"""Seconds each check may take; a database or a processing center slower than this is not
ready for a buyer either."""

OK = "ok"


class SchemaState(StrEnum):
    CURRENT = OK
    BEHIND = "behind"
    """The database lacks migrations this code has (restored from an old backup?)."""
    NEWER = "newer"
    """The database has migrations this code does not know: a newer node applied them while
    the nodes are upgraded one by one. Ready: a migration keeps what the release before it
    uses (``docs/operations.md``, *Running several nodes*)."""


class ProcessingLink(Protocol):
    @property
    def signed_on(self) -> bool: ...

    async def echo(self) -> Answer:
        """Connects and signs on when not signed on, then tests the link."""
        ...


@dataclass
class Heartbeat:
    """A worker loop's record of its runs. It is late when it has not succeeded (since it
    started) for three of its intervals and a minute: a job that fails each time, or hangs."""

    name: str
    interval: float
    clock: Callable[[], float] = time.monotonic
    last_success: float = field(init=False)
    failures: int = 0
    """Failures since the last success."""

    def __post_init__(self) -> None:
        self.last_success = self.clock()

    @property
    def allowed(self) -> float:
        return 3 * self.interval + 60

    def succeeded(self) -> None:
        self.last_success = self.clock()
        self.failures = 0

    def failed(self) -> None:
        self.failures += 1

    def check(self) -> str:
        quiet = self.clock() - self.last_success
        if quiet <= self.allowed:
            return OK
        return f"no success for {quiet:.0f} s ({self.failures} failures)"


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]
    """Each check's answer: ``ok``, or what is wrong (``newer`` for a schema is no fault)."""
    failing: frozenset[str]
    """The checks that keep the node from being ready."""

    @property
    def ready(self) -> bool:
        return not self.failing


@dataclass
class Health:
    schema: Callable[[], Awaitable[SchemaState]]
    """The database's schema, read from the database (which raises when it is unreachable)."""
    processing: ProcessingLink
    heartbeats: Sequence[Heartbeat] = ()
    """The worker loops of this process; none when it runs no workers."""
    timeout: float = TIMEOUT
    _failing: frozenset[str] | None = None
    _database_error: str = ""

    async def readiness(self) -> Readiness:
        (database, schema), processing = await asyncio.gather(self._database(), self._processing())
        checks = {"database": database, "schema": schema, "processing": processing}
        checks |= {f"worker {beat.name}": beat.check() for beat in self.heartbeats}
        fine = {OK, SchemaState.NEWER.value}
        readiness = Readiness(checks, frozenset(n for n, a in checks.items() if a not in fine))
        self._note(readiness)
        return readiness

    async def _database(self) -> tuple[str, str]:
        try:
            async with asyncio.timeout(self.timeout):
                state = await self.schema()
        except TimeoutError:
            return f"no answer in {self.timeout:g} s", "unknown"
        except Exception as exc:
            self._database_error = f"{type(exc).__name__}: {exc}"
            return "unreachable", "unknown"
        return OK, state.value

    async def _processing(self) -> str:
        if not self.processing.signed_on:
            try:
                async with asyncio.timeout(self.timeout):
                    await self.processing.echo()
            except (NoAnswer, TimeoutError):
                pass
        return OK if self.processing.signed_on else "not signed on"

    def _note(self, readiness: Readiness) -> None:
        """Logs a change of the checks that fail (the log, unlike the answer, may say why)."""
        failing = readiness.failing
        last, self._failing = self._failing, failing
        if failing == last or (last is None and not failing):
            return
        if not failing:
            log.info("ready again")
            return
        reasons = [f"{name} {readiness.checks[name]}" for name in sorted(failing)]
        if readiness.checks["database"] == "unreachable":
            reasons.append(f"({self._database_error})")
        log.warning("not ready: %s", ", ".join(reasons))
