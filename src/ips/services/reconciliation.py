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
from dataclasses import dataclass

from ips.domain.orders import Transaction, TransactionKind
from ips.domain.states import TransactionStatus
from ips.services.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class Figures:
    """What is known of one authorization's money, in minor units of ``currency``."""

    currency: str
    amount: int = 0
    released: int = 0
    captured: int = 0
    credited: int = 0


Authorization = tuple[str, str]
"""(terminal id, RRN): how the bank and IPS name an authorization."""


@dataclass(frozen=True)
class Difference:
    terminal_id: str
    rrn: str
    what: str
    ips: str
    bank: str

    def __str__(self) -> str:
        return f"{self.terminal_id} {self.rrn}: {self.what}: IPS {self.ips}, bank {self.bank}"


async def reconcile(
    uow_factory: UnitOfWorkFactory, bank: Mapping[Authorization, Figures]
) -> list[Difference]:
    """The differences between IPS's books and ``bank`` (figures by terminal and RRN)."""
    async with uow_factory(readonly=True) as uow:
        ours = expected_figures(await uow.transactions.all())
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


def expected_figures(transactions: list[Transaction]) -> dict[Authorization, Figures]:
    """What the bank should report for each authorization IPS sent, by terminal and RRN."""
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
