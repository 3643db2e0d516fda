"""Background jobs on two nodes: two ``Gateway``s on two engines of one PostgreSQL database,
each with its own ISO 8583 link to the real simulator, racing the same work. The simulator
counts what it received, by MTI, and keeps its own books."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ips.config import Settings
from ips.crypto.keyring import KeyRing
from ips.domain.errors import Conflict
from ips.domain.money import currency
from ips.domain.settlement import BatchStatus, SettlementBatch
from ips.domain.states import OrderState
from ips.processing.iso8583.client import Iso8583ProcessingCenter
from ips.processing.port import Answer, FinancialAdvice, NoAnswer, ProcessingCenter, ReversalRequest
from ips.services import janitor
from ips.services.cancellations import Cancel, cancel
from ips.services.claims import LEASE
from ips.services.gateway import Gateway
from ips.services.merchants import SignedIn, add_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.settlement import settle, settle_if_due
from ips.storage.database import create_engine
from ips.storage.tables import events, settlement_batches, transactions
from ips.storage.unit_of_work import Database
from tests.conftest import MERCHANT, SETUP, RealProcessing
from tests.fakes import SILENT, FakeProcessingCenter, ManualClock
from tests.integration.test_money_operations import paid_order
from tests.integration.test_payment_service import card
from tests.integration.test_settlement_real import differences

SHOP = SignedIn("111111")
CUTOFF = time(23, 0)
BEFORE_CUTOFF = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
AT_CUTOFF = datetime(2026, 12, 1, 23, 0, 5, tzinfo=UTC)


@dataclass
class Node:
    database: Database
    gateway: Gateway


@asynccontextmanager
async def two_nodes(
    postgres_url: str,
    keyring: KeyRing,
    real_processing: RealProcessing,
    clock: ManualClock,
    links: tuple[ProcessingCenter | None, ProcessingCenter | None] = (None, None),
) -> AsyncIterator[tuple[Node, Node]]:
    """Two nodes on one database, with one clock; each its own link to the simulator unless
    ``links`` gives one."""
    made: list[Node] = []
    clients: list[Iso8583ProcessingCenter] = []
    for given in links:
        link = given
        if link is None:
            client = Iso8583ProcessingCenter(
                "127.0.0.1",
                real_processing.simulator.port,
                terminal_id=Settings().terminal_id,
                acquirer_id=Settings().acquirer_id,
                timeout=1.0,
            )
            await client.start()
            clients.append(client)
            link = client
        database = Database(create_engine(postgres_url), keyring)
        made.append(Node(database, Gateway(database, link, keyring, clock=clock)))
    async with made[0].database(readonly=True) as uow:
        known = await uow.merchants.get(MERCHANT.merchant_id)
    if known is None:
        await add_merchant(MERCHANT, made[0].database, clock, actor=SETUP)
    try:
        yield made[0], made[1]
    finally:
        for client in clients:
            await client.close()
        for node in made:
            await node.database.dispose()


async def charge(node: Node, ordernumber: str, amount: str, currency: str) -> None:
    order = await create_order(CreateOrder("111111", ordernumber, amount, currency), node.gateway)
    paid = await pay_by_card(PayByCard(order.billnumber, card()), node.gateway)
    assert paid.order.state is OrderState.APPROVED


async def charge_several(a: Node, b: Node) -> int:
    """Five charges, made on both nodes, in two currencies; how many."""
    await charge(a, "R-1", "10.00", "RUB")
    await charge(b, "R-2", "20.00", "RUB")
    await charge(a, "R-3", "30.00", "RUB")
    await charge(b, "U-1", "1.50", "USD")
    await charge(a, "U-2", "2.50", "USD")
    return 5


async def batches(database: Database) -> list[tuple[str, str, date | None, int]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            select(
                settlement_batches.c.currency,
                settlement_batches.c.status,
                settlement_batches.c.period,
                settlement_batches.c.debits,
            ).order_by(settlement_batches.c.currency, settlement_batches.c.id)
        )
        return [(row.currency, row.status, row.period, row.debits) for row in rows]


async def the_books_agree(
    database: Database, real_processing: RealProcessing, tmp_path: Path, charges: int
) -> None:
    """Every charge was advised once, each batch closed once and accepted, and the
    simulator's books are IPS's."""
    received = real_processing.simulator.received
    ours = await batches(database)
    assert all(status == BatchStatus.ACCEPTED.value for _, status, _, _ in ours)
    assert sum(debits for *_, debits in ours) == charges
    assert received["0500"] == len(ours)
    ledger = real_processing.simulator.ledger
    assert len(await ledger.postings()) == charges
    assert len(await ledger.staged()) == 0
    assert [b.status for b in await ledger.batches()] == ["accepted"] * len(ours)
    gateway = Gateway(database, real_processing.client, database.keyring)
    assert await differences(gateway, tmp_path / "processing-center.sqlite3") == []


async def test_two_nodes_at_the_cutoff_send_each_advice_and_close_each_batch_once(
    postgres_url: str,
    keyring: KeyRing,
    real_processing: RealProcessing,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    clock.now = BEFORE_CUTOFF
    async with two_nodes(postgres_url, keyring, real_processing, clock) as (a, b):
        charges = await charge_several(a, b)
        assert await settle_if_due(a.gateway, CUTOFF) == []  # not due yet
        clock.now = AT_CUTOFF

        reports = await asyncio.gather(
            settle_if_due(a.gateway, CUTOFF), settle_if_due(b.gateway, CUTOFF)
        )

        sent = [report.batch for found in reports for report in found]
        assert sorted(batch.currency.code for batch in sent) == ["RUB", "USD"]
        assert all(batch.status is BatchStatus.ACCEPTED for batch in sent)
        received = real_processing.simulator.received
        assert (received["0220"], received["0221"], received["0500"]) == (charges, 0, 2)
        assert await batches(a.database) == [
            ("RUB", "accepted", date(2026, 12, 1), 3),
            ("USD", "accepted", date(2026, 12, 1), 2),
        ]
        await the_books_agree(a.database, real_processing, tmp_path, charges)

        clock.advance(minutes=5)  # the next ticks of both schedules: the period is closed
        await charge(b, "R-4", "40.00", "RUB")
        again = await asyncio.gather(
            settle_if_due(a.gateway, CUTOFF), settle_if_due(b.gateway, CUTOFF)
        )
        assert list(again) == [[], []]
        assert received["0500"] == 2


async def test_ips_settle_racing_a_worker_sends_everything_once(
    postgres_url: str,
    keyring: KeyRing,
    real_processing: RealProcessing,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """``ips settle`` (``settlement.settle``, closing by hand) on one node while the other
    node's schedule closes the period."""
    clock.now = BEFORE_CUTOFF
    async with two_nodes(postgres_url, keyring, real_processing, clock) as (a, b):
        charges = await charge_several(a, b)
        clock.now = AT_CUTOFF

        await asyncio.gather(settle(a.gateway), settle_if_due(b.gateway, CUTOFF))

        received = real_processing.simulator.received
        assert (received["0220"], received["0221"]) == (charges, 0)
        await the_books_agree(a.database, real_processing, tmp_path, charges)
        assert await settle(a.gateway) == []  # nothing left, nothing sent again
        assert received["0500"] == len(await batches(a.database))


class DiesWhileAdvising:
    """A node's link that sends ``advices`` advices, then never returns: the node died
    with its batch claimed."""

    def __init__(self, link: ProcessingCenter, advices: int) -> None:
        self._link = link
        self._left = advices
        self.stuck = asyncio.Event()

    async def authorize(self, request: object) -> Answer:
        raise AssertionError("this node only settles")

    async def reverse(self, request: ReversalRequest) -> Answer:
        raise AssertionError("this node only settles")

    async def advise(self, advice: FinancialAdvice) -> Answer:
        if self._left == 0:
            self.stuck.set()
            await asyncio.Event().wait()
        self._left -= 1
        return await self._link.advise(advice)

    async def close_batch(self, totals: object) -> Answer:
        raise AssertionError("the node died before")


async def test_a_batch_whose_sender_died_is_resumed_by_another_node_after_its_lease(
    postgres_url: str,
    keyring: KeyRing,
    real_processing: RealProcessing,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    clock.now = BEFORE_CUTOFF
    dying = DiesWhileAdvising(real_processing.client, advices=2)
    async with two_nodes(postgres_url, keyring, real_processing, clock) as (maker, _):
        charges = await charge_several(maker, maker)
    async with two_nodes(postgres_url, keyring, real_processing, clock, links=(dying, None)) as (
        a,
        b,
    ):
        clock.now = AT_CUTOFF
        sending = asyncio.create_task(settle_if_due(a.gateway, CUTOFF))
        await dying.stuck.wait()
        sending.cancel()  # the node is gone; its claim stays
        with pytest.raises(asyncio.CancelledError):
            await sending
        received = real_processing.simulator.received
        assert (received["0220"], received["0500"]) == (2, 0)

        clock.advance(seconds=LEASE.total_seconds() - 1)
        assert await settle_if_due(b.gateway, CUTOFF) != []  # the other batch only
        assert (received["0220"] + received["0221"], received["0500"]) == (2 + 2, 1)

        clock.advance(seconds=1)
        [resumed] = await settle_if_due(b.gateway, CUTOFF)
        assert resumed.batch.status is BatchStatus.ACCEPTED
        assert received["0500"] == 2
        assert received["0221"] == 3 + 0  # the dead node's batch, again, all as repeats
        await the_books_agree(a.database, real_processing, tmp_path, charges)


class LosesReversals:
    """A link on which every reversal goes out and its answer is lost."""

    def __init__(self, link: ProcessingCenter) -> None:
        self._link = link
        self.lost = 0

    async def authorize(self, request: object) -> Answer:
        return await self._link.authorize(request)  # type: ignore[arg-type]

    async def reverse(self, request: ReversalRequest) -> Answer:
        self.lost += 1
        raise NoAnswer("lost on the way")

    async def advise(self, advice: FinancialAdvice) -> Answer:
        return await self._link.advise(advice)

    async def close_batch(self, totals: object) -> Answer:
        return await self._link.close_batch(totals)  # type: ignore[arg-type]


async def test_two_janitors_send_each_repeat_of_a_reversal_once(
    postgres_url: str,
    keyring: KeyRing,
    real_processing: RealProcessing,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    shop_link = LosesReversals(real_processing.client)
    async with two_nodes(
        postgres_url, keyring, real_processing, clock, links=(shop_link, None)
    ) as (shop, _):
        held = []
        for number in range(6):
            order = await create_order(
                CreateOrder("111111", f"H-{number}", "10.00", "RUB", delay=True), shop.gateway
            )
            await pay_by_card(PayByCard(order.billnumber, card()), shop.gateway)
            held.append(order.billnumber)
        for billnumber in held:
            await cancel(Cancel(billnumber), SHOP, shop.gateway)
        assert shop_link.lost == 6
    async with two_nodes(postgres_url, keyring, real_processing, clock) as (a, b):
        stale = timedelta(minutes=1)
        clock.advance(minutes=2)

        acted = await asyncio.gather(
            janitor.sweep(a.gateway, stale_after=stale), janitor.sweep(b.gateway, stale_after=stale)
        )

        received = real_processing.simulator.received
        assert (received["0400"], received["0401"]) == (0, 6)
        assert sum(acted) == 6
        assert await real_processing.simulator.ledger.active_holds() == []
        async with a.database.engine.connect() as conn:
            statuses = await conn.execute(
                select(transactions.c.status, func.count())
                .where(transactions.c.kind == "reversal")
                .group_by(transactions.c.status)
            )
            assert dict(statuses.all()) == {"approved": 6}
        again = await asyncio.gather(
            janitor.sweep(a.gateway, stale_after=stale), janitor.sweep(b.gateway, stale_after=stale)
        )
        assert list(again) == [0, 0]
        assert received["0401"] == 6
        assert await differences(a.gateway, tmp_path / "processing-center.sqlite3") == []


async def test_two_nodes_expire_each_order_and_release_each_hold_once(
    postgres_url: str,
    keyring: KeyRing,
    real_processing: RealProcessing,
    clock: ManualClock,
) -> None:
    async with two_nodes(postgres_url, keyring, real_processing, clock) as (a, b):
        for number in range(8):
            await create_order(CreateOrder("111111", f"T-{number}", "5.00"), a.gateway)
        for number in range(6):
            order = await create_order(
                CreateOrder("111111", f"D-{number}", "10.00", "RUB", delay=True), b.gateway
            )
            await pay_by_card(PayByCard(order.billnumber, card()), b.gateway)
        clock.advance(days=8)

        expired = await asyncio.gather(
            janitor.expire_orders(a.gateway), janitor.expire_orders(b.gateway)
        )
        released = await asyncio.gather(
            janitor.release_expired_holds(a.gateway), janitor.release_expired_holds(b.gateway)
        )

        assert sum(expired) == 8
        assert sum(released) == 6
        received = real_processing.simulator.received
        assert (received["0400"], received["0401"]) == (6, 0)
        assert await real_processing.simulator.ledger.active_holds() == []
        async with a.database.engine.connect() as conn:
            changes = await conn.execute(
                select(events.c.new, func.count())
                .where(events.c.entity == "order", events.c.new.in_(["Timeout", "Canceled"]))
                .group_by(events.c.new)
            )
            assert dict(changes.all()) == {"Timeout": 8, "Canceled": 6}


async def test_an_order_locked_elsewhere_holds_up_neither_expiry_nor_hold_release(
    postgres_url: str,
    keyring: KeyRing,
    real_processing: RealProcessing,
    clock: ManualClock,
) -> None:
    """A shop's confirmation (or another node) holding one order's lock: the janitor passes
    it by and does the rest, instead of waiting for it."""
    async with two_nodes(postgres_url, keyring, real_processing, clock) as (a, _):
        unpaid = [
            await create_order(CreateOrder("111111", f"T-{n}", "5.00"), a.gateway) for n in range(2)
        ]
        held = []
        for number in range(2):
            order = await create_order(
                CreateOrder("111111", f"D-{number}", "10.00", "RUB", delay=True), a.gateway
            )
            held.append((await pay_by_card(PayByCard(order.billnumber, card()), a.gateway)).order)
        clock.advance(days=8)
        async with a.database.engine.connect() as other:
            await other.execute(
                text("SELECT id FROM orders WHERE id IN (:unpaid, :held) FOR UPDATE"),
                {"unpaid": unpaid[0].id, "held": held[0].id},
            )
            assert await asyncio.wait_for(janitor.expire_orders(a.gateway), 30) == 1
            assert await asyncio.wait_for(janitor.release_expired_holds(a.gateway), 30) == 1
            await other.rollback()
        assert await janitor.expire_orders(a.gateway) == 1
        assert await janitor.release_expired_holds(a.gateway) == 1
        assert real_processing.simulator.received["0400"] == 2


# The same claims on either database (SQLite runs one process; its writers queue).


async def test_a_period_has_one_batch_per_currency(database: Database, clock: ManualClock) -> None:
    async def close(code: str, period: date | None) -> None:
        async with database() as uow:
            await uow.batches.add(SettlementBatch(currency(code), clock(), period=period))
            await uow.commit()

    december = date(2026, 12, 1)
    for code, period in (("RUB", december), ("USD", december), ("RUB", None), ("RUB", None)):
        await close(code, period)
    with pytest.raises(Conflict):
        await close("RUB", december)


@pytest.mark.usefixtures("merchant")
async def test_a_batch_claimed_by_a_dead_sender_waits_for_its_lease(
    gateway: Gateway, database: Database, clock: ManualClock, fake_processing: FakeProcessingCenter
) -> None:
    clock.now = BEFORE_CUTOFF
    await paid_order(gateway)
    clock.now = AT_CUTOFF
    dying = DiesWhileAdvising(fake_processing, advices=0)
    dead = Gateway(database, dying, database.keyring, clock=clock)
    sending = asyncio.create_task(settle_if_due(dead, CUTOFF))
    await dying.stuck.wait()
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending

    assert await settle_if_due(gateway, CUTOFF) == []
    assert await settle(gateway) == []
    clock.advance(seconds=LEASE.total_seconds())
    [report] = await settle_if_due(gateway, CUTOFF)
    assert report.batch.status is BatchStatus.ACCEPTED and report.batch.attempts == 2
    assert len(fake_processing.closes) == 1 and len(fake_processing.posted) == 1


class StallsReversals:
    """A janitor's link that sends a reversal and waits for its answer for ever."""

    def __init__(self, link: FakeProcessingCenter) -> None:
        self.link = link
        self.stuck = asyncio.Event()

    async def reverse(self, request: ReversalRequest) -> Answer:
        self.link.reversals.append(request)
        self.stuck.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


@pytest.mark.usefixtures("merchant")
async def test_a_reversal_a_janitor_is_sending_is_passed_by_until_its_lease_ends(
    gateway: Gateway, database: Database, clock: ManualClock, fake_processing: FakeProcessingCenter
) -> None:
    order = await paid_order(gateway, delay=True)
    fake_processing.reversal_outcomes = [SILENT]
    await cancel(Cancel(order.billnumber), SHOP, gateway)
    clock.advance(minutes=2)
    stalling = StallsReversals(fake_processing)
    busy = Gateway(database, stalling, database.keyring, clock=clock)  # type: ignore[arg-type]
    sweeping = asyncio.create_task(janitor.sweep(busy, stale_after=timedelta(minutes=1)))
    await stalling.stuck.wait()

    assert await janitor.sweep(gateway, stale_after=timedelta(minutes=1)) == 0
    assert len(fake_processing.reversals) == 2  # the cancel's, and the stalled repeat
    sweeping.cancel()  # the node dies with its claim
    with pytest.raises(asyncio.CancelledError):
        await sweeping
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert await janitor.sweep(gateway, stale_after=timedelta(minutes=1)) == 0
    clock.advance(seconds=1)
    assert await janitor.sweep(gateway, stale_after=timedelta(minutes=1)) == 1
    assert [r.repeat for r in fake_processing.reversals] == [False, True, True]
    assert fake_processing.holds == {}
