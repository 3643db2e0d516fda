"""Fixtures of the integration tests beyond the shared ones."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from ipaddress import ip_network
from pathlib import Path

import pytest

from demobank import Simulator
from ips.callbacks import HttpCallbackSender
from ips.domain.orders import PaymentMeans
from ips.processing.loyalty_http import HttpLoyalty
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, add_merchant
from ips.storage.unit_of_work import Database
from tests.cabinet import Cabinet, open_cabinet
from tests.conftest import SETUP
from tests.console import Console, open_console
from tests.fakes import ManualClock


@pytest.fixture
async def cabinet(gateway: Gateway, database: Database, clock: ManualClock) -> Cabinet:
    """Merchants 111111 (``anna`` operator, ``vera`` viewer, ``adam`` admin) and 222222
    (``olga`` admin), each with a held order; the merchant fixture makes 111111."""
    return await open_cabinet(gateway, database, clock)


@pytest.fixture
async def console(gateway: Gateway, database: Database, clock: ManualClock) -> Console:
    """The operator console's staff: ``vika`` viewer, ``otto`` operator, ``ada`` admin."""
    return await open_console(gateway, database, clock)


@pytest.fixture
async def sender() -> AsyncIterator[HttpCallbackSender]:
    """Posts notifications and webhooks to 127.0.0.0/8 too, where the tests' shops listen."""
    sender = HttpCallbackSender(timeout=2, networks=[ip_network("127.0.0.0/8")])
    yield sender
    await sender.close()


POINTS_SHOP = "555555"


@pytest.fixture
async def simulator(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Simulator]:
    async with Simulator(tmp_path / "bank.sqlite3", clock=clock) as running:
        yield running


@pytest.fixture
async def points_gateway(gateway: Gateway, simulator: Simulator) -> AsyncIterator[Gateway]:
    """The gateway with the simulator's points program (Demo Points) over HTTP, and shop
    ``POINTS_SHOP``, which offers points beside cards and is notified."""
    loyalty = HttpLoyalty(simulator.http_url, timeout=5.0)
    with_points = dataclasses.replace(gateway, loyalty=loyalty)
    await add_merchant(
        AddMerchant(
            POINTS_SHOP, "Points Shop", "points", "points-password", "salt",
            means=frozenset({PaymentMeans.CARD, PaymentMeans.POINTS}),
            return_hosts=("shop.example",), callback_url="https://shop.example/notify",
        ),
        gateway.uow_factory, actor=SETUP,
    )  # fmt: skip
    yield with_points
    await loyalty.close()
