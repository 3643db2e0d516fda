"""The life of an order's money against the real simulator over TCP, reconciled to the cent;
and confirmations and cancellations racing on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from ips.config import Settings
from ips.crypto.keyring import KeyRing
from ips.domain.errors import DomainError
from ips.domain.settlement import BatchStatus
from ips.domain.states import OrderState
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.janitor import sweep
from ips.services.merchants import SignedIn, add_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.reconciliation import reconcile
from ips.services.settlement import settle
from ips.storage.unit_of_work import Database
from tests.banks import bank_figures
from tests.conftest import MERCHANT, SETUP, RealProcessing
from tests.integration.test_payment_service import card
from tests.racing import ONE_AND_TWO_NODES, nodes

SHOP = SignedIn("111111")
TERMINAL = Settings().terminal_id


async def differences(gateway: Gateway, store: Path) -> list[str]:
    bank = await bank_figures(store)
    return [str(d) for d in await reconcile(gateway.uow_factory, bank)]


async def test_books_agree_with_the_bank_after_every_step(
    database: Database, real_processing: RealProcessing, tmp_path: Path
) -> None:
    gateway = Gateway(database, real_processing.client, database.keyring)
    store = tmp_path / "processing-center.sqlite3"
    await add_merchant(MERCHANT, database, actor=SETUP)

    async def paid(ordernumber: str, delay: bool, number: str = "4111111111111111") -> str:
        order = await create_order(
            CreateOrder("111111", ordernumber, "100.00", "RUB", delay=delay), gateway
        )
        await pay_by_card(PayByCard(order.billnumber, card(number)), gateway)
        return order.billnumber

    double = await paid("D", delay=True)
    single = await paid("S", delay=False)
    hold_only = await paid("H", delay=True)
    await paid("X", delay=False, number="4000000000000119")  # unanswered, reversed
    await paid("N", delay=False, number="4000000000000002")  # declined
    assert await differences(gateway, store) == []

    await confirm(Confirm(double, "40.00", "RUB"), SHOP, gateway)
    await confirm(Confirm(double, "60.00", "RUB"), SHOP, gateway)
    await cancel(Cancel(double, "30.00", "RUB"), SHOP, gateway)
    await cancel(Cancel(hold_only, "25.00", "RUB"), SHOP, gateway)
    await confirm(Confirm(hold_only, "50.00", "RUB", auto_deposit=True), SHOP, gateway)
    assert await differences(gateway, store) == []  # reversals answered, nothing captured yet

    reports = await settle(gateway)
    assert [r.batch.status for r in reports] == [BatchStatus.ACCEPTED]
    assert reports[0].batch.debit_total == 7000 + 10000 + 5000
    assert await differences(gateway, store) == []

    result = await cancel(Cancel(double), SHOP, gateway)
    assert result.order.state is OrderState.CANCELED
    await cancel(Cancel(single, "10.00", "RUB"), SHOP, gateway)
    pending = await differences(gateway, store)
    assert pending == []  # refunds not yet settled are not at the bank yet either

    [refunds] = await settle(gateway)
    assert (refunds.batch.credits, refunds.batch.credit_total) == (2, 8000)
    assert await differences(gateway, store) == []

    ledger = real_processing.simulator.ledger
    assert await ledger.active_holds() == []
    balance = await ledger.balance("4111111111111111", "RUB")
    opening = 100_000_000
    assert balance.minor == opening - 7000 - 10000 - 5000 + 7000 + 1000


async def test_the_bank_disagreeing_is_reported(
    database: Database, real_processing: RealProcessing, tmp_path: Path
) -> None:
    gateway = Gateway(database, real_processing.client, database.keyring)
    await add_merchant(MERCHANT, database, actor=SETUP)
    order = await create_order(CreateOrder("111111", "R", "100.00", "RUB"), gateway)
    await pay_by_card(PayByCard(order.billnumber, card()), gateway)
    store = tmp_path / "processing-center.sqlite3"
    bank = await bank_figures(store)
    [((terminal, rrn), figures)] = bank.items()
    assert terminal == TERMINAL
    tampered = {
        (terminal, rrn): replace(figures, released=100),
        (terminal, "999999999999"): figures,
        ("OTHER", "999999999998"): figures,  # not IPS's terminal
    }
    found = [str(d) for d in await reconcile(gateway.uow_factory, tampered)]
    assert found == [
        f"{terminal} {rrn}: released: IPS 0, bank 100",
        f"{terminal} 999999999999: hold unknown to IPS: IPS none, bank 10000 held, 0 released, "
        "0 captured, 0 credited (RUB)",
    ]
    assert [str(d) for d in await reconcile(gateway.uow_factory, {})] == [
        f"{terminal} {rrn}: no hold at the bank: IPS 10000 held, 0 released, 0 captured, "
        "0 credited (RUB), bank none"
    ]


@ONE_AND_TWO_NODES
@pytest.mark.parametrize("seed", [1, 2])
async def test_fifty_confirmations_and_cancellations_race_on_one_order(
    postgres_url: str,
    keyring: KeyRing,
    real_processing: RealProcessing,
    tmp_path: Path,
    seed: int,
    node_count: int,
) -> None:
    async with nodes(postgres_url, keyring, node_count, real_processing.simulator) as gateways:
        await race_on_one_order(gateways, tmp_path, seed)


async def race_on_one_order(gateways: list[Gateway], tmp_path: Path, seed: int) -> None:
    """Fifty confirmations and cancels of one order at once, taking turns among the nodes."""
    gateway = gateways[0]
    database = gateway.uow_factory
    await add_merchant(MERCHANT, database, actor=SETUP)
    order = await create_order(CreateOrder("111111", "RACE", "100.00", "RUB", delay=True), gateway)
    await pay_by_card(PayByCard(order.billnumber, card()), gateway)

    rng = random.Random(seed)
    requests: list[Confirm | Cancel] = [
        Confirm(order.billnumber, f"{rng.randint(1, 900) / 100:.2f}", "RUB")
        if rng.random() < 0.5
        else Cancel(order.billnumber, f"{rng.randint(1, 900) / 100:.2f}", "RUB")
        for _ in range(50)
    ]

    async def attempt(request: Confirm | Cancel, node: Gateway) -> str:
        try:
            if isinstance(request, Confirm):
                await confirm(request, SHOP, node)
            else:
                await cancel(request, SHOP, node)
        except DomainError as exc:
            return type(exc).__name__
        return "ok"

    outcomes = await asyncio.gather(
        *(attempt(request, gateways[n % len(gateways)]) for n, request in enumerate(requests))
    )
    assert "ok" in outcomes
    assert set(outcomes) <= {"ok", "LimitExceeded", "Refused"}

    async with database(readonly=True) as uow:
        fresh = await uow.orders.get(order.billnumber)
        assert fresh is not None and fresh.books is not None and fresh.id is not None
        operations = await uow.operations.of_order(fresh.id)
    books = fresh.books
    confirmed = sum(op.amount.minor for op in operations if op.kind.value == "200")
    cancelled = sum(op.amount.minor for op in operations if op.kind.value == "300")
    assert books.confirmed == confirmed <= books.held == 10000
    assert books.cancelled == cancelled <= books.held
    assert outcomes.count("ok") == len(operations) - 1

    await sweep(gateway, stale_after=timedelta(0))
    await settle(gateway)
    assert await differences(gateway, tmp_path / "processing-center.sqlite3") == []
