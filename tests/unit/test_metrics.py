"""What the metrics count from a commit, who may scrape them, and the Grafana dashboard, whose
queries may name only metrics IPS has."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path
from typing import cast

import pytest

from ips.domain.money import Money, currency
from ips.domain.orders import Operation, OperationKind, Order, PaymentMeans
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus
from ips.metrics import Metrics
from ips.services.unit_of_work import UnitOfWorkFactory
from ips.web.metrics import Scrapes

NOW = datetime(2026, 12, 1, tzinfo=UTC)
AMOUNT = Money(10000, currency("RUB"))
DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"


def ended(
    status: OperationStatus,
    means: PaymentMeans = PaymentMeans.CARD,
    *,
    acquirer: str = "default",
    kind: OperationKind = OperationKind.PAYMENT,
) -> Operation:
    operation = Operation(7, 1, kind, AMOUNT, NOW, means=means, acquirer=acquirer, id=3)
    operation.finish(status, ResponseCode.SUCCESS, NOW)
    return operation


def order(**fields: object) -> Order:
    return Order("1000000000000001", "111111", "N-1", AMOUNT, NOW, id=7, **fields)  # type: ignore[arg-type]


def counted(metrics: Metrics) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["way"], s.labels["outcome"], s.labels["acquirer"]): s.value
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == "ips_payments_total"
    }


@pytest.mark.parametrize(
    ("payment", "paid", "counts"),
    [
        (ended(OperationStatus.SUCCESS), order(), ("card", "approved", "default")),
        (ended(OperationStatus.SUCCESS), order(delay=True), ("card", "delayed", "default")),
        (ended(OperationStatus.DECLINED), order(), ("card", "declined", "default")),
        (ended(OperationStatus.TIMEOUT), order(), ("card", "timeout", "default")),
        (
            ended(OperationStatus.SUCCESS),
            order(recurring_of=1),
            ("recurring", "approved", "default"),
        ),
        (
            ended(OperationStatus.SUCCESS, PaymentMeans.WALLET, acquirer=""),
            order(),
            ("wallet", "approved", "none"),
        ),
        (
            ended(OperationStatus.DECLINED, PaymentMeans.POINTS, acquirer=""),
            order(),
            ("points", "declined", "none"),
        ),
    ],
)
def test_a_commit_that_ends_a_payment_counts_it(
    payment: Operation, paid: Order, counts: tuple[str, str, str]
) -> None:
    metrics = Metrics()
    metrics.committed([paid, payment])
    assert counted(metrics) == {counts: 1}


def test_only_the_commit_that_ends_a_payment_counts_it() -> None:
    metrics = Metrics()
    payment = ended(OperationStatus.SUCCESS)
    metrics.committed([order(), payment])
    payment.events.clear()  # as the unit of work does once they are written
    metrics.committed([order(), payment])  # a later commit that reads it
    confirmation = ended(OperationStatus.SUCCESS, kind=OperationKind.CONFIRMATION)
    metrics.committed([order(), confirmation])
    assert counted(metrics) == {("card", "approved", "default"): 1}


LOCAL = (ip_network("127.0.0.0/8"), ip_network("::1"))
OFFICE = (ip_network("10.0.0.0/8"),)
PROXY = (ip_network("192.0.2.1"),)
TOKEN = {"token": "t0k"}


@pytest.mark.parametrize(
    ("access", "peer", "headers", "allowed"),
    [
        ({"networks": LOCAL}, "127.0.0.1", [], True),
        ({"networks": LOCAL}, "::1", [], True),
        ({"networks": LOCAL}, "203.0.113.7", [], False),
        ({"networks": LOCAL}, "127.0.0.1", [("x-forwarded-for", "198.51.100.9")], False),
        ({"networks": LOCAL}, "127.0.0.1", [("forwarded", "for=198.51.100.9")], False),
        ({"networks": OFFICE, "proxies": PROXY}, "192.0.2.1", [("x-forwarded-for", "10.1.2.3")],
         True),
        ({"networks": OFFICE, "proxies": PROXY}, "192.0.2.1",
         [("x-forwarded-for", "203.0.113.7")], False),
        (TOKEN, "203.0.113.7", [("authorization", "Bearer t0k")], True),
        (TOKEN, "203.0.113.7", [("authorization", "bearer t0k")], True),
        (TOKEN, "203.0.113.7", [("authorization", "Bearer t0")], False),
        (TOKEN, "203.0.113.7", [("authorization", "Basic t0k")], False),
        ({"token": ""}, "203.0.113.7", [("authorization", "Bearer ")], False),
    ],
)  # fmt: skip
def test_who_may_scrape(
    access: dict[str, object], peer: str, headers: list[tuple[str, str]], allowed: bool
) -> None:
    """From the operator's networks, unless through a proxy IPS does not know; from anywhere
    with the token."""
    scrapes = Scrapes(Metrics(), cast(UnitOfWorkFactory, None), **access)  # type: ignore[arg-type]
    assert scrapes.allows(peer, headers) is allowed


def test_the_dashboard_names_only_metrics_ips_has_and_charts_each() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    targets = [target for panel in panels for target in panel["targets"]]
    used = {name for t in targets for name in re.findall(r"\b(?:ips|process)_\w+", t["expr"])}
    names = Metrics().names()
    assert used <= names, used - names
    families = {re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in names}
    charted = {family for family in families for name in used if name.startswith(family)}
    assert {f for f in families if f.startswith("ips_")} <= charted
    where = [{"type": "prometheus", "uid": "${datasource}"}]
    assert [p["datasource"] for p in panels] + [t["datasource"] for t in targets] == where * (
        len(panels) + len(targets)
    )
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )


def test_requests_are_labelled_by_a_bounded_set_of_values() -> None:
    metrics = Metrics()
    for method in ("GET", "BREW", "X" * 50):
        metrics.request_answered("unmatched", method, 404, 0.001)
    labels = [
        s.labels["method"]
        for family in metrics.registry.collect()
        for s in family.samples
        if s.name == "ips_http_request_duration_seconds_count"
    ]
    assert sorted(labels) == ["GET", "other"]
