"""The steps of a guarded login that the web services and the Personal Account share
(``domain/logins.py``): each attempt is counted as failed before its password is checked,
on its guards' locked rows, and a success takes the count back. So attempts sent at once
queue on the rows and cannot get past the lock, and a refused attempt is refused before any
password is checked."""

from __future__ import annotations

from datetime import timedelta

from ips.domain.errors import LoginLocked
from ips.domain.logins import Guards, Subjects
from ips.services.clock import Clock
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


async def count_attempt(
    subjects: Subjects, uow_factory: UnitOfWorkFactory, clock: Clock, refusal: str
) -> tuple[Guards, timedelta]:
    """Counts an attempt before its password is checked; returns the guards as counted and
    the pause before a failure is answered. A refused attempt raises ``LoginLocked`` (with
    ``refusal``) and counts nothing."""
    async with uow_factory() as uow:
        guards = await uow.logins.guards(subjects)
        if guards.refused(clock()):
            raise LoginLocked(refusal, field="login")
        pause = guards.fail(clock())
        await uow.logins.save(guards.login, guards.source)
        await uow.commit()
    return guards, pause


async def note_success(uow: UnitOfWork, subjects: Subjects, clock: Clock, *, counted: bool) -> None:
    """Clears the source's failures and marks it as one that succeeded; ``counted`` when the
    attempt was counted as a failure first (``count_attempt``), which this takes back."""
    guards = await uow.logins.guards(subjects)
    guards.succeed(clock(), counted=counted)
    await uow.logins.save(guards.login, guards.source)
