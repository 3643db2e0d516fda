"""Reconciliation: IPS's books against the processing center's, authorization by authorization.

For each authorization (by its RRN) IPS knows what the bank should hold: the authorized
amount, of which answered reversals released some, accepted debits captured some, and
accepted credits gave some back. The bank reports the same four figures. Every mismatch is a
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


@dataclass(frozen=True)
class Difference:
    rrn: str
    what: str
    ips: str
    bank: str

    def __str__(self) -> str:
        return f"{self.rrn}: {self.what}: IPS {self.ips}, bank {self.bank}"


async def reconcile(
    uow_factory: UnitOfWorkFactory, bank: Mapping[str, Figures]
) -> list[Difference]:
    """The differences between IPS's books and ``bank`` (figures by authorization RRN)."""
    async with uow_factory(readonly=True) as uow:
        ours = expected_figures(await uow.transactions.all())
    differences = []
    for rrn in sorted(set(ours) | set(bank)):
        mine, theirs = ours.get(rrn), bank.get(rrn)
        if mine is None:
            assert theirs is not None
            differences.append(Difference(rrn, "hold unknown to IPS", "none", _show(theirs)))
        elif theirs is None:
            if mine.amount - mine.released:
                differences.append(Difference(rrn, "no hold at the bank", _show(mine), "none"))
        else:
            differences += [
                Difference(rrn, name, str(getattr(mine, name)), str(getattr(theirs, name)))
                for name in ("currency", "amount", "released", "captured", "credited")
                if getattr(mine, name) != getattr(theirs, name)
            ]
    return differences


def expected_figures(transactions: list[Transaction]) -> dict[str, Figures]:
    """What the bank should report for each authorization IPS sent."""
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
        figures[t.rrn] = Figures(
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
