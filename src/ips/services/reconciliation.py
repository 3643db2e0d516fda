"""Reconciliation: IPS's books against the processing center's, authorization by authorization.

For each authorization IPS knows what the bank should hold: the authorized amount, of which
answered reversals released some, accepted debits captured some, and accepted credits gave
some back. The bank reports the same four figures. Both sides name an authorization by its
terminal and RRN, as the bank keeps its holds; the bank's holds of terminals that are not
IPS's (neither in its pool nor on its transactions) are left out. Every mismatch is a
difference — including work still under way (a reversal not yet answered, a batch not yet
accepted), which the janitor and the next settlement resolve.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from ips.domain.acquirers import DEFAULT_ACQUIRER
from ips.domain.orders import Transaction, TransactionKind
from ips.domain.reconciliation import Authorization, Difference, Figures, KeptDifference
from ips.domain.states import TransactionStatus
from ips.services.unit_of_work import UnitOfWorkFactory


async def reconcile_and_keep(
    uow_factory: UnitOfWorkFactory,
    bank: Mapping[Authorization, Figures],
    acquirer: str,
    now: datetime,
    *,
    day: date | None = None,
) -> list[Difference]:
    """``ips reconcile``: reconciles the acquirer's report and keeps what differs — a
    difference found again stays as first found, one no longer found is resolved (the work
    under way that made it has settled). Returns the acquirer's open differences."""
    found = await reconcile(uow_factory, bank, acquirer=acquirer, day=day)
    async with uow_factory() as uow:
        kept = await uow.differences.open(acquirer, lock=True)
        by_key = {d.key: i for i, d in kept.items()}
        await uow.differences.resolve(set(kept) - {by_key.get(d.key) for d in found}, now)
        await uow.differences.seen([by_key[d.key] for d in found if d.key in by_key], now)
        await uow.differences.add(acquirer, [d for d in found if d.key not in by_key], now)
        await uow.commit()
    first_found = {d.key: d.found_at for d in kept.values()}
    return [replace(d, found_at=first_found.get(d.key, now)) for d in found]


LISTED = 500
"""The most differences the operator console lists at once."""


@dataclass(frozen=True)
class KeptDifferences:
    differences: list[KeptDifference]
    acquirers: list[str]
    """Every acquirer's name, the default's first (to choose one by)."""


async def kept_differences(
    uow_factory: UnitOfWorkFactory, *, resolved: bool, acquirer: str = ""
) -> KeptDifferences:
    """The differences still open (or resolved), of ``acquirer`` or of all, latest first."""
    async with uow_factory(readonly=True) as uow:
        found = await uow.differences.listed(resolved=resolved, acquirer=acquirer, limit=LISTED)
        others = sorted(a.name for a in await uow.acquirers.all())
    return KeptDifferences(found, [DEFAULT_ACQUIRER, *others])


async def reconcile(
    uow_factory: UnitOfWorkFactory,
    bank: Mapping[Authorization, Figures],
    *,
    acquirer: str | None = None,
    day: date | None = None,
) -> list[Difference]:
    """The differences between IPS's books and ``bank`` (figures by terminal and RRN): of
    the authorizations sent to ``acquirer`` (None: to any), and of those sent on ``day``
    (UTC) when the bank reports a day."""
    async with uow_factory(readonly=True) as uow:
        sent = [
            t
            for t in await uow.transactions.all()
            if acquirer is None or (t.acquirer or DEFAULT_ACQUIRER) == acquirer
        ]
        ours = expected_figures(sent, day)
        terminals = {lease.terminal_id for lease in await uow.terminals.all()}
    terminals |= {terminal for terminal, _ in ours}
    theirs_all = {key: figures for key, figures in bank.items() if key[0] in terminals}
    differences = []
    for key in sorted(set(ours) | set(theirs_all)):
        mine, theirs = ours.get(key), theirs_all.get(key)
        if mine is None:
            assert theirs is not None
            differences.append(Difference(*key, "hold unknown to IPS", "none", _show(theirs)))
        elif theirs is None:
            if mine.amount - mine.released:
                differences.append(Difference(*key, "no hold at the bank", _show(mine), "none"))
        else:
            differences += [
                Difference(*key, name, str(getattr(mine, name)), str(getattr(theirs, name)))
                for name in ("currency", "amount", "released", "captured", "credited")
                if getattr(mine, name) != getattr(theirs, name)
            ]
    return differences


def expected_figures(
    transactions: list[Transaction], day: date | None = None
) -> dict[Authorization, Figures]:
    """What the bank should report for each authorization IPS sent (on ``day``, UTC, when
    given), by terminal and RRN."""
    done: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in transactions:
        if t.original_id is None or t.status is not TransactionStatus.APPROVED:
            continue
        figure = {
            TransactionKind.REVERSAL: "released",
            TransactionKind.FINANCIAL: "captured",
            TransactionKind.REFUND: "credited",
        }.get(t.kind)
        if figure:
            done[t.original_id][figure] += t.amount.minor
    figures = {}
    for t in transactions:
        if t.kind is not TransactionKind.AUTHORIZATION or t.transmitted_at is None:
            continue
        if t.status is TransactionStatus.DECLINED:
            continue
        if day is not None and t.transmitted_at.astimezone(UTC).date() != day:
            continue
        assert t.id is not None
        moved = done[t.id]
        figures[t.terminal_id, t.rrn] = Figures(
            t.amount.currency.code,
            t.amount.minor,
            moved["released"],
            moved["captured"],
            moved["credited"],
        )
    return figures


def _show(figures: Figures) -> str:
    return (
        f"{figures.amount} held, {figures.released} released, {figures.captured} captured, "
        f"{figures.credited} credited ({figures.currency})"
    )
