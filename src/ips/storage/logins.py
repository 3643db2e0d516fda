"""Failed logins (``domain/logins.py``)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.logins import LoginGuard
from ips.storage.database import dialect_insert
from ips.storage.tables import login_guards


class LoginRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, subject: str, *, lock: bool = True) -> LoginGuard:
        """The subject's guard. Locking it first makes sure its row exists, so that two
        attempts at once queue on the row instead of both counting from nothing."""
        query = select(login_guards).where(login_guards.c.subject == subject)
        if lock:
            await self._conn.execute(
                dialect_insert(self._conn)(login_guards)
                .values(subject=subject, failures=0, locked_until=None)
                .on_conflict_do_nothing(index_elements=[login_guards.c.subject])
            )
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return LoginGuard(subject)
        return LoginGuard(subject, row.failures, row.locked_until)

    async def save(self, guard: LoginGuard) -> None:
        if not guard.failures:
            await self._conn.execute(
                delete(login_guards).where(login_guards.c.subject == guard.subject)
            )
            return
        insert = dialect_insert(self._conn)
        values = {"failures": guard.failures, "locked_until": guard.locked_until}
        await self._conn.execute(
            insert(login_guards)
            .values(subject=guard.subject, **values)
            .on_conflict_do_update(index_elements=[login_guards.c.subject], set_=values)
        )
