"""Races on PostgreSQL with real connections and the real processing center over TCP, against
one node and against two (each its own pool and its own link, as its own terminal)."""

from __future__ import annotations

import asyncio
import re

import httpx

from ips.crypto.keyring import KeyRing
from ips.services.merchants import add_merchant
from tests.conftest import MERCHANT, SETUP, RealProcessing
from tests.integration.test_http_payment import REQUEST, card_form
from tests.racing import ONE_AND_TWO_NODES, browser, nodes


@ONE_AND_TWO_NODES
async def test_twenty_concurrent_submissions_make_one_payment_and_one_hold(
    postgres_url: str, keyring: KeyRing, real_processing: RealProcessing, node_count: int
) -> None:
    async with nodes(postgres_url, keyring, node_count, real_processing.simulator) as gateways:
        database = gateways[0].uow_factory
        await add_merchant(MERCHANT, database, actor=SETUP)
        async with browser(gateways) as client:
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
            transactions = await uow.transactions.of_order(order.id)
    assert order.state.value == "Approved"
    assert [p.status.value for p in payments] == ["success"]
    assert [t.kind.value for t in transactions] == ["authorization", "financial"]
    holds = await real_processing.simulator.ledger.holds()
    assert len(holds) == 1 and holds[0].amount.minor == 10000
    assert holds[0].terminal_id == transactions[0].terminal_id
