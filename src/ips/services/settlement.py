"""Settlement: sending the financial transactions of successful payments, in batches.

Closing (phase 1, one database transaction): every unsent debit and refund is put into a
batch of its currency, the orders they belong to locked first, so that no cancel changes
them meanwhile; from then on they count as presented. Sending (phase 2, no database
transaction open): each transaction goes out as an advice, then the batch's counts and
totals. The processing center posts the batch only when they agree; if they do not, every
advice is sent again (the processing center keeps each once) and the batch closed again;
still out of balance, the batch is reported for an operator, who may send it again from the
console once the cause is mended (``send_again``). A batch whose sending was
interrupted stays ``closing`` and is sent again by the next run — never posted twice, since
the processing center accepts a batch number once.

Every acquirer's transactions go to it in batches of their own, closed by its own cut-off.
Every node runs the schedule. The schedule closes an acquirer's period
(``domain/settlement.py``) once: the batches of a period are inserted under the unique
constraint on (period, acquirer, currency), so of two nodes closing it at once the second
fails to insert and leaves it. A batch is sent by
the node that claims it (``services/claims.py``), which renews its lease while it sends and
checks it still holds it before it closes the batch; the status is checked again, the batch
locked, when the answer is recorded. A batch whose sender died is claimed by another node
once the lease has run out, and sent again whole, as repeats.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from ips.domain.acquirers import DEFAULT_ACQUIRER
from ips.domain.audit import Actor, Subject, money_value
from ips.domain.cards import Pan
from ips.domain.errors import Conflict, NotFound
from ips.domain.money import Money
from ips.domain.orders import Transaction, TransactionKind
from ips.domain.settlement import BatchStatus, SettlementBatch, closes_at, due_period
from ips.domain.states import TransactionStatus
from ips.faults import fault
from ips.logs.context import about, scope
from ips.processing.port import Answer, BatchTotals, FinancialAdvice, MessageId, NoAnswer
from ips.services import audit
from ips.services.claims import LEASE, ClaimedElsewhere, claimant
from ips.services.gateway import Gateway
from ips.services.reversals import PAN_CONTEXT, message_id
from ips.services.terminals import close_batch
from ips.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

RESENDS = 1


@dataclass(frozen=True)
class MerchantTotals:
    merchant_id: str
    debits: int = 0
    debit_total: int = 0
    credits: int = 0
    credit_total: int = 0


@dataclass(frozen=True)
class BatchReport:
    batch: SettlementBatch
    merchants: list[MerchantTotals] = field(default_factory=list)

    def money(self, minor: int) -> Money:
        return Money(minor, self.batch.currency)


async def settle(
    gateway: Gateway, acquirer: str | None = None, *, actor: Actor | None = None
) -> list[BatchReport]:
    """``ips settle``: closes by hand what is unsent now (batches of no period), of every
    acquirer or of ``acquirer``, and sends the batches no node is sending. The audit trail
    keeps each batch closed, with ``actor``, in the transaction that closes it; its sending
    is the protocol's, in the batch's status."""
    await _close(gateway, acquirer, None, None, actor)
    return await resend_unfinished(gateway, acquirer)


async def settle_if_due(gateway: Gateway, cutoff: time) -> list[BatchReport]:
    """The schedule: for each acquirer, closes the latest period whose cut-off has passed
    (the default acquirer's ``cutoff``, the others' their own), unless it is closed already,
    with the transactions made before its cut-off; sends the batches no node is sending
    (whose sending was interrupted, or whose sender's lease ran out)."""
    cutoffs = {DEFAULT_ACQUIRER: cutoff}
    cutoffs |= {name: link.acquirer.settlement_cutoff for name, link in gateway.links.items()}
    for acquirer, its_cutoff in cutoffs.items():
        period = due_period(gateway.clock(), its_cutoff)
        await _close(gateway, acquirer, period, closes_at(period, its_cutoff))
    return await resend_unfinished(gateway)


async def resend_unfinished(gateway: Gateway, acquirer: str | None = None) -> list[BatchReport]:
    """Sends the batches still to send (of ``acquirer``, or of all) that no node is sending;
    reports those it sent."""
    async with gateway.uow_factory(readonly=True) as uow:
        pending = [
            b.id
            for b in await uow.batches.unsent(gateway.clock())
            if b.id is not None and acquirer in (None, b.acquirer)
        ]
    reports = []
    for batch_id in pending:
        report = await _send(batch_id, gateway)
        if report is not None:
            reports.append(report)
    return reports


async def send_again(batch_id: int, actor: Actor, gateway: Gateway) -> SettlementBatch:
    """An operator's resend of a batch left out of balance (``SettlementBatch.send_again``):
    in one commit with its audit entry, the batch is ``closing`` again, and the schedule of
    whichever node looks next (each minute; ``ips settle`` at once) sends it through the
    same claim as any batch, so it is sent once however many nodes run. Nothing is sent
    while the operator waits: a batch is an advice after another, each with its timeout."""
    async with gateway.uow_factory() as uow:
        batch = await uow.batches.get(batch_id, lock=True)
        if batch is None:
            raise NotFound(f"no batch {batch_id}")
        before = batch.status.value
        now = gateway.clock()
        batch.send_again(now)
        await uow.batches.save(batch)
        await audit.note(
            uow, actor, "batch.send_again", Subject("batch", str(batch_id)), now,
            before={"status": before}, after={"status": batch.status.value},
        )  # fmt: skip
        await uow.commit()
    log.info("batch %s is sent again, as %s asked", batch_id, actor)
    return batch


async def _close(
    gateway: Gateway,
    acquirer: str | None,
    period: date | None,
    before: datetime | None,
    actor: Actor | None = None,
) -> None:
    """Closes the acquirer's ``period`` (None: by hand, of every acquirer when ``acquirer``
    is None too) with its unsent transactions made before ``before``, unless the period is
    closed already."""
    async with gateway.uow_factory(readonly=True) as uow:
        if period is not None:
            assert acquirer is not None
            latest = await uow.batches.latest_period(acquirer)
            if latest is not None and latest >= period:
                return
        candidates = _of(acquirer, await uow.transactions.unbatched(before))
    if not candidates:
        return
    try:
        async with gateway.uow_factory() as uow:
            orders = {
                o.id: o
                for o in await uow.orders.lock_many(sorted({t.order_id for t in candidates}))
            }
            # read again under the locks: a cancel, or another node's close, may have taken
            # some meanwhile
            unsent = [
                t
                for t in _of(acquirer, await uow.transactions.unbatched(before))
                if t.order_id in orders
            ]
            now = gateway.clock()
            batches: dict[tuple[str, str], SettlementBatch] = {}
            for transaction in unsent:
                batch = batches.setdefault(
                    _batch_key(transaction),
                    SettlementBatch(
                        transaction.amount.currency,
                        now,
                        period=period,
                        acquirer=transaction.acquirer or DEFAULT_ACQUIRER,
                    ),
                )
                batch.add(transaction.amount.minor, credit=_is_credit(transaction))
            for batch in batches.values():
                await uow.batches.add(batch)
                if actor is not None:
                    await _note_closed(uow, actor, batch)
            for transaction in unsent:
                transaction.batch_id = batches[_batch_key(transaction)].id
                transaction.mark_sent(now)
                await uow.transactions.save(transaction)
                if not _is_credit(transaction):
                    orders[transaction.order_id].present(transaction.amount.minor)
            for order in orders.values():
                await uow.orders.save(order)
            fault("settlement.batching.committing")
            await uow.commit()
    except Conflict:
        log.info("settlement period %s was closed by another node meanwhile", period)
    else:
        fault("settlement.batching.committed")


async def _note_closed(uow: UnitOfWork, actor: Actor, batch: SettlementBatch) -> None:
    def amount(minor: int) -> dict[str, object]:
        return money_value(Money(minor, batch.currency))

    await audit.note(
        uow, actor, "settlement.close", Subject("batch", str(batch.id)), batch.created_at,
        after={
            "acquirer": batch.acquirer, "status": batch.status.value,
            "debits": batch.debits, "debit_total": amount(batch.debit_total),
            "credits": batch.credits, "credit_total": amount(batch.credit_total),
        },
    )  # fmt: skip


def _of(acquirer: str | None, transactions: list[Transaction]) -> list[Transaction]:
    if acquirer is None:
        return transactions
    return [t for t in transactions if (t.acquirer or DEFAULT_ACQUIRER) == acquirer]


def _batch_key(transaction: Transaction) -> tuple[str, str]:
    """A batch per acquirer and currency."""
    return (transaction.acquirer or DEFAULT_ACQUIRER, transaction.amount.currency.code)


def _is_credit(transaction: Transaction) -> bool:
    return transaction.kind is TransactionKind.REFUND


class _Sending:
    """A batch claimed for sending: its lease, renewed halfway through."""

    def __init__(self, batch_id: int, gateway: Gateway) -> None:
        self.batch_id = batch_id
        self.claimant = claimant()
        self._gateway = gateway
        self._renew_at = gateway.clock()

    async def claim(self) -> bool:
        """Claims the batch and counts the attempt; False when another node sends it."""
        async with self._gateway.uow_factory() as uow:
            now = self._gateway.clock()
            if not await uow.batches.claim(self.batch_id, self.claimant, now, now + LEASE):
                return False
            batch = await uow.batches.get(self.batch_id)
            assert batch is not None
            batch.attempts += 1
            batch.updated_at = now
            await uow.batches.save(batch)
            fault("settlement.claim.committing")
            await uow.commit()
        fault("settlement.claim.committed")
        self._renew_at = now + LEASE / 2
        return True

    async def keep(self, *, check: bool = False) -> None:
        """Renews the lease when half of it has passed, or at once with ``check``; raises
        ``ClaimedElsewhere`` when the batch is no longer this sender's."""
        now = self._gateway.clock()
        if not check and now < self._renew_at:
            return
        async with self._gateway.uow_factory() as uow:
            if not await uow.batches.renew(self.batch_id, self.claimant, now + LEASE):
                raise ClaimedElsewhere(f"batch {self.batch_id}")
            fault("settlement.renewal.committing")
            await uow.commit()
        fault("settlement.renewal.committed")
        self._renew_at = now + LEASE / 2


async def _send(batch_id: int, gateway: Gateway) -> BatchReport | None:
    """Sends the batch, if this node claims it; its report, or None when another node sends
    it."""
    sending = _Sending(batch_id, gateway)
    if not await sending.claim():
        return None
    batch, advices, report = await _load(batch_id, gateway)
    about(acquirer=batch.acquirer)
    totals = BatchTotals(
        id=MessageId(
            stan=batch_id % 999_999 + 1, rrn=f"{batch_id:012d}", transmitted_at=gateway.clock()
        ),
        batch=batch_id,
        currency=batch.currency,
        debits=batch.debits,
        debit_total=batch.debit_total,
        credits=batch.credits,
        credit_total=batch.credit_total,
    )
    outcome: Answer | None = None
    try:
        processing = gateway.processing_of(batch.acquirer)
        for attempt in range(RESENDS + 1):
            repeat = attempt > 0 or batch.attempts > 1
            for each in advices:
                await sending.keep()
                advice = each.advice
                with scope(merchant_id=advice.merchant_id, billnumber=each.billnumber):
                    answer = await processing.advise(replace(advice, repeat=repeat))
                    fault("settlement.advice.sent")
                    said = (
                        "batch %s: the %s of %s answered %s",
                        batch_id,
                        "credit" if advice.credit else "debit",
                        advice.amount,
                        answer.raw_code,
                    )
                    if answer.approved:
                        log.info(*said)
                    else:
                        log.error(*said)
            await sending.keep(check=True)
            outcome = await close_batch(processing, totals, [each.advice for each in advices])
            fault("settlement.batch_close.sent")
            if outcome.approved:
                break
            log.warning("batch %s out of balance (%s)", batch_id, outcome.raw_code)
    except NoAnswer:
        log.warning("batch %s: the processing center did not answer; it is sent again later",
                    batch_id)  # fmt: skip
    except ClaimedElsewhere:
        log.warning("batch %s: its lease ran out while it was sent; another node sends it",
                    batch_id)  # fmt: skip
        return None
    return BatchReport(await _record(sending, outcome, gateway), report.merchants)


@dataclass(frozen=True)
class _Advice:
    """An advice of a batch, and the order whose money it moves (for the logs)."""

    billnumber: str
    advice: FinancialAdvice


async def _load(
    batch_id: int, gateway: Gateway
) -> tuple[SettlementBatch, list[_Advice], BatchReport]:
    """The batch, its advices and its report, in a fixed number of queries."""
    async with gateway.uow_factory(readonly=True) as uow:
        batch = await uow.batches.get(batch_id)
        assert batch is not None
        members = await uow.transactions.of_batch(batch_id)
        originals = {
            t.id: t for t in await uow.transactions.many({m.original_id or 0 for m in members})
        }
        payments = {
            o.id: o for o in await uow.operations.many({t.operation_id for t in originals.values()})
        }
        orders = {o.id: o for o in await uow.orders.many({m.order_id for m in members})}
    advices = []
    per_merchant: dict[str, MerchantTotals] = defaultdict(lambda: MerchantTotals(""))
    for member in members:
        original = originals[member.original_id or 0]
        sealed = payments[original.operation_id].sealed_pan
        assert sealed is not None
        order = orders[member.order_id]
        merchant_id = order.merchant_id
        credit = _is_credit(member)
        advices.append(
            _Advice(
                order.billnumber,
                FinancialAdvice(
                    id=message_id(member),
                    original=message_id(original),
                    batch=batch_id,
                    pan=Pan(gateway.keyring.open(sealed, PAN_CONTEXT)),
                    amount=member.amount,
                    credit=credit,
                    merchant_id=merchant_id,
                ),
            )
        )
        line = per_merchant[merchant_id]
        per_merchant[merchant_id] = MerchantTotals(
            merchant_id,
            line.debits + (not credit),
            line.debit_total + (0 if credit else member.amount.minor),
            line.credits + credit,
            line.credit_total + (member.amount.minor if credit else 0),
        )
    report = BatchReport(batch, sorted(per_merchant.values(), key=lambda m: m.merchant_id))
    return batch, advices, report


async def _record(sending: _Sending, outcome: Answer | None, gateway: Gateway) -> SettlementBatch:
    """Phase 3: the batch is accepted, out of balance, or (no answer) still to be sent; its
    lease ends. Another node's answer recorded meanwhile is kept. Returns the batch as it is
    now (its members are fixed once it closes: the report's lines stay those it was sent
    with)."""
    batch_id = sending.batch_id
    async with gateway.uow_factory() as uow:
        batch = await uow.batches.get(batch_id, lock=True)
        assert batch is not None
        held = await uow.batches.release(batch_id, sending.claimant)
        accepted = outcome is not None and outcome.approved
        if batch.status is BatchStatus.CLOSING and (held or accepted):
            now = gateway.clock()
            batch.updated_at = now
            if accepted:
                batch.status = BatchStatus.ACCEPTED
                for member in await uow.transactions.of_batch(batch_id):
                    member.change_status(TransactionStatus.APPROVED, now)
                    await uow.transactions.save(member)
            elif outcome is not None:
                batch.status = BatchStatus.OUT_OF_BALANCE
                log.error("batch %s stays out of balance: an operator must look at it", batch_id)
            await uow.batches.save(batch)
        fault("settlement.record.committing")
        await uow.commit()
    fault("settlement.record.committed")
    return batch
