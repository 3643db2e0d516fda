"""Fixtures of the integration tests beyond the shared ones."""

from __future__ import annotations

import pytest

from ips.services.gateway import Gateway
from ips.storage.unit_of_work import Database
from tests.cabinet import Cabinet, open_cabinet
from tests.fakes import ManualClock


@pytest.fixture
async def cabinet(gateway: Gateway, database: Database, clock: ManualClock) -> Cabinet:
    """Merchants 111111 (``anna`` operator, ``vera`` viewer, ``adam`` admin) and 222222
    (``olga`` admin), each with a held order; the merchant fixture makes 111111."""
    return await open_cabinet(gateway, database, clock)
