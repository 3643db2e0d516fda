"""API keys on real storage: made, checked, scoped and revoked; only their hash is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ips.domain.api_keys import Scope
from ips.domain.errors import AccessDenied, AuthenticationFailed, NotFound
from ips.services.api_keys import api_keys_of, create_api_key, key_holder, revoke_api_key
from ips.storage.tables import api_keys
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP
from tests.fakes import ManualClock

pytestmark = pytest.mark.usefixtures("merchant")


async def test_a_key_names_its_merchant_until_it_is_revoked(
    database: Database, clock: ManualClock
) -> None:
    key, token = await create_api_key(
        "111111", "main server", Scope.WRITE, database, clock, actor=SETUP
    )
    reader, read_token = await create_api_key(
        "111111", "", Scope.READ, database, clock, actor=SETUP
    )
    holder = await key_holder(f"Bearer {token}", database)
    assert (holder.merchant_id, holder.key_id, holder.scope) == ("111111", key.key_id, Scope.WRITE)
    holder.require(Scope.WRITE)
    read_only = await key_holder(f"bearer  {read_token}", database)
    read_only.require(Scope.READ)
    with pytest.raises(AccessDenied, match="read only"):
        read_only.require(Scope.WRITE)

    async with database.engine.connect() as conn:
        stored = list(await conn.execute(select(api_keys)))
    assert not any(token in repr(tuple(row)) for row in stored)

    await revoke_api_key("111111", key.key_id, database, clock, actor=SETUP)
    with pytest.raises(AuthenticationFailed, match="unknown or revoked"):
        await key_holder(f"Bearer {token}", database)
    with pytest.raises(NotFound):
        await revoke_api_key("111111", key.key_id, database, clock, actor=SETUP)
    listed = await api_keys_of("111111", database)
    assert {(k.key_id, k.revoked_at is not None) for k in listed} == {
        (key.key_id, True),
        (reader.key_id, False),
    }


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic c2hvcDpwYXNz",
        "Bearer ",
        "Bearer ipsk_aaaaaaaaaaaaaaaa_short",
        "Bearer ipsk_aaaaaaaaaaaaaaaa_" + "A" * 43,
    ],
)
async def test_what_is_not_a_live_key_is_refused(database: Database, header: str) -> None:
    with pytest.raises(AuthenticationFailed):
        await key_holder(header, database)


async def test_a_key_with_another_secret_or_of_another_merchant_stays_shut(
    database: Database, clock: ManualClock
) -> None:
    key, token = await create_api_key("111111", "", Scope.WRITE, database, clock, actor=SETUP)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthenticationFailed):
        await key_holder(f"Bearer {forged}", database)
    with pytest.raises(NotFound):
        await revoke_api_key("222222", key.key_id, database, clock, actor=SETUP)
    with pytest.raises(NotFound, match="no merchant"):
        await create_api_key("999999", "", Scope.READ, database, clock, actor=SETUP)
