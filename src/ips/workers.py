"""Background loops of ``ips serve``: each wakes up on its interval and never dies of an error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import time, timedelta
from typing import Any

from ips.services import janitor, notifications, settlement
from ips.services.gateway import Gateway
from ips.services.notifications import Delivery

log = logging.getLogger(__name__)


async def every(interval: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s failed; it runs again in %ss", name, interval)
        await asyncio.sleep(interval)


def janitor_loop(
    gateway: Gateway, interval: float, stale_after: timedelta
) -> Coroutine[Any, Any, None]:
    async def job() -> None:
        await janitor.sweep(gateway, stale_after=stale_after)
        await janitor.expire_orders(gateway)
        await janitor.release_expired_holds(gateway)

    return every(interval, "janitor", job)


SETTLEMENT_TICK = 60.0


def settlement_loop(gateway: Gateway, cutoff: time) -> Coroutine[Any, Any, None]:
    return every(SETTLEMENT_TICK, "settlement", lambda: settlement.settle_if_due(gateway, cutoff))


def notification_loop(delivery: Delivery, interval: float) -> Coroutine[Any, Any, None]:
    async def job() -> None:
        while await notifications.deliver_due(delivery) == delivery.batch:
            pass  # a full batch: more may be due

    return every(interval, "notifications", job)
