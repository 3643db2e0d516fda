"""IPS's metrics in Prometheus' text format: every definition, and the rendering of a scrape.

Each process has one ``Metrics`` (``bootstrap``) with a registry of its own, never the
global one, so the apps of a test and the nodes of one process keep their counts apart. The
hot paths only add to counters and histograms in memory; what the database says of the work
under way — the outboxes, open holds, settlement batches, reconciliation differences — is
read when a scrape comes (``services/gauges.py``), as ``FIGURES``.

``ips serve --processes N`` runs N processes behind one port, and a scrape reaches one of
them: there the parent names a directory in ``PROMETHEUS_MULTIPROC_DIR`` for its children,
the client library keeps each process's values in files in it, and whichever process is
scraped adds up every process's (``MultiProcessCollector``). The ISO 8583 link state is then
one series per process (a ``pid`` label): ``min by (acquirer)`` is the state of the worst.
The parent forgets a process that ended (``forget_process``) and removes the directory when
it stops.

Label values are bounded: route templates, never paths with billnumbers; MTIs and response
codes of the dialect; acquirer names the operator chose.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from typing import cast

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from ips.domain.gauges import Figures
from ips.domain.orders import Operation, OperationKind, Order, PaymentMeans, Transaction
from ips.domain.states import OperationStatus

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""The environment variable naming the directory of the processes' values."""

NETWORK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
"""Seconds; up to the longest a request to another party may wait (``processing_timeout``)."""
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds; a payment's POST waits for the authorization, and for reversals when unanswered."""
BUYER_BUCKETS = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)
"""Seconds; a buyer has 15 minutes at the issuer's page (``authentication.CHALLENGE_TIME``)."""

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The methods a request is labelled by; any other a client invents is ``other``."""
NO_ACQUIRER = "none"
"""The acquirer label of payments no acquirer takes (the wallet, points)."""

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}
"""The names of a family's samples."""

FIGURES = {
    "ips_outbox_pending": (
        "Rows of an outbox waiting to be sent: notifications to shops, webhook deliveries",
        ("outbox",),
    ),
    "ips_outbox_oldest_age_seconds": (
        "Age of the oldest row waiting in an outbox (0 when none waits)",
        ("outbox",),
    ),
    "ips_holds_open": (
        "Orders holding money not yet confirmed, released or cancelled, by currency",
        ("currency",),
    ),
    "ips_holds_open_amount_minor": (
        "Money held and not yet confirmed, released or cancelled, in minor units",
        ("currency",),
    ),
    "ips_holds_oldest_age_seconds": (
        "Age of the oldest open hold, from the end of its payment",
        ("currency",),
    ),
    "ips_settlement_batches": (
        "Settlement batches by acquirer and status (closing, accepted, out_of_balance)",
        ("acquirer", "status"),
    ),
    "ips_reconciliation_differences": (
        "Differences reconciliation found with an acquirer's report, open or resolved",
        ("acquirer", "state"),
    ),
}
"""The gauges read from the database at each scrape: name, help text, labels."""
FIGURES_UP = "ips_figures_up"
FIGURES_UP_HELP = "1 when this scrape read the figures of the database, 0 when it did not answer"


class Metrics:
    """The metrics of one process."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.payments = Counter(
            "ips_payments",
            "Payments that ended, by way to pay (card, wallet, points, recurring), outcome "
            "(approved, delayed, declined, timeout, error) and acquirer",
            ("way", "outcome", "acquirer"),
            registry=registry,
        )
        self.http_seconds = Histogram(
            "ips_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, method and status class: the "
            "payment pages, the web services, the JSON API, the Personal Account",
            ("route", "method", "status"),
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.iso_seconds = Histogram(
            "ips_iso8583_round_trip_seconds",
            "Time from an ISO 8583 request to its answer, by acquirer and request MTI",
            ("acquirer", "mti"),
            buckets=NETWORK_BUCKETS,
            registry=registry,
        )
        self.iso_answers = Counter(
            "ips_iso8583_answers",
            "ISO 8583 answers, by acquirer, request MTI and response code (field 39)",
            ("acquirer", "mti", "code"),
            registry=registry,
        )
        self.iso_timeouts = Counter(
            "ips_iso8583_timeouts",
            "ISO 8583 requests that got no answer in time or lost their connection, by "
            "acquirer and request MTI",
            ("acquirer", "mti"),
            registry=registry,
        )
        self.iso_link_up = Gauge(
            "ips_iso8583_link_up",
            "1 while the link to an acquirer's processing center is connected and signed on",
            ("acquirer",),
            multiprocess_mode="liveall",
            registry=registry,
        )
        self.iso_links_lost = Counter(
            "ips_iso8583_links_lost",
            "Connections to an acquirer's processing center lost, or refused at sign-on",
            ("acquirer",),
            registry=registry,
        )
        self.threeds_seconds = Histogram(
            "ips_threeds_request_seconds",
            "Time of IPS's requests to the 3-D Secure server: enroll (is the card enrolled), "
            "result (how the buyer's check went)",
            ("call",),
            buckets=NETWORK_BUCKETS,
            registry=registry,
        )
        self.threeds_buyer_seconds = Histogram(
            "ips_threeds_buyer_seconds",
            "Time a buyer took at the issuer's 3-D Secure page, by the check's outcome",
            ("outcome",),
            buckets=BUYER_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            "ips_deliveries",
            "Attempts to deliver what an outbox holds, by outbox (notifications, webhooks) and "
            "outcome (delivered, refused, no_answer)",
            ("outbox", "outcome"),
            registry=registry,
        )
        if not os.environ.get(MULTIPROCESS_DIR):
            ProcessCollector(registry=registry)

    def names(self) -> set[str]:
        """Every metric name a scrape may show."""
        names = {*FIGURES, FIGURES_UP}
        for family in self.registry.collect():
            names |= {family.name + end for end in _SUFFIXES.get(family.type, ("",))}
        return names

    def link(self, acquirer: str) -> LinkMetrics:
        return LinkMetrics(self, acquirer)

    def committed(self, entities: Collection[Order | Operation | Transaction]) -> None:
        """Counts the payments a commit ended (the unit of work's ``Committed``): once each,
        whichever request, worker or node ended it."""
        orders = {e.id: e for e in entities if isinstance(e, Order)}
        for entity in entities:
            if (
                isinstance(entity, Operation)
                and entity.kind is OperationKind.PAYMENT
                and any(event.old == OperationStatus.IN_PROCESS.value for event in entity.events)
            ):
                self._ended(entity, orders.get(entity.order_id))

    def _ended(self, payment: Operation, order: Order | None) -> None:
        way = payment.means.value
        if payment.means is PaymentMeans.CARD and order is not None and order.recurring_of:
            way = "recurring"
        if payment.status is OperationStatus.SUCCESS:
            outcome = "delayed" if order is not None and order.delay else "approved"
        else:
            outcome = payment.status.value  # declined, timeout, error
        self.payments.labels(way, outcome, payment.acquirer or NO_ACQUIRER).inc()

    def request_answered(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        self.http_seconds.labels(route, method, f"{status // 100}xx").observe(seconds)

    def threeds_request(self, call: str, seconds: float) -> None:
        self.threeds_seconds.labels(call).observe(seconds)

    def threeds_buyer(self, outcome: str, seconds: float) -> None:
        self.threeds_buyer_seconds.labels(outcome).observe(seconds)

    def delivery_tried(self, outbox: str, outcome: str) -> None:
        self.deliveries.labels(outbox, outcome).inc()

    def exposition(self, figures: Figures | None = None) -> bytes:
        """A scrape's answer: this process's metrics (every process's, in multiprocess
        mode), and ``figures`` read from the database."""
        return generate_latest(_Scrape(self._sources(), figures))

    def _sources(self) -> Iterable[Metric]:
        directory = os.environ.get(MULTIPROCESS_DIR)
        if directory:
            collector = MultiProcessCollector(None, directory)  # type: ignore[no-untyped-call]
            return cast(Iterable[Metric], collector.collect())  # type: ignore[no-untyped-call]
        return self.registry.collect()


class LinkMetrics:
    """The metrics of one ISO 8583 link, to an acquirer's processing center."""

    def __init__(self, metrics: Metrics, acquirer: str) -> None:
        self._metrics = metrics
        self._acquirer = acquirer
        self._up = metrics.iso_link_up.labels(acquirer)
        self._up.set(0)

    def signed_on(self) -> None:
        self._up.set(1)

    def lost(self) -> None:
        self._up.set(0)
        self._metrics.iso_links_lost.labels(self._acquirer).inc()

    def closed(self) -> None:
        self._up.set(0)

    def answered(self, mti: str, code: str, seconds: float) -> None:
        self._metrics.iso_seconds.labels(self._acquirer, mti).observe(seconds)
        self._metrics.iso_answers.labels(self._acquirer, mti, code).inc()

    def unanswered(self, mti: str) -> None:
        self._metrics.iso_timeouts.labels(self._acquirer, mti).inc()


class _Scrape:
    def __init__(self, sources: Iterable[Metric], figures: Figures | None) -> None:
        self._sources = sources
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        yield from self._sources
        yield GaugeMetricFamily(FIGURES_UP, FIGURES_UP_HELP, value=int(self._figures is not None))
        if self._figures is not None:
            yield from figure_families(self._figures)


def figure_families(figures: Figures) -> list[Metric]:
    """The database's figures as gauges (``FIGURES``)."""
    families = {
        name: GaugeMetricFamily(name, text, labels=labels)
        for name, (text, labels) in FIGURES.items()
    }
    now = figures.at

    def age(since: datetime | None) -> float:
        if since is None or now is None:
            return 0.0
        return max(0.0, (now - since).total_seconds())

    outboxes = (("notifications", figures.notifications), ("webhooks", figures.webhooks))
    for outbox, figure in outboxes:
        families["ips_outbox_pending"].add_metric([outbox], figure.pending)
        families["ips_outbox_oldest_age_seconds"].add_metric([outbox], age(figure.oldest))
    for holds in figures.holds:
        families["ips_holds_open"].add_metric([holds.currency], holds.orders)
        families["ips_holds_open_amount_minor"].add_metric([holds.currency], holds.amount_minor)
        families["ips_holds_oldest_age_seconds"].add_metric([holds.currency], age(holds.oldest))
    for batches in figures.batches:
        families["ips_settlement_batches"].add_metric(list(batches.labels), batches.count)
    for differences in figures.differences:
        families["ips_reconciliation_differences"].add_metric(
            list(differences.labels), differences.count
        )
    return list(families.values())


def forget_process(pid: int, directory: str) -> None:
    """Drops the gauges of a process that ended from the multiprocess directory (its
    counters stay: what it counted happened)."""
    mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
