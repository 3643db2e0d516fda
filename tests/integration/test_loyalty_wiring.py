"""Where a node finds the points program (``IPS_LOYALTY_URL``), as it finds the wallet: the
simulator it starts itself, the URL it is given, or none at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from demobank import Ledger, Simulator
from ips.bootstrap import running
from ips.config import Settings
from ips.domain.money import currency
from ips.processing.loyalty import Reservation, ReservationStatus

RUB = currency("RUB")


def node_settings(tmp_path: Path, **changes: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'ips.sqlite3'}",
        key_file=tmp_path / "ips.key",
        simulator_store=tmp_path / "bank.sqlite3",
        **changes,  # type: ignore[arg-type]
    )


async def test_a_node_without_a_processing_center_uses_its_own_simulator_s_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IPS_LOYALTY_URL", raising=False)
    async with running(node_settings(tmp_path), workers=False) as runtime:
        loyalty = runtime.services.gateway.loyalty
        assert loyalty is not None
        assert await loyalty.rate(RUB) == 100
        reserved = await loyalty.reserve("ips-1", "7000000002", "2222", 20, "111111", "")
        assert reserved == Reservation(ReservationStatus.RESERVED, 20)

    async with await Ledger.open(tmp_path / "bank.sqlite3") as bank:
        assert (await bank.loyalty.account("7000000002")).reserved == 20


async def test_a_node_given_a_processing_center_offers_points_only_where_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IPS_LOYALTY_URL", raising=False)
    async with Simulator(tmp_path / "elsewhere.sqlite3") as bank:
        processing = f"127.0.0.1:{bank.port}"
        async with running(
            node_settings(tmp_path, processing=processing), workers=False
        ) as runtime:
            assert runtime.services.gateway.loyalty is None

        monkeypatch.setenv("IPS_LOYALTY_URL", bank.http_url)
        async with running(
            node_settings(tmp_path, processing=processing), workers=False
        ) as runtime:
            loyalty = runtime.services.gateway.loyalty
            assert loyalty is not None
            assert runtime.services.gateway.wallet is None
            assert await loyalty.accrue("acc-1", "7000000002", 5, "111111") is True
        assert (await bank.ledger.loyalty.account("7000000002")).balance == 55
