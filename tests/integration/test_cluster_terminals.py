"""Two nodes on one database, each signed on to the simulator as a terminal leased from the
pool: what follows an authorization goes under the authorization's terminal whichever node
sends it, a batch with advices of both terminals is accepted terminal by terminal, and the
books reconcile with the bank's to the cent."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from demobank import Simulator
from ips.crypto.keyring import KeyRing
from ips.domain.settlement import BatchStatus
from ips.domain.states import OrderState
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.janitor import sweep
from ips.services.merchants import SignedIn, add_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.reconciliation import reconcile
from ips.services.settlement import settle
from ips.services.terminals import Pool, Terminal
from ips.storage.database import create_engine
from ips.storage.unit_of_work import Database
from tests.banks import bank_figures
from tests.conftest import MERCHANT, SETUP
from tests.integration.test_payment_service import card

SHOP = SignedIn("111111")
UNANSWERED = "4000000000000119"


@dataclasses.dataclass
class Cluster:
    simulator: Simulator
    nodes: list[Gateway]
    store: Path

    async def differences(self) -> list[str]:
        bank = await bank_figures(self.store)
        return [str(d) for d in await reconcile(self.nodes[0].uow_factory, bank)]


@pytest.fixture
async def cluster(
    database_url: str, database: Database, keyring: KeyRing, tmp_path: Path
) -> AsyncIterator[Cluster]:
    store = tmp_path / "bank.sqlite3"
    async with Simulator(store) as simulator:
        other = Database(create_engine(database_url), keyring)
        nodes, links = [], []
        for db in (database, other):
            terminal = await Terminal.lease(db, Pool())
            link = Iso8583ProcessingCenter(
                "127.0.0.1", simulator.port, terminal_id=terminal.id, acquirer_id="1", timeout=1.0
            )
            links.append(link)
            nodes.append(Gateway(db, link, keyring, terminal=terminal))
        await add_merchant(MERCHANT, database, actor=SETUP)
        try:
            yield Cluster(simulator, nodes, store)
        finally:
            for link in links:
                await link.close()
            for node in nodes:
                await node.terminal.stop(node.uow_factory)
            await other.dispose()


async def paid(node: Gateway, ordernumber: str, number: str = "4111111111111111") -> str:
    order = await create_order(
        CreateOrder("111111", ordernumber, "100.00", "RUB", delay=True), node
    )
    await pay_by_card(PayByCard(order.billnumber, card(number)), node)
    return order.billnumber


async def test_two_nodes_pay_cancel_settle_and_reconcile_under_their_terminals(
    cluster: Cluster,
) -> None:
    one, other = cluster.nodes
    assert (one.terminal.id, other.terminal.id) == ("IPS00001", "IPS00002")
    first = await paid(one, "A")
    second = await paid(other, "B")

    # the other node cancels part of the first node's hold and confirms the rest of it
    await cancel(Cancel(first, "30.00", "RUB"), SHOP, other)
    await confirm(Confirm(first, "70.00", "RUB"), SHOP, other)
    await confirm(Confirm(second, "100.00", "RUB"), SHOP, one)
    assert await cluster.differences() == []

    [report] = await settle(other)
    assert report.batch.status is BatchStatus.ACCEPTED
    ledger = cluster.simulator.ledger
    parts = [await ledger.batch(t, report.batch.id or 0) for t in ("IPS00001", "IPS00002")]
    assert [(p.terminal_id, p.debits, p.debit_total.minor) for p in parts if p] == [
        ("IPS00001", 1, 70_00),
        ("IPS00002", 1, 100_00),
    ]
    assert await cluster.differences() == []

    await cancel(Cancel(first), SHOP, one)  # a refund, settled by the node that made it
    [refunds] = await settle(one)
    assert refunds.batch.status is BatchStatus.ACCEPTED
    assert await cluster.differences() == []
    balance = await ledger.balance("4111111111111111", "RUB")
    assert balance.minor == 100_000_000 - 100_00  # the first order refunded, the second paid


async def test_a_reversal_left_by_one_node_is_sent_by_the_others_janitor(
    cluster: Cluster,
) -> None:
    one, other = cluster.nodes
    lazy = dataclasses.replace(one, reversal_attempts=0)  # leaves its reversal to the janitor
    billnumber = await paid(lazy, "X", UNANSWERED)
    [hold] = await cluster.simulator.ledger.active_holds()
    assert (hold.terminal_id, hold.released.minor) == ("IPS00001", 0)

    later = dataclasses.replace(other, clock=lambda: datetime.now(UTC) + timedelta(minutes=1))
    acted = await sweep(later, stale_after=timedelta(seconds=30))

    assert acted == 1
    assert await cluster.simulator.ledger.active_holds() == []
    assert await cluster.differences() == []
    async with other.uow_factory(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
    assert order is not None and order.state is OrderState.DECLINED
