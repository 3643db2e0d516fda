"""Users and sessions of the Personal Account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.users import Role, Session, User
from ips.storage.database import dialect_insert
from ips.storage.tables import sessions, users


def _user(row: Row[Any]) -> User:
    return User(
        merchant_id=row.merchant_id,
        login=row.login,
        password_hash=row.password_hash,
        role=Role(row.role),
        created_at=row.created_at,
        id=row.id,
    )


class UserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> bool:
        """Adds the user; False, adding nothing, when the login is taken."""
        insert_user = dialect_insert(self._conn)
        result = await self._conn.execute(
            insert_user(users)
            .values(
                merchant_id=user.merchant_id,
                login=user.login,
                password_hash=user.password_hash,
                role=user.role.value,
                created_at=user.created_at,
            )
            .on_conflict_do_nothing(index_elements=[users.c.login])
            .returning(users.c.id)
        )
        user.id = result.scalar()
        return user.id is not None

    async def get(self, user_id: int) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def by_login(self, login: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.login == login))).first()
        return _user(row) if row else None

    async def of_merchant(self, merchant_id: str) -> list[User]:
        query = select(users).where(users.c.merchant_id == merchant_id).order_by(users.c.login)
        return [_user(row) for row in await self._conn.execute(query)]

    async def save(self, user: User) -> None:
        await self._conn.execute(
            update(users)
            .where(users.c.id == user.id)
            .values(password_hash=user.password_hash, role=user.role.value)
        )

    async def remove(self, user_id: int) -> None:
        await self._conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        await self._conn.execute(delete(users).where(users.c.id == user_id))


class SessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: Session) -> None:
        await self._conn.execute(
            insert(sessions).values(
                token_hash=session.token_hash,
                user_id=session.user_id,
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
            )
        )

    async def get(self, token_hash: str) -> Session | None:
        query = select(sessions).where(sessions.c.token_hash == token_hash)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return Session(
            row.user_id, row.token_hash, row.csrf_token, row.created_at, row.last_seen_at
        )

    async def touch(self, session: Session) -> None:
        await self._conn.execute(
            update(sessions)
            .where(sessions.c.token_hash == session.token_hash)
            .values(last_seen_at=session.last_seen_at)
        )

    async def end(self, token_hash: str) -> None:
        await self._conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    async def end_others(self, user_id: int, keep: str | None) -> None:
        """Ends the user's sessions but ``keep`` (a password changed ends them)."""
        query = delete(sessions).where(sessions.c.user_id == user_id)
        if keep is not None:
            query = query.where(sessions.c.token_hash != keep)
        await self._conn.execute(query)

    async def end_older_than(self, moment: datetime) -> None:
        """Forgets sessions last used before ``moment`` (they have expired)."""
        await self._conn.execute(delete(sessions).where(sessions.c.last_seen_at < moment))
