"""SIGKILL at every fault point (``ips.faults``), then the books: real processes on PostgreSQL.

For each point, a process is started with that point armed to kill — ``ips serve
--no-workers`` for what buyers and the shop ask, ``ips settle``, or ``ips worker`` for
notifications and the janitor — the operation that passes the point is driven through it, and
the process must die of SIGKILL there. The cases run a few at a time on one database, one
processing center and one shop; the janitor's run later, one at a time (``site.LATER``).
Then one worker is started "later" still, past every lease and every stale message the kills
left, and runs until nothing is left unfinished; and the books are checked:

- every order, operation, transaction, batch and notification in a final state (an unsent
  debit or credit waits for the next settlement, which is final enough);
- every payment agrees with its order: a paid order has one successful payment, an unpaid one
  none;
- no CVC kept; every notification and webhook event received by the shop at least once;
- at the processing center: every advice in a batch that was closed, each posted once, and
  the batches accepted those IPS counts as accepted;
- ``ips reconcile``: no difference with the processing center's books, to the cent;
- and every point of ``ips.faults.POINTS`` killed a process.

The short form (in the suite) kills each point once, in the first flow that passes it. The
long form (``IPS_TEST_FAULTS_LONG=1``) kills every point of every flow that passes it, each in
an installation of its own, recovered and checked alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from demobank.ledger import Ledger
from ips.faults import POINTS
from tests.banks import handed_in_report
from tests.faults.site import CARDS, FLOWS, Flow, Site
from tests.shop import Shop

LONG = bool(os.environ.get("IPS_TEST_FAULTS_LONG"))
AT_ONCE = 3
"""Cases run at once (each starts a process, mostly waiting on the others)."""
RECOVERY = timedelta(minutes=40)
"""How far ahead the last worker runs: past the leases the janitors of the cases took."""
STUCK = 10.0
"""Seconds without progress after which what the last worker left unfinished is stuck: it
finds everything due at once, and its janitor runs five times a second."""

UNFINISHED = {
    "order": "SELECT o.ordernumber, o.state FROM orders o WHERE o.state = 'In Process'",
    "operation": "SELECT o.ordernumber, p.kind || ' ' || p.status FROM operations p "
    "JOIN orders o ON o.id = p.order_id WHERE p.status = 'in_process'",
    "transaction": "SELECT o.ordernumber, t.kind || ' ' || t.status FROM transactions t "
    "JOIN orders o ON o.id = t.order_id WHERE t.status IN ('sent', 'unknown') "
    "OR (t.status = 'created' AND t.kind NOT IN ('financial', 'refund'))",
    "batch": "SELECT 'batch ' || id, status FROM settlement_batches WHERE status <> 'accepted'",
    "notification": "SELECT o.ordernumber, n.status FROM notifications n "
    "JOIN orders o ON o.id = n.order_id WHERE n.status <> 'delivered'",
    "webhook": "SELECT o.ordernumber, e.type || ' ' || d.status FROM webhook_deliveries d "
    "JOIN webhook_events e ON e.event_id = d.event_id JOIN orders o ON o.id = e.order_id "
    "WHERE d.status <> 'delivered'",
}
DISAGREEING = (
    "SELECT o.ordernumber, o.state, SUM(CASE WHEN p.status = 'success' THEN 1 ELSE 0 END) "
    "FROM orders o LEFT JOIN operations p ON p.order_id = o.id AND p.kind = '100' "
    "AND p.means <> 'points' GROUP BY o.id, o.ordernumber, o.state"
)
POINTS_PAID = (
    "SELECT t.reference, p.status FROM operations p JOIN transactions t "
    "ON t.operation_id = p.id AND t.kind = 'points_reservation' WHERE p.means = 'points'"
)
"""Each points payment by its reservation's reference: spent at the program iff it
succeeded."""
PAID = {"Approved", "Delayed", "PartialDelayed", "Canceled", "PartialCanceled"}


@dataclass(frozen=True)
class Case:
    point: str
    """``NAME``, or ``NAME@N``: its N-th pass."""
    flow: Flow
    retry: bool = False
    """The request the dead server left unanswered is sent again to another (``kill_at``)."""

    def __str__(self) -> str:
        return f"{self.point} ({self.flow.name}{', retried' if self.retry else ''})"


def each_point_once() -> list[Case]:
    """Each point in the first flow that passes it."""
    cases: dict[str, Case] = {}
    for flow in FLOWS.values():
        for point in flow.points:
            cases.setdefault(point, Case(point, flow))
    return list(cases.values())


def every_point_of_every_flow() -> list[Case]:
    """Each point of each flow, and again with its request retried where a server died."""
    return [
        Case(point, flow, retry)
        for flow in FLOWS.values()
        for point in flow.points
        for retry in ((False, True) if flow.served else (False,))
    ]


def test_the_flows_pass_every_point() -> None:
    assert {case.point.partition("@")[0] for case in each_point_once()} == set(POINTS)


async def kill_everywhere(site: Site, cases: list[Case]) -> list[str]:
    """Kills a process at each case's point: the cases of servers a few at once, those of
    settlements and workers meanwhile one by one, then the later ones one by one. What went
    wrong, by case."""
    failures: list[str] = []
    gate = asyncio.Semaphore(AT_ONCE)

    async def kill(case: Case) -> None:
        try:
            await site.kill_at(case.point, case.flow, retry=case.retry)
        except AssertionError as exc:
            failures.append(f"{case}: {exc}")

    async def gated(case: Case) -> None:
        async with gate:
            await kill(case)

    async def one_by_one(cases: list[Case]) -> None:
        for case in cases:
            await kill(case)

    now = [case for case in cases if not case.flow.later]
    await asyncio.gather(
        *(gated(case) for case in now if case.flow.served),
        one_by_one([case for case in now if not case.flow.served]),
    )
    await one_by_one([case for case in cases if case.flow.later])
    return failures


async def unfinished(site: Site) -> list[str]:
    left = []
    for what, sql in UNFINISHED.items():
        left += [f"{name}: {what} {state}" for name, state in await site.rows(sql)]
    return left


async def recover(site: Site) -> list[str]:
    """Runs a worker later still until nothing is unfinished, or nothing has changed for
    ``STUCK`` seconds since it started, and stops it; what is still unfinished."""
    worker = await site.start("recovery", "worker", ahead=RECOVERY, order_lifetime="PT10M")
    while "roles:" not in worker.output():
        assert worker.popen.returncode is None, worker.tail()
        await asyncio.sleep(0.1)
    before, since = None, time.monotonic()
    while (left := await unfinished(site)) and time.monotonic() < since + STUCK:
        assert worker.popen.returncode is None, worker.tail()
        if left != before:
            before, since = left, time.monotonic()
        await asyncio.sleep(0.5)
    worker.popen.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(worker.popen.wait(), 30) == 0, worker.tail()
    return [f"left unfinished: {line}" for line in left]


async def check_books(site: Site) -> list[str]:
    """What is wrong with the books, once every process has stopped."""
    problems = [
        f"{name}: {state} with {successes} successful payments"
        for name, state, successes in await site.rows(DISAGREEING)
        if (state in PAID) != (successes == 1) or successes > 1
    ]
    if (await site.rows("SELECT count(*) FROM kept_cvcs"))[0][0]:
        problems.append("a CVC is still kept")
    notified = await site.rows(
        "SELECT o.ordernumber, n.fields FROM notifications n JOIN orders o ON o.id = n.order_id"
    )
    for name, fields in notified:
        if (json.loads(fields) if isinstance(fields, str) else fields) not in site.shop.received:
            problems.append(f"{name}: the shop never received its notification")
    for name, event_id, kind in await site.rows(
        "SELECT o.ordernumber, e.event_id, e.type FROM webhook_events e "
        "JOIN orders o ON o.id = e.order_id"
    ):
        if event_id not in site.shop.events:
            problems.append(f"{name}: the shop never received webhook {kind}")

    async with await Ledger.open(site.store) as ledger:
        staged, postings = await ledger.staged(), await ledger.postings()
        batches = await ledger.batches()
        held = {r.reference: r.status.value for r in await ledger.loyalty.reservations()}
    for reference, status in await site.rows(POINTS_PAID):
        spent = held.get(reference) == "spent"
        if spent != (status == "success"):
            problems.append(f"points {reference}: {status} at IPS, {held.get(reference)} there")
    problems += [f"points {ref} still reserved" for ref, s in held.items() if s == "reserved"]
    problems += [f"advice {p.stan} of batch {p.batch} never closed" for p in staged]
    ours = await site.rows(
        "SELECT terminal_id, stan, batch_id FROM transactions "
        "WHERE kind IN ('financial', 'refund') AND status = 'approved'"
    )
    theirs = [(p.terminal_id, int(p.stan), p.batch) for p in postings if p.posted_at is not None]
    if sorted(map(tuple, ours)) != sorted(theirs):
        problems.append(f"advices posted {sorted(theirs)}, IPS counts {sorted(map(tuple, ours))}")
    accepted = {batch_id for (batch_id,) in await site.rows(
        "SELECT id FROM settlement_batches WHERE status = 'accepted'")}  # fmt: skip
    if {b.number for b in batches if b.status == "accepted"} != accepted:
        problems.append(f"batches accepted: {sorted((b.terminal_id, b.number) for b in batches)}"
                        f" by the processing center, {sorted(accepted)} by IPS")  # fmt: skip

    report = handed_in_report(site.store, site.store.with_suffix(".report.json"))
    reconciled = await site.ips("reconcile", "--report", str(report))
    if reconciled.popen.returncode != 0 or "no differences" not in reconciled.output():
        problems.append(f"ips reconcile:\n{reconciled.output()}")
    for process in site.processes:
        output = process.output()
        if "Traceback" in output:
            problems.append(f"{process.name} logged a traceback:\n{process.tail(40)}")
        if any(number in output for number in CARDS):
            problems.append(f"{process.name} logged a card number")
    return problems


@asynccontextmanager
async def site_at(tmp_path: Path, database_url: str) -> AsyncIterator[Site]:
    shop = Shop()
    await shop.open()
    site = Site(tmp_path, database_url, shop)
    try:
        await site.open()
        yield site
    finally:
        await site.close()
        await shop.close()


async def killed_and_checked(
    tmp_path: Path, database_url: str, cases: list[Case]
) -> tuple[Site, list[str]]:
    async with site_at(tmp_path, database_url) as site:
        problems = await kill_everywhere(site, cases)
        problems += await recover(site)
    return site, problems + await check_books(site)


async def test_a_kill_at_any_point_leaves_the_books_whole(
    tmp_path: Path, postgres_url: str
) -> None:
    site, problems = await killed_and_checked(tmp_path, postgres_url, each_point_once())
    problems += [f"{point}: no process died there" for point in POINTS if point not in site.killed]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "case",
    list(every_point_of_every_flow())
    if LONG
    else [
        pytest.param(
            None, marks=pytest.mark.skip(reason="the long form: IPS_TEST_FAULTS_LONG=1"), id="long"
        )
    ],
    ids=str,
)
async def test_a_kill_at_a_point_alone_leaves_the_books_whole(
    tmp_path: Path, postgres_url: str, case: Case
) -> None:
    """The long form: each point of each flow in an installation of its own."""
    _, problems = await killed_and_checked(tmp_path, postgres_url, [case])
    assert problems == [], "\n".join(problems)
