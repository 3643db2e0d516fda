"""The steps of a guarded login that the web services and the Personal Account share
(``domain/logins.py``): each attempt is counted as failed before its password is checked,
on its guards' locked rows, and a success takes the count back. So attempts sent at once
queue on the rows and cannot get past the lock, and a refused attempt is refused before any
password is checked.

An unknown login costs a password check too (``password_right``), and the answer to a failure
is the same whether the login exists or not (``failure``), so that neither the time nor the
words tell anyone which logins exist."""

from __future__ import annotations

import functools
from datetime import timedelta

from ips.crypto.passwords import hash_password, verify_password
from ips.domain.errors import AuthenticationFailed, DomainError, LoginLocked
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


@functools.cache
def _nobody() -> str:
    """A hash checked against when the login is unknown, so that it costs as long as a
    known one (made at the first need, not at start-up)."""
    return hash_password("a password nobody has")


async def password_right(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one of ``password_hash``; ``None`` (an unknown login) is
    never right, and costs a check all the same."""
    if password_hash is None:
        await verify_password(_nobody(), password)
        return False
    return await verify_password(password_hash, password)


def failure(
    counted: Guards, clock: Clock, refusal: str, message: str, *, field: str | None = None
) -> DomainError:
    """The error a failed attempt counted by ``count_attempt`` raises: ``LoginLocked`` (with
    ``refusal``) when this failure locked the source, else ``AuthenticationFailed``."""
    if counted.refused(clock()):
        return LoginLocked(refusal, field="login")
    return AuthenticationFailed(message, field=field)
