"""The audit trail on real storage: entries added with their change, read back newest first,
and refused any change or deletion by the database itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from ips.domain.audit import Actor, ActorKind, Subject
from ips.services.audit import note, trail
from ips.storage.database import create_engine
from ips.storage.migrate import migrate
from ips.storage.tables import audit_records
from ips.storage.unit_of_work import Database

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
ALICE = Actor(ActorKind.OPERATOR, "alice", "10.0.0.7")
SHOP_ADMIN = Actor(ActorKind.USER, "boss", "192.0.2.1", merchant_id="111111")


async def test_entries_are_kept_with_their_change_and_read_newest_first(
    database: Database,
) -> None:
    merchant = Subject("merchant", "111111", merchant_id="111111")
    async with database() as uow:
        await note(
            uow, ALICE, "merchant.change", merchant, NOW,
            before={"delay": False, "name": "Shop"}, after={"delay": True, "name": "Shop"},
        )  # fmt: skip
        await uow.commit()
    order = Subject("order", "1000000001", merchant_id="111111", billnumber="1000000001")
    async with database() as uow:
        await note(uow, SHOP_ADMIN, "order.cancel", order, NOW + timedelta(minutes=1))
        await uow.commit()
    async with database() as uow:
        await note(uow, ALICE, "merchant.disable", merchant, NOW)
        # no commit: the change and its entry are rolled back together

    newest, oldest = await trail(database, merchant_id="111111")
    assert (newest.action, newest.actor, newest.subject) == ("order.cancel", SHOP_ADMIN, order)
    assert (oldest.before, oldest.after) == ({"delay": False}, {"delay": True})
    assert oldest.at == NOW and oldest.actor == ALICE
    assert [e.action for e in await trail(database, billnumber="1000000001")] == ["order.cancel"]
    assert [e.action for e in await trail(database, actor="alice")] == ["merchant.change"]
    assert await trail(database, before_id=oldest.id) == []


@pytest.mark.parametrize(
    "statement",
    [
        update(audit_records).values(actor="mallory"),
        delete(audit_records),
    ],
    ids=["update", "delete"],
)
async def test_the_database_refuses_to_change_or_delete_an_entry(
    database: Database, statement: object
) -> None:
    async with database() as uow:
        await note(uow, ALICE, "merchant.enable", Subject("merchant", "111111"), NOW)
        await uow.commit()

    with pytest.raises(DBAPIError, match="never changed or deleted"):
        async with database.engine.begin() as conn:
            await conn.execute(statement)  # type: ignore[call-overload]
    [kept] = await trail(database)
    assert kept.actor == ALICE


async def test_postgresql_refuses_truncating_the_trail(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await migrate(engine)
        with pytest.raises(DBAPIError, match="never changed or deleted"):
            async with engine.begin() as conn:
                await conn.execute(text("TRUNCATE audit_records"))
    finally:
        await engine.dispose()
