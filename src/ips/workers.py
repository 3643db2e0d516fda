"""The background workers (of ``ips worker``, and of ``ips serve`` unless ``--no-workers``): loops
that each wake up on their interval, never die of an error, and stop between two runs.

A stop lets the run under way finish — a settlement batch or a reversal being sent is never
cut off by IPS — and then ends the loop; the pause between runs is cut short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time, timedelta

from ips.logs.context import scope
from ips.services import janitor, notifications, settlement, webhooks
from ips.services.gateway import Gateway
from ips.services.health import Heartbeat
from ips.services.notifications import Delivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loop:
    heartbeat: Heartbeat
    job: Callable[[], Awaitable[bool]]
    """One run; True when more work is waiting, so the next run starts at once."""

    async def run(self, stopping: asyncio.Event) -> None:
        """Runs the job every ``heartbeat.interval`` seconds until ``stopping`` is set."""
        beat = self.heartbeat
        while not stopping.is_set():
            more = False
            with scope(job=beat.name):  # each run's lines name the job, and only its own
                try:
                    more = await self.job()
                except Exception as exc:
                    beat.failed()
                    if beat.failures == 1:
                        log.exception(
                            "background job %s failed; it runs again in %ss",
                            beat.name,
                            beat.interval,
                        )
                    else:  # the same trouble, most likely (a database away): one line each time
                        log.warning(
                            "background job %s failed again (%s in a row): %s: %s",
                            beat.name, beat.failures, type(exc).__name__, exc,
                        )  # fmt: skip
                else:
                    beat.succeeded()
            if not more:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(beat.interval):
                        await stopping.wait()


def janitor_loop(gateway: Gateway, interval: float, stale_after: timedelta) -> Loop:
    async def job() -> bool:
        await janitor.sweep(gateway, stale_after=stale_after)
        await janitor.expire_orders(gateway)
        await janitor.release_expired_holds(gateway)
        return False

    return Loop(Heartbeat("janitor", interval), job)


SETTLEMENT_TICK = 60.0


def settlement_loop(gateway: Gateway, cutoff: time) -> Loop:
    async def job() -> bool:
        await settlement.settle_if_due(gateway, cutoff)
        return False

    return Loop(Heartbeat("settlement", SETTLEMENT_TICK), job)


def notification_loop(delivery: Delivery, interval: float) -> Loop:
    async def job() -> bool:
        return await notifications.deliver_due(delivery) == delivery.batch  # more may be due

    return Loop(Heartbeat("notifications", interval), job)


def webhook_loop(delivery: Delivery, interval: float) -> Loop:
    async def job() -> bool:
        return await webhooks.deliver_due(delivery) == delivery.batch  # more may be due

    return Loop(Heartbeat("webhooks", interval), job)
