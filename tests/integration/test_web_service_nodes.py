"""Two nodes on one PostgreSQL database (each its own engine and pool, one key file): the
remembered web-service credential is theirs in common, a password change ends it for both at
once, and guesses sent at once through both are counted before they are checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from ips.crypto.keyring import KeyRing
from ips.services.gateway import Gateway
from ips.services.merchant_settings import change_ws_password
from ips.services.merchants import add_merchant
from ips.storage.database import create_engine
from ips.storage.unit_of_work import Database
from tests.conftest import MERCHANT, SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_web_service_guards import SHOP, STRANGER, client_at, orderstate
from tests.integration.test_web_service_guards import verifications as verifications


@pytest.fixture
async def nodes(
    postgres_url: str, keyring: KeyRing, clock: ManualClock
) -> AsyncIterator[Callable[[], Gateway]]:
    """Gateways of separate processes, as far as the database can tell: each its own engine
    and pool, all on one database and one key file."""
    databases: list[Database] = []

    async def pause(seconds: float) -> None:
        pass

    def node() -> Gateway:
        database = Database(create_engine(postgres_url), keyring)
        databases.append(database)
        return Gateway(database, FakeProcessingCenter(), keyring, clock=clock, sleep=pause)

    yield node
    for database in databases:
        await database.dispose()


async def test_a_password_changed_on_one_node_is_refused_at_once_on_another(
    nodes: Callable[[], Gateway], clock: ManualClock, verifications: list[str]
) -> None:
    one, other = nodes(), nodes()
    await add_merchant(MERCHANT, one.uow_factory, clock, actor=SETUP)
    async with client_at(one, SHOP) as first, client_at(other, SHOP) as second:
        assert await orderstate(first) == ("10", "201")
        assert await orderstate(second) == ("10", "201")
        assert len(verifications) == 1  # the second node found it remembered
        await change_ws_password("111111", "new-ws-password", one.uow_factory)
        assert await orderstate(second) == ("7", "102")
        assert await orderstate(second, Password="new-ws-password") == ("10", "201")
        assert await orderstate(first, Password="new-ws-password") == ("10", "201")
    assert len(verifications) == 3


async def test_wrong_guesses_at_once_from_one_source_get_ten_checks(
    nodes: Callable[[], Gateway], clock: ManualClock, verifications: list[str]
) -> None:
    """30 different passwords at once from one address, through two nodes: each attempt is
    counted on the source's locked row before its password is checked."""
    one, other = nodes(), nodes()
    await add_merchant(MERCHANT, one.uow_factory, clock, actor=SETUP)
    async with client_at(one, STRANGER) as first, client_at(other, STRANGER) as second:
        answers = await asyncio.gather(
            *(orderstate((first, second)[n % 2], Password=f"guess {n}") for n in range(30))
        )
        assert sorted(answers) == [("12", "101")] * 20 + [("7", "102")] * 10
        assert await orderstate(first) == ("12", "101")
    assert len(verifications) == 10
    async with one.uow_factory(readonly=True) as uow:
        source = await uow.logins.get("ws:111111 from 203.0.113.66", lock=False)
    assert source.failures == 10
