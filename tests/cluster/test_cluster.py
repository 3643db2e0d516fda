"""The cluster under kills, in the suite: about a minute of buyers and a shop against two
``ips serve`` and two ``ips worker`` on PostgreSQL, a process killed with SIGKILL every few
seconds, then the books checked to the cent (``tests/cluster``). A fixed seed; another seed
or a longer run through the environment::

    IPS_CLUSTER_SEED=7 IPS_CLUSTER_SECONDS=900 .venv/bin/pytest tests/cluster -s

The end waits for what the kills left behind (claims run out after two minutes), so the
test takes three or four minutes in all.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.cluster.run import run

SEED = int(os.environ.get("IPS_CLUSTER_SEED", "1"))
SECONDS = float(os.environ.get("IPS_CLUSTER_SECONDS", "60"))


async def test_money_is_never_lost_doubled_or_stranded_while_processes_are_killed(
    postgres_url: str, tmp_path: Path
) -> None:
    report = await run(postgres_url, tmp_path, seed=SEED, seconds=SECONDS)
    said = "\n".join(report.lines())
    print(said)
    outcomes = " ".join(report.tally.payments)
    assert report.payments >= 3 * SECONDS, said  # several hundred a minute
    assert sum(report.kills.values()) >= SECONDS / 10, said  # one every few seconds
    assert {"web-1", "web-2", "worker-1", "worker-2", "simulator"} <= set(report.kills), said
    for seen in ("approved: approved", "3-D Secure: approved", "declined: declined",
                 "unanswered: declined", "abandoned: abandoned"):  # fmt: skip
        assert seen in outcomes, said
    assert report.tally.operations["confirm: ok"] and report.tally.operations["cancel: ok"], said
    assert report.audit.figures["batches"] and report.audit.figures["notifications"], said
    assert report.tally.server_errors == [], said
    assert report.leaks == [], said
    assert not report.tracebacks, said
    assert report.audit.findings == [], said
    assert report.reconciled.strip().endswith("no differences"), said
