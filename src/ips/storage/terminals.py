"""Terminals in the database: the pool of terminal ids that nodes lease, and each terminal's
count of STANs per day, taken by the unit of work as it commits (``allot_stans``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.errors import Refused
from ips.domain.orders import PROCESSING_KINDS, Transaction
from ips.domain.terminals import Lease
from ips.storage.database import dialect_insert
from ips.storage.tables import terminal_stans, terminals, transactions

MAX_STAN = 999_999
"""Field 11 holds six digits; 0 is not used."""


class TerminalRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def all(self) -> list[Lease]:
        rows = await self._conn.execute(select(terminals).order_by(terminals.c.terminal_id))
        return [Lease(row.terminal_id, row.owner, row.leased_until) for row in rows]

    async def add(self, terminal_ids: Collection[str]) -> None:
        """Puts into the pool those of the ids that are not in it yet."""
        if terminal_ids:
            await self._conn.execute(
                dialect_insert(self._conn)(terminals)
                .values([{"terminal_id": t} for t in sorted(set(terminal_ids))])
                .on_conflict_do_nothing(index_elements=[terminals.c.terminal_id])
            )

    async def first_free(
        self, owner: str, now: datetime, *, among: Collection[str] = ()
    ) -> str | None:
        """The first id free for ``owner`` at ``now`` (of ``among``, unless empty), locked; on
        PostgreSQL one that another caller is leasing right now is skipped (``SKIP LOCKED``)."""
        query = (
            select(terminals.c.terminal_id)
            .where(_free(owner, now), *([terminals.c.terminal_id.in_(among)] if among else []))
            .order_by(terminals.c.terminal_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        found: str | None = (await self._conn.execute(query)).scalar()
        return found

    async def lease(self, terminal_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Leases the id to ``owner`` until ``until`` if it is free for it at ``now``: never
        leased, released, its lease ended, or ``owner``'s own. Whether it did."""
        leased = await self._conn.execute(
            update(terminals)
            .where(terminals.c.terminal_id == terminal_id, _free(owner, now))
            .values(owner=owner, leased_until=until)
        )
        return bool(leased.rowcount)

    async def renew(self, terminal_id: str, owner: str, until: datetime) -> bool:
        """Extends ``owner``'s lease; False when another owner took the id meanwhile."""
        renewed = await self._conn.execute(
            update(terminals)
            .where(terminals.c.terminal_id == terminal_id, terminals.c.owner == owner)
            .values(leased_until=until)
        )
        return bool(renewed.rowcount)

    async def release(self, terminal_id: str, owner: str) -> None:
        await self._conn.execute(
            update(terminals)
            .where(terminals.c.terminal_id == terminal_id, terminals.c.owner == owner)
            .values(owner=None, leased_until=None)
        )

    async def forget_counts_before(self, day: date) -> None:
        """Drops the counts of STANs of the days before ``day``."""
        await self._conn.execute(delete(terminal_stans).where(terminal_stans.c.day < day))


def _free(owner: str, now: datetime) -> Any:
    return or_(
        terminals.c.owner.is_(None),
        terminals.c.owner == owner,
        terminals.c.leased_until <= now,
    )


async def allot_stans(conn: AsyncConnection, seen: Iterable[Transaction]) -> None:
    """Records the terminal and the STAN of the transactions a unit of work is committing.

    What follows from an authorization (a reversal, a debit, a credit) goes under the
    authorization's terminal, to the authorization's acquirer. A transaction first
    transmitted under a terminal takes the next STAN of that terminal's count for the day
    (UTC) of the transmission. Each count is taken once for all its transactions, in the
    order of (terminal, day), as the last thing before the commit: its row is locked only
    while the commit ends, and two commits never wait for each other's counts crosswise."""
    seen = list(seen)
    heirs = [
        t
        for t in seen
        if t.kind in PROCESSING_KINDS and not t.terminal_id and t.original_id is not None
    ]
    if heirs:
        rows = await conn.execute(
            select(transactions.c.id, transactions.c.terminal_id, transactions.c.acquirer).where(
                transactions.c.id.in_({t.original_id for t in heirs})
            )
        )
        of_original = {row.id: (row.terminal_id or "", row.acquirer or "") for row in rows}
        for heir in heirs:
            heir.terminal_id, heir.acquirer = of_original.get(heir.original_id, ("", ""))
    due: dict[tuple[str, date], list[Transaction]] = defaultdict(list)
    for transaction in seen:
        if transaction.needs_stan and (day := transaction.stan_day) is not None:
            due[transaction.terminal_id, day].append(transaction)
    for (terminal_id, day), group in sorted(due.items()):
        last = await _take(conn, terminal_id, day, len(group))
        for stan, transaction in enumerate(group, start=last - len(group) + 1):
            transaction.stan_taken = stan
    changed = {
        id(t): t for t in [*heirs, *(t for group in due.values() for t in group)] if t.terminal_id
    }
    if changed:
        await conn.execute(
            update(transactions)
            .where(transactions.c.id == bindparam("transaction_id"))
            .values(
                terminal_id=bindparam("terminal"),
                acquirer=bindparam("acquirer"),
                stan=bindparam("number"),
                stan_day=bindparam("day"),
            ),
            [
                {
                    "transaction_id": t.id,
                    "terminal": t.terminal_id or None,
                    "acquirer": t.acquirer or None,
                    "number": t.stan_taken,
                    "day": t.stan_day if t.stan_taken is not None else None,
                }
                for t in changed.values()
            ],
        )


async def _take(conn: AsyncConnection, terminal_id: str, day: date, count: int) -> int:
    """Moves the terminal's count of the day on by ``count``; returns the last STAN taken."""
    taken = await conn.execute(
        dialect_insert(conn)(terminal_stans)
        .values(terminal_id=terminal_id, day=day, last=count)
        .on_conflict_do_update(
            index_elements=[terminal_stans.c.terminal_id, terminal_stans.c.day],
            set_={"last": terminal_stans.c.last + count},
        )
        .returning(terminal_stans.c.last)
    )
    last: int = taken.scalar_one()
    if last > MAX_STAN:
        raise Refused(
            f"terminal {terminal_id} has used every STAN of {day}: it takes no more messages"
            " today; give the pool more terminal ids"
        )
    return last
