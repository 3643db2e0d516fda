"""This node's terminal: the id it signs on to the processing center as and sends its
authorizations under, leased from the pool in the database (``domain/terminals.py``).

``Terminal.lease`` takes one as the node starts; ``start_keeping`` renews the lease while the
node runs — should the node have been cut off from the database so long that another node
took its id over, it leases another and signs the link on again as that one; ``stop`` gives
the id back when the node stops. A node that dies keeps its id until the lease runs out.

What follows from an authorization (its reversals, debits and credits) goes under the
authorization's terminal whichever node sends it, so no message depends on the node that made
it still running; the processing center keeps a settlement batch per terminal, and
``close_batch`` closes each terminal's part of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ips.domain.responses import ResponseCode
from ips.domain.terminals import next_terminal_id
from ips.processing.port import Answer, BatchTotals, FinancialAdvice, ProcessingCenter
from ips.services.claims import claimant
from ips.services.clock import Clock, utc_now
from ips.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

DEFAULT = "IPS00001"
LEASE = timedelta(seconds=30)
"""How long a lease runs unless renewed: a node that died frees its id after this."""
RENEW_EVERY = 10.0
"""Seconds between renewals: two may fail before the lease runs out."""
COUNTS_KEPT = timedelta(days=2)
"""How long the counts of STANs of a past day are kept (a transaction transmitted before
midnight may take its STAN just after)."""


class NoFreeTerminal(Exception):
    """Every terminal id of the operator's pool is leased by a running node."""


@dataclass(frozen=True)
class Pool:
    """Which terminal ids a node may lease."""

    wanted: str = DEFAULT
    """The id the node asks for first (``IPS_TERMINAL_ID``)."""
    fixed: tuple[str, ...] = ()
    """The operator's pool (``IPS_TERMINAL_POOL``): only these are leased, and a node waits
    for one to be free. Empty: the pool grows by the next id when none is free."""

    @property
    def ids(self) -> tuple[str, ...]:
        return self.fixed or (self.wanted,)


class Terminal:
    """The terminal id the node uses now (``id``), and its lease."""

    def __init__(self, terminal_id: str = DEFAULT, owner: str = "") -> None:
        self.id = terminal_id
        self.owner = owner or claimant()  # a restarted process is another owner
        self._keeping: asyncio.Task[None] | None = None

    @classmethod
    async def lease(
        cls,
        uow_factory: UnitOfWorkFactory,
        pool: Pool,
        *,
        clock: Clock = utc_now,
        owner: str = "",
        patience: timedelta = LEASE * 2,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Terminal:
        """Leases an id of the pool; when the operator's pool has none free, waits up to
        ``patience`` for a lease to run out, then raises ``NoFreeTerminal``."""
        terminal = cls(pool.wanted, owner)
        deadline = clock() + patience
        while (taken := await _take(uow_factory, pool, terminal.owner, clock())) is None:
            if clock() >= deadline:
                raise NoFreeTerminal(await _holders(uow_factory, pool, clock()))
            log.warning("every terminal id of the pool is leased; waiting for one to be free")
            await sleep(RENEW_EVERY)
        terminal.id = taken
        if taken != pool.wanted:
            log.warning("terminal %s is another node's: this node takes %s", pool.wanted, taken)
        log.info("this node is terminal %s", taken)
        return terminal

    async def renew(
        self,
        uow_factory: UnitOfWorkFactory,
        pool: Pool,
        sign_on_as: Callable[[str], Awaitable[None]],
        clock: Clock = utc_now,
    ) -> None:
        """Renews the lease; when another node took the id over meanwhile, leases another
        and signs on as it (keeping the id, shared, when none is free)."""
        now = clock()
        async with uow_factory() as uow:
            kept = await uow.terminals.renew(self.id, self.owner, now + LEASE)
            await uow.terminals.forget_counts_before((now - COUNTS_KEPT).astimezone(UTC).date())
            await uow.commit()
        if kept:
            return
        taken = await _take(uow_factory, pool, self.owner, clock())
        if taken is None:
            log.error("terminal %s was taken over by another node and none is free", self.id)
            return
        log.warning("terminal %s was taken over by another node: this node is now %s",
                    self.id, taken)  # fmt: skip
        self.id = taken
        await sign_on_as(taken)

    def start_keeping(
        self,
        uow_factory: UnitOfWorkFactory,
        pool: Pool,
        sign_on_as: Callable[[str], Awaitable[None]],
        *,
        every: float = RENEW_EVERY,
    ) -> None:
        """Renews the lease every ``every`` seconds until ``stop``."""

        async def keep() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.renew(uow_factory, pool, sign_on_as)
                except Exception:
                    log.exception("the lease of terminal %s was not renewed", self.id)

        self._keeping = asyncio.create_task(keep())

    async def stop(self, uow_factory: UnitOfWorkFactory) -> None:
        """Stops renewing the lease and gives the id back."""
        if self._keeping is not None:
            self._keeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeping
        try:
            async with uow_factory() as uow:
                await uow.terminals.release(self.id, self.owner)
                await uow.commit()
        except Exception as exc:
            log.warning("terminal %s not released (%s): its lease runs out", self.id, exc)
        else:
            log.info("terminal %s released", self.id)


async def _take(
    uow_factory: UnitOfWorkFactory, pool: Pool, owner: str, now: datetime
) -> str | None:
    """Leases the wanted id when it is free, else the first free one of the pool, else (the
    pool not fixed) a new one; ``None`` when the fixed pool has none free."""
    until = now + LEASE
    async with uow_factory() as uow:
        await uow.terminals.add(pool.ids)
        taken = await _first_free(uow, pool, owner, now)
        while taken is None and not pool.fixed:
            made = next_terminal_id(pool.wanted, [t.terminal_id for t in await uow.terminals.all()])
            await uow.terminals.add([made])
            if await uow.terminals.lease(made, owner, now, until):
                taken = made  # else another node made it and took it first: make the next
        await uow.commit()
    return taken


async def _holders(uow_factory: UnitOfWorkFactory, pool: Pool, now: datetime) -> str:
    async with uow_factory(readonly=True) as uow:
        leases = [lease for lease in await uow.terminals.all() if lease.terminal_id in pool.ids]
    held = "; ".join(
        f"{lease.terminal_id} by {lease.owner} until {lease.until:%H:%M:%S}"
        for lease in leases
        if lease.held_at(now)
    )
    return (
        f"every terminal id of the pool is leased by a running node ({held}): give"
        " IPS_TERMINAL_POOL more ids"
    )


async def _first_free(uow: UnitOfWork, pool: Pool, owner: str, now: datetime) -> str | None:
    until = now + LEASE
    if pool.wanted in pool.ids and await uow.terminals.lease(pool.wanted, owner, now, until):
        return pool.wanted
    free = await uow.terminals.first_free(owner, now, among=pool.fixed)
    if free is not None and await uow.terminals.lease(free, owner, now, until):
        return free
    return None


async def close_batch(
    processing: ProcessingCenter, totals: BatchTotals, advices: Sequence[FinancialAdvice]
) -> Answer:
    """Closes a settlement batch at the processing center, which keeps a batch per terminal:
    for each terminal the advices went under, a close with that terminal's counts and totals
    (and ``totals.id``'s STAN, RRN and time), in turn. The answer is the first that is not an
    approval, else the last. Closing again a terminal's part that the processing center
    accepted already posts nothing and is answered ``AS000``, so a close that was cut off is
    simply made again."""
    under = sorted({advice.id.terminal_id for advice in advices})
    if len(under) <= 1:
        return await processing.close_batch(
            replace(totals, id=replace(totals.id, terminal_id=under[0] if under else ""))
        )
    parts = [_part(totals, [a for a in advices if a.id.terminal_id == t]) for t in under]
    if _figures(*parts) != _figures(totals):
        log.error("batch %s: its advices do not add up to its totals", totals.batch)
        return Answer(ResponseCode.RECEPTION_ERROR)
    for part in parts[:-1]:
        answer = await processing.close_batch(part)
        if not answer.approved:
            return answer
    return await processing.close_batch(parts[-1])


def _part(totals: BatchTotals, advices: Sequence[FinancialAdvice]) -> BatchTotals:
    debits = [a.amount.minor for a in advices if not a.credit]
    credits = [a.amount.minor for a in advices if a.credit]
    return replace(
        totals,
        id=replace(totals.id, terminal_id=advices[0].id.terminal_id),
        debits=len(debits),
        debit_total=sum(debits),
        credits=len(credits),
        credit_total=sum(credits),
    )


def _figures(*parts: BatchTotals) -> tuple[int, int, int, int]:
    return (
        sum(p.debits for p in parts),
        sum(p.debit_total for p in parts),
        sum(p.credits for p in parts),
        sum(p.credit_total for p in parts),
    )
