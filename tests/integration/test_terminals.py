"""Terminals on a real database: leases of the pool's ids, taken over when they run out, and
STANs counted per terminal and day, taken as the transmission is stored — on two nodes at once
on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select, text

from ips.crypto.keyring import KeyRing
from ips.domain.errors import Refused
from ips.domain.orders import Order
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchants import SignedIn, add_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.settlement import settle
from ips.services.terminals import LEASE, NoFreeTerminal, Pool, Terminal
from ips.storage.database import create_engine
from ips.storage.migrate import migrate
from ips.storage.tables import terminal_stans, transactions
from ips.storage.unit_of_work import Database
from tests.conftest import MERCHANT, SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_payment_service import card

SHOP = SignedIn("111111")


async def new_order(gateway: Gateway, ordernumber: str) -> Order:
    """An order paid in two stages: its payment is an authorization alone."""
    return await create_order(
        CreateOrder("111111", ordernumber, "100.00", "RUB", delay=True), gateway
    )


async def no_wait(seconds: float) -> None:
    pass


async def test_a_second_node_leases_another_id_and_a_stopped_node_gives_its_back(
    database: Database, clock: ManualClock
) -> None:
    first = await Terminal.lease(database, Pool(), clock=clock, owner="node a")
    second = await Terminal.lease(database, Pool(), clock=clock, owner="node b")
    assert (first.id, second.id) == ("IPS00001", "IPS00002")  # the pool grew by one

    await first.stop(database)
    third = await Terminal.lease(database, Pool(), clock=clock, owner="node c")
    assert third.id == "IPS00001"
    async with database(readonly=True) as uow:
        leases = {lease.terminal_id: lease.owner for lease in await uow.terminals.all()}
    assert leases == {"IPS00001": "node c", "IPS00002": "node b"}


async def test_a_fixed_pool_is_leased_in_order_and_refused_when_all_are_held(
    database: Database, clock: ManualClock
) -> None:
    pool = Pool("T2", ("T1", "T2"))
    leased = [
        (await Terminal.lease(database, pool, clock=clock, owner=f"node {n}")).id for n in "ab"
    ]
    assert leased == ["T2", "T1"]  # the wanted one first, then the pool's first free

    waits: list[float] = []

    async def wait(seconds: float) -> None:
        """Time passes while the nodes holding the pool live on."""
        waits.append(seconds)
        clock.advance(seconds=seconds)
        async with database() as uow:
            for terminal_id, owner in zip(leased, ("node a", "node b"), strict=True):
                assert await uow.terminals.renew(terminal_id, owner, clock() + LEASE)
            await uow.commit()

    with pytest.raises(NoFreeTerminal, match=r"T1 by node b until .*; T2 by node a until"):
        await Terminal.lease(database, pool, clock=clock, owner="node c", sleep=wait)
    assert sum(waits) >= (2 * LEASE).total_seconds()  # it waited for a lease to run out
    clock.advance(seconds=LEASE.total_seconds())  # node b dies: its lease runs out
    async with database() as uow:
        assert await uow.terminals.renew("T2", "node a", clock() + LEASE)
        await uow.commit()
    taken_over = await Terminal.lease(database, pool, clock=clock, owner="node c", sleep=wait)
    assert taken_over.id == "T1"


async def test_a_lease_not_renewed_is_taken_over_and_its_node_moves_to_another_id(
    database: Database, clock: ManualClock
) -> None:
    paused = await Terminal.lease(database, Pool(), clock=clock, owner="paused node")
    clock.advance(seconds=LEASE.total_seconds())
    successor = await Terminal.lease(database, Pool(), clock=clock, owner="successor")
    assert successor.id == paused.id == "IPS00001"

    signed_on: list[str] = []

    async def sign_on_as(terminal_id: str) -> None:
        signed_on.append(terminal_id)

    await paused.renew(database, Pool(), sign_on_as, clock)
    assert paused.id == "IPS00002" and signed_on == ["IPS00002"]
    await successor.renew(database, Pool(), sign_on_as, clock)
    assert successor.id == "IPS00001" and signed_on == ["IPS00002"]  # still its own


async def test_a_lease_renewed_in_time_is_not_taken_over(
    database: Database, clock: ManualClock
) -> None:
    live = await Terminal.lease(database, Pool(), clock=clock, owner="live node")
    for _ in range(5):
        clock.advance(seconds=LEASE.total_seconds() / 2)
        await live.renew(database, Pool(), no_sign_on, clock)
    other = await Terminal.lease(database, Pool(), clock=clock, owner="other node")
    assert (live.id, other.id) == ("IPS00001", "IPS00002")


async def no_sign_on(terminal_id: str) -> None:
    raise AssertionError("no new sign-on expected")


async def test_nodes_starting_at_once_lease_distinct_ids(
    postgres_url: str, keyring: KeyRing, clock: ManualClock
) -> None:
    databases = [Database(create_engine(postgres_url), keyring) for _ in range(8)]
    try:
        terminals = await asyncio.gather(
            *(
                Terminal.lease(db, Pool(), clock=clock, owner=f"node {n}", sleep=no_wait)
                for n, db in enumerate(databases)
            )
        )
    finally:
        for db in databases:
            await db.dispose()
    assert sorted(t.id for t in terminals) == [f"IPS0000{n}" for n in range(1, 9)]


@pytest.fixture
async def nodes(
    database_url: str, database: Database, keyring: KeyRing, clock: ManualClock
) -> AsyncIterator[Callable[[str], Gateway]]:
    """Gateways of nodes on one database, each its own engine and terminal, one processing
    center."""
    processing = FakeProcessingCenter()
    made: list[Database] = []

    def node(terminal_id: str) -> Gateway:
        db = Database(create_engine(database_url), keyring)
        made.append(db)
        return Gateway(db, processing, keyring, clock=clock, terminal=Terminal(terminal_id))

    await add_merchant(MERCHANT, database, clock, actor=SETUP)
    yield node
    for db in made:
        await db.dispose()


async def recorded(database: Database) -> list[tuple[str, str | None, int | None, date | None]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            select(
                transactions.c.kind,
                transactions.c.terminal_id,
                transactions.c.stan,
                transactions.c.stan_day,
            ).order_by(transactions.c.id)
        )
        return [tuple(row) for row in rows]


async def test_each_node_counts_its_terminals_stans_by_day(
    nodes: Callable[[str], Gateway], database: Database, clock: ManualClock
) -> None:
    clock.now = datetime(2026, 12, 1, 23, 59, 58, tzinfo=UTC)
    one, other = nodes("T1"), nodes("T2")
    for n, gateway in enumerate([one, other, one, other, one]):
        order = await new_order(gateway, f"N-{n}")
        await pay_by_card(PayByCard(order.billnumber, card()), gateway)
    clock.advance(seconds=2)  # midnight: a new day, a new count
    order = await new_order(one, "N-next-day")
    await pay_by_card(PayByCard(order.billnumber, card()), one)

    today, tomorrow = date(2026, 12, 1), date(2026, 12, 2)
    assert await recorded(database) == [
        ("authorization", "T1", 1, today),
        ("authorization", "T2", 1, today),
        ("authorization", "T1", 2, today),
        ("authorization", "T2", 2, today),
        ("authorization", "T1", 3, today),
        ("authorization", "T1", 1, tomorrow),
    ]
    processing = one.processing
    assert isinstance(processing, FakeProcessingCenter)
    sent = [(a.id.terminal_id, a.id.stan) for a in processing.authorizations]
    assert sent == [("T1", 1), ("T2", 1), ("T1", 2), ("T2", 2), ("T1", 3), ("T1", 1)]


async def test_what_follows_an_authorization_goes_under_its_terminal(
    nodes: Callable[[str], Gateway], database: Database, clock: ManualClock
) -> None:
    """Node T1 authorizes; node T2 cancels part of the hold, confirms the rest and settles:
    the reversal and the debit go under T1, with STANs of T1's count."""
    authorizing, other = nodes("T1"), nodes("T2")
    order = await new_order(authorizing, "D-1")
    await pay_by_card(PayByCard(order.billnumber, card()), authorizing)
    await cancel(Cancel(order.billnumber, "30.00", "RUB"), SHOP, other)
    await confirm(Confirm(order.billnumber, "70.00", "RUB"), SHOP, other)
    await settle(other)

    assert await recorded(database) == [
        ("authorization", "T1", 1, clock().date()),
        ("reversal", "T1", 2, clock().date()),
        ("financial", "T1", 3, clock().date()),
    ]
    processing = other.processing
    assert isinstance(processing, FakeProcessingCenter)
    [reversal] = processing.reversals
    assert (reversal.id.terminal_id, reversal.id.stan) == ("T1", 2)
    assert (reversal.original.terminal_id, reversal.original.stan) == ("T1", 1)
    [[advice]] = [list(staged.values()) for staged in processing.staged.values()]
    assert (advice.id.terminal_id, advice.original.terminal_id) == ("T1", "T1")
    [close] = processing.closes
    assert close.id.terminal_id == "T1"  # the batch's only terminal, not the sender's


async def test_payments_at_once_on_two_nodes_take_each_stan_once(
    postgres_url: str, keyring: KeyRing, clock: ManualClock
) -> None:
    processing = FakeProcessingCenter()
    databases = [Database(create_engine(postgres_url), keyring) for _ in range(2)]
    one, other = (
        Gateway(db, processing, keyring, clock=clock, terminal=Terminal(t))
        for db, t in zip(databases, ("T1", "T2"), strict=True)
    )
    await add_merchant(MERCHANT, databases[0], clock, actor=SETUP)
    orders: list[tuple[Gateway, Order]] = [
        (gateway, await new_order(gateway, f"P-{n}"))
        for n in range(40)
        for gateway in [one if n % 2 else other]
    ]
    try:
        await asyncio.gather(
            *(pay_by_card(PayByCard(o.billnumber, card()), gateway) for gateway, o in orders)
        )
        # and a node's payments with reversals of the other's, all at once
        more = [await new_order(one, f"Q-{n}") for n in range(10)]
        await asyncio.gather(
            *(cancel(Cancel(o.billnumber, "10.00", "RUB"), SHOP, one) for _, o in orders[:10]),
            *(pay_by_card(PayByCard(o.billnumber, card()), one) for o in more),
        )
        rows = await recorded(databases[0])
        async with databases[0].engine.connect() as conn:
            counts = dict(
                tuple(row)
                for row in await conn.execute(
                    select(terminal_stans.c.terminal_id, terminal_stans.c.last)
                )
            )
    finally:
        for db in databases:
            await db.dispose()
    stans: dict[str, list[int]] = {"T1": [], "T2": []}
    for kind, terminal, stan, _ in rows:
        assert terminal is not None and stan is not None, kind
        stans[terminal].append(stan)
    assert sorted(stans["T1"]) == list(range(1, len(stans["T1"]) + 1))
    assert sorted(stans["T2"]) == list(range(1, len(stans["T2"]) + 1))
    assert counts == {"T1": len(stans["T1"]), "T2": len(stans["T2"])}
    assert len(rows) == 40 + 10 + 10


async def test_transactions_sent_before_0013_keep_their_terminal_and_stan(
    database_url: str, keyring: KeyRing
) -> None:
    """Migration 0013 writes down what went out before it: the one terminal, a STAN that
    followed from the id; today's count of that terminal goes on after those used today."""
    engine = create_engine(database_url)
    await migrate(engine, "base", down=True)
    await migrate(engine, "0012")
    now = datetime.now(UTC).replace(tzinfo=None)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO merchants (merchant_id, name, login, password_hash,"
                " sealed_secret_word, default_currency, double_stage, callback_url,"
                " require_checkvalue, created_at) VALUES ('1', 'Shop', 'l', 'h', 's', 'RUB',"
                " true, '', false, :now)"
            ),
            {"now": now},
        )
        await conn.execute(
            text(
                "INSERT INTO orders (id, billnumber, merchant_id, ordernumber, amount_minor,"
                " currency, state, delay, language, comment, buyer, url_return, url_return_ok,"
                " url_return_no, holds_ordernumber, created_at, updated_at) VALUES (1, '1', '1',"
                " 'N', 500, 'RUB', 'In Process', false, 'RU', '', '{}', '', '', '', true, :now,"
                " :now)"
            ),
            {"now": now},
        )
        await conn.execute(
            text(
                "INSERT INTO operations (id, order_id, number, kind, status, amount_minor,"
                " currency, means, client_ip, approval_code, created_at) VALUES (1, 1, 1, '100',"
                " 'in_process', 500, 'RUB', 'card', '', '', :now)"
            ),
            {"now": now},
        )
        for id_, kind, transmitted in (
            (41, "authorization", now),
            (42, "authentication", now),
            (43, "financial", None),
        ):
            await conn.execute(
                text(
                    "INSERT INTO transactions (id, order_id, operation_id, kind, status,"
                    " amount_minor, currency, transmitted_at, response, approval_code, attempts,"
                    " created_at, updated_at) VALUES (:id, 1, 1, :kind, :status, 500, 'RUB',"
                    " :transmitted, '', '', 1, :now, :now)"
                ),
                {
                    "id": id_,
                    "kind": kind,
                    "status": "sent" if transmitted else "created",
                    "transmitted": transmitted,
                    "now": now,
                },
            )
    await migrate(engine, "head")
    database = Database(engine, keyring)
    try:
        assert await recorded(database) == [
            ("authorization", "IPS00001", 42, None),
            ("authentication", None, None, None),
            ("financial", "IPS00001", None, None),
        ]
        async with database() as uow:
            [leased] = await uow.terminals.all()
            financial = await uow.transactions.get(43)
            assert financial is not None
            financial.mark_sent(datetime.now(UTC))
            await uow.transactions.save(financial)
            await uow.commit()
        assert leased.terminal_id == "IPS00001" and leased.owner is None
        assert financial.stan == 43  # today's count went on after the 42 used today
        await migrate(engine, "0012", down=True)
        await migrate(engine, "head")
    finally:
        await database.dispose()


async def test_a_terminal_past_its_last_stan_of_the_day_sends_nothing(
    nodes: Callable[[str], Gateway], database: Database, clock: ManualClock
) -> None:
    node = nodes("T1")
    async with database.engine.begin() as conn:
        await conn.execute(
            insert(terminal_stans).values(terminal_id="T1", day=clock().date(), last=999_998)
        )
    last = await new_order(node, "L-1")
    await pay_by_card(PayByCard(last.billnumber, card()), node)
    over = await new_order(node, "L-2")
    with pytest.raises(Refused, match="used every STAN"):
        await pay_by_card(PayByCard(over.billnumber, card()), node)

    processing = node.processing
    assert isinstance(processing, FakeProcessingCenter)
    assert [a.id.stan for a in processing.authorizations] == [999_999]
    assert [row[2] for row in await recorded(database)] == [999_999]
