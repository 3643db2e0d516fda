"""``python -m tests.cluster``: a cluster run of any length against a PostgreSQL server, its
report printed; the run's database (``ips_cluster``) is made anew on that server."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from tests.cluster.run import run

DATABASE = "ips_cluster"


async def fresh_database(server_url: str) -> str:
    url = make_url(server_url).set(drivername="postgresql")
    admin = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    return url.set(database=DATABASE).render_as_string(hide_password=False)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server (its URL, any database)")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=600, help="seconds of traffic")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="where the logs and key go (kept)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ips-cluster-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = await run(
        await fresh_database(args.database), workdir, seed=args.seed, seconds=args.seconds
    )
    print("\n".join(report.lines()))
    good = not report.audit.findings and not report.tally.server_errors and not report.leaks
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
