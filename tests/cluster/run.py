"""A cluster run: the processes started, the shop's merchant added, buyers and the shop at
work for ``seconds`` while one process after another is killed with SIGKILL and started
again and ``ips settle`` runs now and then; then every process up, the workers given time to
finish what the kills left (claims run out after two minutes, unanswered authorizations are
given up after twice the processing timeout and 30 s), ``ips settle`` until nothing is
left unsent, and the end checks (``books``) and ``ips reconcile``.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ips.crypto.keyring import KeyRing
from ips.services.gateway import Timings
from ips.storage.database import create_engine
from ips.storage.unit_of_work import Database
from tests.banks import handed_in_report
from tests.cluster.books import Audit, audit
from tests.cluster.fleet import Fleet
from tests.cluster.traffic import CARD_NUMBERS, MERCHANT_ID, Tally, Traffic
from tests.shop import Shop

BUYERS = 8
"""Buyers paying at once."""
KILL_EVERY = (2.0, 6.0)
"""Seconds between two kills, drawn from this range."""
DOWN_FOR = (0.2, 3.0)
"""Seconds a killed process stays down."""
SETTLE_EVERY = (5.0, 20.0)
"""Seconds between two ``ips settle`` while the buyers pay."""
QUIET_WITHIN = 420.0
"""Seconds the end may take: every claim a kill left has run out (two minutes), repeats of
reversals that found the simulator down have come due, the last batches are sent."""
LIFETIME = timedelta(seconds=20)
HOLD_PERIOD = timedelta(seconds=40)
VICTIMS = ("web-1", "web-2", "worker-1", "worker-2", "simulator")


@dataclass
class Report:
    seed: int
    seconds: float
    tally: Tally
    kills: Counter[str] = field(default_factory=Counter)
    settles: Counter[str] = field(default_factory=Counter)
    audit: Audit = field(default_factory=Audit)
    reconciled: str = ""
    """What ``ips reconcile`` said at the end."""
    quiet_after: float = 0.0
    """Seconds from the end of the traffic until the checks passed (or gave up)."""
    tracebacks: Counter[str] = field(default_factory=Counter)
    """The last line of each traceback in the processes' logs."""
    leaks: list[str] = field(default_factory=list)
    """Card numbers found in the clear in a log."""
    closes: Counter[str] = field(default_factory=Counter)
    """Batch closes (0500) the bank accepted, by batch and terminal: more than one when a
    sender was killed after the close and before it recorded the answer, and another sent
    the batch again (as repeats, which the bank posts once)."""
    workdir: Path = Path()

    @property
    def payments(self) -> int:
        return sum(self.tally.payments.values())

    def lines(self) -> list[str]:
        figures = self.audit.figures
        open_checks = figures.get("at the issuer's page")
        return [
            f"seed {self.seed}, {self.seconds:.0f} s of traffic; the end quiet after "
            f"{self.quiet_after:.0f} s; logs in {self.workdir}",
            f"payments {self.payments}: {dict(sorted(self.tally.payments.items()))}",
            f"shop's operations: {dict(sorted(self.tally.operations.items()))}",
            f"kills {sum(self.kills.values())}: {dict(sorted(self.kills.items()))}",
            f"ips settle: {dict(self.settles)}",
            f"refused connections {self.tally.refused}, requests cut off "
            f"{dict(self.tally.cut_off)}, server errors {self.tally.server_errors}",
            f"orders {figures.get('orders')} ({open_checks} with a 3-D Secure check still "
            f"open), batches {figures.get('batches')}, "
            f"notifications {figures.get('notifications')} "
            f"({figures.get('notifications received again')} received again)",
            "money: " + ", ".join(f"{k} {v}" for k, v in figures.items() if "(" in k),
            f"batch closes accepted {sum(self.closes.values())} for {len(self.closes)} batch "
            f"parts (batch and terminal)",
            f"tracebacks in the logs: {dict(self.tracebacks)}",
            f"ips reconcile: {self.reconciled.strip().splitlines()[-1:]}",
            f"findings {len(self.audit.findings)}:",
            *(f"  {finding}" for finding in self.audit.findings[:50]),
        ]


def settings(shop_port: int) -> dict[str, str]:
    cutoff = datetime.now(UTC) + timedelta(seconds=30)
    return {
        "processing_timeout": "1",
        "janitor_interval": "1",
        "notification_interval": "0.5",
        "notification_ports": str(shop_port),
        "notification_networks": "127.0.0.0/8",
        "order_lifetime": f"PT{LIFETIME.total_seconds():.0f}S",
        "hold_period": f"PT{HOLD_PERIOD.total_seconds():.0f}S",
        "settlement_cutoff": f"{cutoff:%H:%M:%S}",  # the schedule closes a period as it runs
        "db_pool_size": "3",
        "db_max_overflow": "7",
    }


async def run(database_url: str, workdir: Path, *, seed: int, seconds: float) -> Report:
    report = Report(seed, seconds, Tally(), workdir=workdir)
    shop = Shop()
    await shop.open()
    fleet = Fleet.make(workdir, database_url, settings(shop.port))
    try:
        await fleet.start_all()
        status, said = await fleet.ips(
            "merchant", "add", "--merchant-id", MERCHANT_ID, "--name", "Cluster Shop",
            "--login", "shop", "--password", "shop-password", "--secret-word", "secret",
            "--return-host", "shop.example", "--double-stage", "--means", "card",
            "--callback-url", shop.url, "--notify", "payment,confirmation,cancel",
        )  # fmt: skip
        assert status == 0, said
        traffic = Traffic(fleet.web_urls, fleet.pc_http_url, seed)
        report.tally = traffic.tally
        stopping = asyncio.Event()
        work = [asyncio.create_task(traffic.buyer(n, stopping)) for n in range(BUYERS)]
        work += [
            asyncio.create_task(_kill(fleet, random.Random(f"{seed} kills"), stopping, report)),
            asyncio.create_task(_settle(fleet, random.Random(f"{seed} settles"), stopping,
                                        report)),
        ]  # fmt: skip
        await asyncio.sleep(seconds)
        stopping.set()
        await asyncio.gather(*work)
        while traffic.follow_ups:
            await asyncio.gather(*list(traffic.follow_ups))
        for name, process in fleet.processes.items():
            if not process.running:
                await fleet.start(name)
        await _quiet(fleet, shop, traffic, report)
        handed_in = handed_in_report(fleet.store, fleet.store.with_suffix(".report.json"))
        status, report.reconciled = await fleet.ips("reconcile", "--report", str(handed_in))
    finally:
        fleet.stop_all()
        await shop.close()
    _read_logs(fleet, report)
    return report


async def _kill(fleet: Fleet, rng: random.Random, stopping: asyncio.Event, report: Report) -> None:
    """Every few seconds a running process killed with SIGKILL, and started again a moment
    later (meanwhile the next may be killed too)."""
    restarts: list[asyncio.Task[None]] = []

    async def restart(name: str, after: float) -> None:
        await asyncio.sleep(after)
        await fleet.start(name)

    while not stopping.is_set():
        await _pause(stopping, rng.uniform(*KILL_EVERY))
        name = rng.choice(VICTIMS)
        if stopping.is_set() or not fleet.processes[name].running:
            continue
        fleet.processes[name].kill()
        report.kills[name] += 1
        restarts.append(asyncio.create_task(restart(name, rng.uniform(*DOWN_FOR))))
    await asyncio.gather(*restarts)


async def _settle(
    fleet: Fleet, rng: random.Random, stopping: asyncio.Event, report: Report
) -> None:
    while not stopping.is_set():
        await _pause(stopping, rng.uniform(*SETTLE_EVERY))
        status, _ = await fleet.ips("settle")
        report.settles["ok" if status == 0 else f"status {status}"] += 1


async def _pause(stopping: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await stopping.wait()
    except TimeoutError:
        pass


async def _quiet(fleet: Fleet, shop: Shop, traffic: Traffic, report: Report) -> None:
    """Waits until the checks pass, ``ips settle`` running between two looks, or until
    ``QUIET_WITHIN`` has passed; the last audit is the report's."""
    started = time.monotonic()
    database = Database(
        create_engine(fleet.env["IPS_DATABASE_URL"]), KeyRing.load_or_create(
            Path(fleet.env["IPS_KEY_FILE"])
        )
    )  # fmt: skip
    timings = Timings(order_lifetime=LIFETIME, hold_period=HOLD_PERIOD)
    try:
        while True:
            status, _ = await fleet.ips("settle")
            report.settles["ok" if status == 0 else f"status {status}"] += 1
            report.audit = await audit(
                database, fleet.store, shop.received, traffic.deals, timings, datetime.now(UTC)
            )
            report.quiet_after = time.monotonic() - started
            if report.audit or report.quiet_after > QUIET_WITHIN:
                return
            await asyncio.sleep(5)
    finally:
        await database.dispose()


_TRACEBACK_END = re.compile(r"^Traceback.*?\n(\S[^\n]*)", re.M | re.S)
_ACCEPTED = re.compile(r"batch (\d+ of \S+) accepted")


def _read_logs(fleet: Fleet, report: Report) -> None:
    for name, text in fleet.logs().items():
        for last in _TRACEBACK_END.findall(text):
            report.tracebacks[f"{name}: {last[:120]}"] += 1
        report.leaks += [f"{name}: {pan}" for pan in CARD_NUMBERS if pan in text]
    report.closes.update(_ACCEPTED.findall(fleet.logs().get("simulator", "")))


def figures(report: Report) -> dict[str, Any]:
    """The run's figures for ``docs/benchmarks.md``."""
    return {
        "payments": report.payments,
        "operations": sum(report.tally.operations.values()),
        "kills": sum(report.kills.values()),
        "findings": len(report.audit.findings),
    }
