"""The operator console's staff and their sessions (``domain/operators.py``); an
administrator's TOTP secret sealed with the key ring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.crypto.keyring import KeyRing
from ips.domain.operators import Operator, OperatorSession
from ips.domain.users import Role
from ips.storage.database import dialect_insert
from ips.storage.tables import operator_sessions, operators


def _context(login: str) -> str:
    return f"totp secret of operator {login}"


class OperatorRepository:
    def __init__(self, conn: AsyncConnection, keyring: KeyRing) -> None:
        self._conn = conn
        self._keyring = keyring

    async def add(self, operator: Operator) -> bool:
        """Adds the operator; False, adding nothing, when the login is taken."""
        result = await self._conn.execute(
            dialect_insert(self._conn)(operators)
            .values(
                login=operator.login,
                password_hash=operator.password_hash,
                role=operator.role.value,
                sealed_totp_secret=self._sealed(operator),
                last_totp_step=operator.last_totp_step,
                disabled_at=operator.disabled_at,
                created_at=operator.created_at,
            )
            .on_conflict_do_nothing(index_elements=[operators.c.login])
            .returning(operators.c.id)
        )
        operator.id = result.scalar()
        return operator.id is not None

    async def get(self, operator_id: int) -> Operator | None:
        query = select(operators).where(operators.c.id == operator_id)
        row = (await self._conn.execute(query)).first()
        return self._operator(row) if row else None

    async def by_login(self, login: str) -> Operator | None:
        query = select(operators).where(operators.c.login == login)
        row = (await self._conn.execute(query)).first()
        return self._operator(row) if row else None

    async def all(self) -> list[Operator]:
        query = select(operators).order_by(operators.c.login)
        return [self._operator(row) for row in await self._conn.execute(query)]

    async def save(self, operator: Operator) -> None:
        """Stores the operator's role, TOTP secret (and its last step) and disabling."""
        await self._conn.execute(
            update(operators)
            .where(operators.c.id == operator.id)
            .values(
                role=operator.role.value,
                sealed_totp_secret=self._sealed(operator),
                last_totp_step=operator.last_totp_step,
                disabled_at=operator.disabled_at,
            )
        )

    async def use_step(self, operator_id: int, step: int) -> bool:
        """Records ``step`` as the operator's last one-time code used, unless that step or a
        later one already was (one statement: of two sign-ins with one code, one wins)."""
        last = operators.c.last_totp_step
        result = await self._conn.execute(
            update(operators)
            .where(operators.c.id == operator_id, or_(last.is_(None), last < step))
            .values(last_totp_step=step)
        )
        return bool(result.rowcount)

    def _sealed(self, operator: Operator) -> str | None:
        secret = operator.totp_secret
        return self._keyring.seal(secret, _context(operator.login)) if secret else None

    def _operator(self, row: Row[Any]) -> Operator:
        sealed = row.sealed_totp_secret
        return Operator(
            login=row.login,
            password_hash=row.password_hash,
            role=Role(row.role),
            created_at=row.created_at,
            totp_secret=self._keyring.open(sealed, _context(row.login)) if sealed else None,
            last_totp_step=row.last_totp_step,
            disabled_at=row.disabled_at,
            id=row.id,
        )


class OperatorSessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: OperatorSession) -> None:
        await self._conn.execute(
            insert(operator_sessions).values(
                token_hash=session.token_hash,
                operator_id=session.operator_id,
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                second_factor_at=session.second_factor_at,
            )
        )

    async def get(self, token_hash: str) -> OperatorSession | None:
        query = select(operator_sessions).where(operator_sessions.c.token_hash == token_hash)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return OperatorSession(
            row.operator_id, row.token_hash, row.csrf_token, row.created_at, row.last_seen_at,
            row.second_factor_at,
        )  # fmt: skip

    async def touch(self, session: OperatorSession) -> None:
        await self._conn.execute(
            update(operator_sessions)
            .where(operator_sessions.c.token_hash == session.token_hash)
            .values(last_seen_at=session.last_seen_at)
        )

    async def end(self, token_hash: str) -> None:
        await self._conn.execute(
            delete(operator_sessions).where(operator_sessions.c.token_hash == token_hash)
        )

    async def end_all_of(self, operator_id: int) -> None:
        await self._conn.execute(
            delete(operator_sessions).where(operator_sessions.c.operator_id == operator_id)
        )

    async def end_older_than(self, moment: datetime) -> None:
        """Forgets sessions last used before ``moment`` (they have expired)."""
        await self._conn.execute(
            delete(operator_sessions).where(operator_sessions.c.last_seen_at < moment)
        )
