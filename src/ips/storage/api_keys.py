"""The JSON API's keys in the database (``domain/api_keys.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.api_keys import ApiKey, Scope
from ips.storage.tables import api_keys

_KEY = select(api_keys).where(api_keys.c.key_id == bindparam("key_id"))


class ApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey) -> None:
        await self._conn.execute(
            insert(api_keys).values(
                key_id=key.key_id,
                merchant_id=key.merchant_id,
                name=key.name,
                scope=key.scope.value,
                secret_hash=key.secret_hash,
                created_at=key.created_at,
            )
        )

    async def get(self, key_id: str) -> ApiKey | None:
        row = (await self._conn.execute(_KEY, {"key_id": key_id})).first()
        return None if row is None else _key(row)

    async def of_merchant(self, merchant_id: str) -> list[ApiKey]:
        rows = await self._conn.execute(
            select(api_keys)
            .where(api_keys.c.merchant_id == merchant_id)
            .order_by(api_keys.c.created_at, api_keys.c.key_id)
        )
        return [_key(row) for row in rows]

    async def revoke(self, merchant_id: str, key_id: str, now: datetime) -> bool:
        """Revokes the merchant's key unless it is revoked already; whether it did."""
        revoked = await self._conn.execute(
            update(api_keys)
            .where(
                api_keys.c.key_id == key_id,
                api_keys.c.merchant_id == merchant_id,
                api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return bool(revoked.rowcount)


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        merchant_id=row.merchant_id,
        name=row.name,
        scope=Scope(row.scope),
        created_at=row.created_at,
        secret_hash=row.secret_hash,
        revoked_at=row.revoked_at,
    )
