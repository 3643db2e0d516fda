"""Races on PostgreSQL with real connections and the real processing center over TCP."""

from __future__ import annotations

import asyncio
import re

import httpx

from ips.crypto.keyring import KeyRing
from ips.services.gateway import Gateway
from ips.services.merchants import add_merchant
from ips.storage.database import create_engine
from ips.storage.unit_of_work import Database
from tests.conftest import MERCHANT, RealProcessing, make_client
from tests.integration.test_http_payment import REQUEST, card_form


async def test_twenty_concurrent_submissions_make_one_payment_and_one_hold(
    postgres_url: str, keyring: KeyRing, real_processing: RealProcessing
) -> None:
    database = Database(create_engine(postgres_url), keyring)
    gateway = Gateway(database, real_processing.client, keyring)
    await add_merchant(MERCHANT, database)
    async with make_client(gateway) as client:
        card_page = (await client.post("/pay/order.cfm", data=REQUEST)).headers["location"]
        token = re.search(r'name="token" value="([^"]+)"', (await client.get(card_page)).text)
        assert token is not None

        async def submit() -> httpx.Response:
            return await client.post(f"{card_page}/card", data=card_form(token.group(1)))

        answers = await asyncio.gather(*(submit() for _ in range(20)))

    assert all(answer.status_code == 303 for answer in answers)
    billnumber = card_page.rsplit("/", 1)[1]
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        assert order is not None and order.id is not None
        payments = await uow.operations.of_order(order.id)
    assert order.state.value == "Approved"
    assert [p.status.value for p in payments] == ["success"]
    holds = await real_processing.simulator.ledger.holds()
    assert len(holds) == 1 and holds[0].amount.minor == 10000
    await database.dispose()
