"""The worker loops: a run is never cut off by a stop, the pause is; an error is counted and
the loop goes on; a run that leaves work waiting is followed by the next at once."""

from __future__ import annotations

import asyncio

from ips.services.health import Heartbeat
from ips.workers import Loop

HOUR = 3600.0


async def test_a_stop_lets_the_run_under_way_finish_then_ends_the_loop() -> None:
    started, release, said = asyncio.Event(), asyncio.Event(), []

    async def job() -> bool:
        started.set()
        await release.wait()  # a reversal waiting for its answer, say
        said.append("answered")
        return False

    stopping = asyncio.Event()
    running = asyncio.create_task(Loop(Heartbeat("janitor", HOUR), job).run(stopping))
    await started.wait()
    stopping.set()
    await asyncio.sleep(0.05)
    still_running = not running.done()
    release.set()
    await asyncio.wait_for(running, 1)

    assert still_running and said == ["answered"]


async def test_a_stop_cuts_the_pause_between_runs_short() -> None:
    runs = 0

    async def job() -> bool:
        nonlocal runs
        runs += 1
        return False

    stopping = asyncio.Event()
    running = asyncio.create_task(Loop(Heartbeat("settlement", HOUR), job).run(stopping))
    await asyncio.sleep(0.05)
    stopping.set()
    await asyncio.wait_for(running, 1)

    assert runs == 1


async def test_errors_are_counted_and_work_left_waiting_runs_again_at_once() -> None:
    outcomes: list[bool | Exception] = [RuntimeError("database away"), True, True, False]
    stopping = asyncio.Event()
    beat = Heartbeat("notifications", 0.01)
    failures = []

    async def job() -> bool:
        outcome = outcomes.pop(0)
        failures.append(beat.failures)
        if not outcomes:
            stopping.set()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    await asyncio.wait_for(Loop(beat, job).run(stopping), 1)

    assert failures == [0, 1, 0, 0]  # the success after the error cleared its count
    assert beat.failures == 0
