"""Failed logins (``domain/logins.py``)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.logins import Guards, LoginGuard, Subjects
from ips.storage.database import dialect_insert
from ips.storage.tables import login_guards


class LoginRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, subject: str, *, lock: bool = True) -> LoginGuard:
        """The subject's guard (see ``guards``)."""
        return (await self._many([subject], lock))[subject]

    async def guards(self, subjects: Subjects, *, lock: bool = True) -> Guards:
        """An attempt's guards, in one statement. Locking them first makes sure their rows
        exist, so that two attempts at once queue on the rows instead of both counting from
        nothing; rows are always taken in the order of their subjects (no deadlock)."""
        found = await self._many([subjects.login, subjects.source], lock)
        return Guards(source=found[subjects.source], login=found[subjects.login])

    async def _many(self, subjects: list[str], lock: bool) -> dict[str, LoginGuard]:
        ordered = sorted(set(subjects))
        query = select(login_guards).where(login_guards.c.subject.in_(ordered))
        if lock:
            await self._conn.execute(
                dialect_insert(self._conn)(login_guards)
                .values([{"subject": s, "failures": 0, "locked_until": None} for s in ordered])
                .on_conflict_do_nothing(index_elements=[login_guards.c.subject])
            )
            query = query.order_by(login_guards.c.subject).with_for_update()
        rows = {row.subject: row for row in await self._conn.execute(query)}
        return {
            subject: LoginGuard(subject, row.failures, row.locked_until, row.succeeded_at)
            if (row := rows.get(subject)) is not None
            else LoginGuard(subject)
            for subject in ordered
        }

    async def save(self, *guards: LoginGuard) -> None:
        for guard in guards:
            if not guard.failures and guard.succeeded_at is None:
                await self._conn.execute(
                    delete(login_guards).where(login_guards.c.subject == guard.subject)
                )
                continue
            values = {
                "failures": guard.failures,
                "locked_until": guard.locked_until,
                "succeeded_at": guard.succeeded_at,
            }
            await self._conn.execute(
                dialect_insert(self._conn)(login_guards)
                .values(subject=guard.subject, **values)
                .on_conflict_do_update(index_elements=[login_guards.c.subject], set_=values)
            )
