"""Settings read from the environment as ``docs/operations.md`` writes them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ips.config import Settings
from ips.web.services import LOOPBACK


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("86400", timedelta(days=1)),
        ("40", timedelta(seconds=40)),
        (" 0.5 ", timedelta(milliseconds=500)),
        ("PT24H", timedelta(hours=24)),
        ("P7D", timedelta(days=7)),
    ],
)
def test_durations_are_seconds_or_iso_8601(
    monkeypatch: pytest.MonkeyPatch, written: str, meant: timedelta
) -> None:
    monkeypatch.setenv("IPS_ORDER_LIFETIME", written)
    monkeypatch.setenv("IPS_HOLD_PERIOD", written)
    settings = Settings()
    assert settings.order_lifetime == settings.hold_period == meant


def test_a_duration_of_neither_form_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPS_ORDER_LIFETIME", "a day")
    with pytest.raises(ValueError, match="order_lifetime"):
        Settings()


@pytest.mark.parametrize("written", ["IPS00001,X", "IPS000012", ""])
def test_a_terminal_id_is_one_id_of_1_to_8_characters(
    monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    monkeypatch.setenv("IPS_TERMINAL_ID", written)
    with pytest.raises(ValueError, match="terminal id"):
        Settings()


def test_a_terminal_pool_is_ids_separated_by_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPS_TERMINAL_POOL", "IPS00001, IPS00002")
    assert Settings().terminal_pool_ids == ("IPS00001", "IPS00002")


def test_metrics_are_scraped_from_the_loopback_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().metrics_network_list == LOOPBACK  # the app's own default too
    monkeypatch.setenv("IPS_METRICS_NETWORKS", "")
    assert Settings().metrics_network_list == ()
    monkeypatch.setenv("IPS_METRICS_NETWORKS", "10.0.0.0/8, 192.0.2.1")
    assert [str(n) for n in Settings().metrics_network_list] == ["10.0.0.0/8", "192.0.2.1/32"]
    monkeypatch.setenv("IPS_METRICS_NETWORKS", "prometheus.internal")
    with pytest.raises(ValueError, match="metrics_networks"):
        Settings()
