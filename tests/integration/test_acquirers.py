"""Acquirers and routing on real storage, each acquirer a fake processing center: where a
merchant's payments go, what an acquirer refuses before any money moves, and that what
follows from an authorization goes to the acquirer that made it (two simulated banks as real
processes are in tests/e2e)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from ips.bootstrap import refresh_links
from ips.config import Settings
from ips.domain.acquirers import DEFAULT_ACQUIRER, Route, Rules
from ips.domain.cards import Brand
from ips.domain.errors import DomainError, NotFound, Refused
from ips.domain.money import currency
from ips.domain.orders import Order
from ips.domain.settlement import BatchStatus
from ips.domain.states import OrderState
from ips.processing.iso8583.client import Iso8583ProcessingCenter
from ips.services.acquirers import AcquirerSettings, add_acquirer, change_acquirer
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway, Link, Links
from ips.services.merchants import ChangeMerchant, SignedIn, change_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.reconciliation import expected_figures, reconcile_and_keep
from ips.services.settlement import settle
from ips.services.terminals import Terminal
from ips.storage.tables import transactions
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_payment_service import card

SHOP = SignedIn("111111")
MIR = "2200000000000004"
pytestmark = pytest.mark.usefixtures("merchant")


@pytest.fixture
def bank_b() -> FakeProcessingCenter:
    return FakeProcessingCenter()


@pytest.fixture
async def two_banks(gateway: Gateway, bank_b: FakeProcessingCenter) -> Gateway:
    """The gateway with BANK-B beside the default acquirer: stored, and connected."""
    added = await add_acquirer(
        "BANK-B", AcquirerSettings(processing="127.0.0.1:9583"), gateway.uow_factory
    )
    links = Links({"BANK-B": Link(added, bank_b, Terminal(added.terminal_id))})
    return dataclasses.replace(gateway, links=links)


async def route(gateway: Gateway, to: str, cur: str = "", brand: Brand | None = None) -> None:
    moved = Route(to, currency(cur) if cur else None, brand)
    await change_merchant("111111", ChangeMerchant(route=moved), gateway.uow_factory, actor=SETUP)


def with_rules(gateway: Gateway, **rules: object) -> Gateway:
    """The gateway whose BANK-B has those rules (as a node sees them after its next look)."""
    link = gateway.links.by_name["BANK-B"]
    changed = dataclasses.replace(link.acquirer.rules, **rules)  # type: ignore[arg-type]
    acquirer = dataclasses.replace(link.acquirer, rules=changed)
    links = Links({"BANK-B": dataclasses.replace(link, acquirer=acquirer)})
    return dataclasses.replace(gateway, links=links)


async def pay(
    gateway: Gateway, number: str, amount: str, cur: str = "RUB", *, delay: bool = False
) -> Order:
    order = await create_order(CreateOrder("111111", number, amount, cur, delay=delay), gateway)
    return (await pay_by_card(PayByCard(order.billnumber, card()), gateway)).order


async def acquirers_of(database: Database, order: Order) -> list[tuple[str, str | None, str]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            select(transactions.c.kind, transactions.c.acquirer, transactions.c.terminal_id)
            .where(transactions.c.order_id == order.id)
            .order_by(transactions.c.id)
        )
        return [tuple(row) for row in rows]


async def test_a_merchant_routed_by_currency_pays_each_currency_at_its_acquirer(
    two_banks: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    bank_b: FakeProcessingCenter,
) -> None:
    await route(two_banks, "BANK-B", "USD")
    rub = await pay(two_banks, "R-1", "10.00")
    usd = await pay(two_banks, "U-1", "10.00", "USD")
    assert rub.state is usd.state is OrderState.APPROVED
    assert [a.amount.currency.code for a in fake_processing.authorizations] == ["RUB"]
    assert [a.amount.currency.code for a in bank_b.authorizations] == ["USD"]
    assert await acquirers_of(database, rub) == [
        ("authorization", "default", "IPS00001"),
        ("financial", "default", "IPS00001"),
    ]
    assert await acquirers_of(database, usd) == [
        ("authorization", "BANK-B", "IPSA0001"),
        ("financial", "BANK-B", "IPSA0001"),
    ]


async def test_a_route_by_brand_takes_that_brand_only(
    two_banks: Gateway, fake_processing: FakeProcessingCenter, bank_b: FakeProcessingCenter
) -> None:
    await route(two_banks, "BANK-B", brand=Brand.MIR)
    order = await create_order(CreateOrder("111111", "M-1", "5.00"), two_banks)
    await pay_by_card(PayByCard(order.billnumber, card(MIR)), two_banks)
    await pay(two_banks, "V-1", "5.00")
    assert [a.card.pan.brand for a in bank_b.authorizations] == [Brand.MIR]
    assert [a.card.pan.brand for a in fake_processing.authorizations] == [Brand.VISA]


async def test_double_stage_is_refused_where_the_acquirer_takes_none_and_held_after_the_move(
    two_banks: Gateway, fake_processing: FakeProcessingCenter, bank_b: FakeProcessingCenter
) -> None:
    no_holds = with_rules(two_banks, double_stage=False)
    await route(no_holds, "BANK-B")
    with pytest.raises(Refused, match="does not take double-stage"):
        await create_order(CreateOrder("111111", "D-1", "5.00", delay=True), no_holds)
    await route(no_holds, DEFAULT_ACQUIRER)
    held = await pay(no_holds, "D-1", "5.00", delay=True)
    assert held.state is OrderState.DELAYED
    assert bank_b.authorizations == [] and len(fake_processing.authorizations) == 1


async def test_what_follows_an_authorization_goes_to_its_acquirer_after_the_merchant_moved(
    two_banks: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    bank_b: FakeProcessingCenter,
) -> None:
    await route(two_banks, "BANK-B")
    confirmed = await pay(two_banks, "H-1", "30.00", delay=True)
    cancelled = await pay(two_banks, "H-2", "20.00", delay=True)
    await route(two_banks, DEFAULT_ACQUIRER)

    await confirm(Confirm(confirmed.billnumber), SHOP, two_banks)
    await cancel(Cancel(cancelled.billnumber), SHOP, two_banks)
    [report] = await settle(two_banks)

    assert [r.amount.minor for r in bank_b.reversals] == [2000]
    assert report.batch.acquirer == "BANK-B" and report.batch.status is BatchStatus.ACCEPTED
    assert [a.amount.minor for a in bank_b.posted] == [3000]
    assert fake_processing.authorizations == []
    assert fake_processing.reversals == []
    assert fake_processing.closes == []
    kinds = await acquirers_of(database, cancelled)
    assert [(kind, acquirer) for kind, acquirer, _ in kinds] == [
        ("authorization", "BANK-B"),
        ("reversal", "BANK-B"),
    ]


async def test_settlement_batches_per_acquirer_and_one_acquirer_at_a_time(
    two_banks: Gateway, fake_processing: FakeProcessingCenter, bank_b: FakeProcessingCenter
) -> None:
    await pay(two_banks, "S-1", "10.00")
    await route(two_banks, "BANK-B")
    await pay(two_banks, "S-2", "25.00")
    await pay(two_banks, "S-3", "5.00")

    [of_b] = await settle(two_banks, "BANK-B")
    assert (of_b.batch.acquirer, of_b.batch.debits, of_b.batch.debit_total) == ("BANK-B", 2, 3000)
    assert fake_processing.closes == []
    [of_default] = await settle(two_banks)
    assert (of_default.batch.acquirer, of_default.batch.debit_total) == ("default", 1000)
    assert [c.debit_total for c in fake_processing.closes] == [1000]
    assert [c.debit_total for c in bank_b.closes] == [3000]


async def test_an_acquirer_disabled_or_not_connected_takes_no_new_payment(
    two_banks: Gateway, bank_b: FakeProcessingCenter
) -> None:
    await route(two_banks, "BANK-B")
    off = await change_acquirer("BANK-B", AcquirerSettings(disabled=True), two_banks.uow_factory)
    disabled = dataclasses.replace(
        two_banks,
        links=Links(
            {"BANK-B": dataclasses.replace(two_banks.links.by_name["BANK-B"], acquirer=off)}
        ),
    )
    with pytest.raises(Refused, match="takes no payments now"):
        await create_order(CreateOrder("111111", "X-1", "5.00"), disabled)
    with pytest.raises(Refused, match="not connected"):
        await create_order(
            CreateOrder("111111", "X-1", "5.00"), dataclasses.replace(two_banks, links=Links())
        )
    assert bank_b.authorizations == []


async def test_a_route_to_an_unknown_acquirer_is_refused_and_changes_nothing(
    two_banks: Gateway, database: Database
) -> None:
    await route(two_banks, "BANK-B", "USD")
    with pytest.raises(NotFound, match="no acquirer BANK-C"):
        await route(two_banks, "BANK-C")
    async with database(readonly=True) as uow:
        merchant = await uow.merchants.get("111111")
    assert merchant is not None
    assert merchant.routes == (Route("BANK-B", currency("USD")),)


async def test_acquirers_are_checked_as_they_are_added_and_changed(gateway: Gateway) -> None:
    factory = gateway.uow_factory
    first = await add_acquirer("BANK-A", AcquirerSettings(processing="bank-a:8583"), factory)
    second = await add_acquirer(
        "BANK-B",
        AcquirerSettings(processing="bank-b:8583", currencies="USD,EUR", double_stage=False),
        factory,
    )
    assert (first.terminal_id, second.terminal_id) == ("IPSA0001", "IPSB0001")
    assert second.rules == Rules(double_stage=False, currencies=(currency("USD"), currency("EUR")))
    for name, settings, message in [
        ("bank-a", AcquirerSettings(processing="x:1"), "exists"),
        ("default", AcquirerSettings(processing="x:1"), "acquirer of the settings"),
        ("BANK-C", AcquirerSettings(), "needs its processing center"),
        ("BANK-C", AcquirerSettings(processing="no-port"), "HOST:PORT"),
        ("BANK-C", AcquirerSettings(processing="x:1", terminal_id="IPSA0001"), "another"),
        ("BANK C", AcquirerSettings(processing="x:1"), "letters, digits"),
    ]:
        with pytest.raises(DomainError, match=message):
            await add_acquirer(name, settings, factory, taken_terminals=frozenset({"IPS00001"}))
    with pytest.raises(Refused, match="another"):
        await change_acquirer("BANK-B", AcquirerSettings(terminal_id="IPS00001"), factory,
                              taken_terminals=frozenset({"IPS00001"}))  # fmt: skip
    changed = await change_acquirer(
        "BANK-B", AcquirerSettings(double_stage=True, settlement_cutoff="21:30"), factory
    )
    assert changed.rules.double_stage and changed.settlement_cutoff.hour == 21
    async with gateway.uow_factory(readonly=True) as uow:
        assert await uow.acquirers.all() == [first, changed]


async def test_a_node_connects_to_an_added_acquirer_and_takes_its_changed_rules(
    database: Database,
) -> None:
    """What every node does every 10 seconds (``bootstrap.refresh_links``): an acquirer it
    cannot reach now is still linked, and its connection tried on its own."""
    settings = Settings(processing_timeout=1)
    links = Links()
    await add_acquirer("BANK-B", AcquirerSettings(processing="127.0.0.1:1"), database)
    await refresh_links(links, database, settings)
    link = links.by_name["BANK-B"]
    try:
        assert link.terminal.id == "IPSA0001" and link.acquirer.rules.double_stage
        await change_acquirer("BANK-B", AcquirerSettings(double_stage=False), database)
        await refresh_links(links, database, settings)
        again = links.by_name["BANK-B"]
        assert not again.acquirer.rules.double_stage
        assert again.processing is link.processing and again.terminal is link.terminal
        async with database(readonly=True) as uow:
            leases = {lease.terminal_id: lease.owner for lease in await uow.terminals.all()}
        assert leases["IPSA0001"] == link.terminal.owner
    finally:
        assert isinstance(link.processing, Iso8583ProcessingCenter)
        await link.processing.close()
        await link.terminal.stop(database)


async def test_differences_are_kept_per_acquirer_until_a_reconciliation_no_longer_finds_them(
    two_banks: Gateway, database: Database, clock: ManualClock
) -> None:
    await pay(two_banks, "K-1", "10.00")
    await route(two_banks, "BANK-B")
    await pay(two_banks, "K-2", "20.00")
    first = clock()
    [missing] = await reconcile_and_keep(database, {}, DEFAULT_ACQUIRER, first)
    assert (missing.what, missing.found_at) == ("no hold at the bank", first)
    clock.advance(hours=1)
    [again] = await reconcile_and_keep(database, {}, DEFAULT_ACQUIRER, clock())
    assert again.found_at == first
    [of_b] = await reconcile_and_keep(database, {}, "BANK-B", clock())
    assert of_b.terminal_id == "IPSA0001" and of_b.rrn != missing.rrn

    async with database(readonly=True) as uow:
        booked = expected_figures(await uow.transactions.all())
    clock.advance(hours=1)
    assert await reconcile_and_keep(database, booked, DEFAULT_ACQUIRER, clock()) == []
    async with database(readonly=True) as uow:
        assert await uow.differences.open(DEFAULT_ACQUIRER) == {}
        assert [d.key for d in (await uow.differences.open("BANK-B")).values()] == [of_b.key]
