"""Settlement: sending the financial transactions of successful payments, in batches.

Closing (phase 1, one database transaction): every unsent debit and refund is put into a
batch of its currency, the orders they belong to locked first, so that no cancel changes
them meanwhile; from then on they count as presented. Sending (phase 2, no database
transaction open): each transaction goes out as an advice, then the batch's counts and
totals. The processing center posts the batch only when they agree; if they do not, every
advice is sent again (the processing center keeps each once) and the batch closed again;
still out of balance, the batch is reported for an operator. A batch whose sending was
interrupted stays ``closing`` and is sent again by the next run — never posted twice, since
the processing center accepts a batch number once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time

from ips.domain.cards import Pan
from ips.domain.money import Money
from ips.domain.orders import Transaction, TransactionKind
from ips.domain.settlement import BatchStatus, SettlementBatch
from ips.domain.states import TransactionStatus
from ips.processing.port import Answer, BatchTotals, FinancialAdvice, MessageId, NoAnswer
from ips.services.gateway import Gateway
from ips.services.reversals import PAN_CONTEXT, message_id

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


async def settle(gateway: Gateway) -> list[BatchReport]:
    """Closes the open batch now and sends it, with any batch left unsent before."""
    await _close_open_batch(gateway)
    return await resend_unfinished(gateway)


async def settle_if_due(gateway: Gateway, cutoff: time) -> list[BatchReport]:
    """The schedule: after the day's cut-off, once a day, close the open batch; at any other
    time, only send again the batches whose sending was interrupted."""
    now = gateway.clock()
    todays_cutoff = datetime.combine(now.date(), cutoff, tzinfo=UTC)
    async with gateway.uow_factory(readonly=True) as uow:
        last = await uow.batches.last_created()
    if now >= todays_cutoff and (last is None or last < todays_cutoff):
        return await settle(gateway)
    return await resend_unfinished(gateway)


async def resend_unfinished(gateway: Gateway) -> list[BatchReport]:
    """Sends the batches whose sending was interrupted."""
    async with gateway.uow_factory(readonly=True) as uow:
        pending = [b.id for b in await uow.batches.closing() if b.id is not None]
    return [await _send(batch_id, gateway) for batch_id in pending]


async def _close_open_batch(gateway: Gateway) -> None:
    async with gateway.uow_factory() as uow:
        candidates = await uow.transactions.unbatched()
        orders = {
            o.id: o for o in await uow.orders.lock_many(sorted({t.order_id for t in candidates}))
        }
        # read again under the locks: a cancel may have withdrawn some meanwhile
        unsent = [t for t in await uow.transactions.unbatched() if t.order_id in orders]
        now = gateway.clock()
        batches: dict[str, SettlementBatch] = {}
        for transaction in unsent:
            code = transaction.amount.currency.code
            batch = batches.setdefault(code, SettlementBatch(transaction.amount.currency, now))
            batch.add(transaction.amount.minor, credit=_is_credit(transaction))
        for batch in batches.values():
            await uow.batches.add(batch)
        for transaction in unsent:
            transaction.batch_id = batches[transaction.amount.currency.code].id
            transaction.mark_sent(now)
            await uow.transactions.save(transaction)
            if not _is_credit(transaction):
                orders[transaction.order_id].present(transaction.amount.minor)
        for order in orders.values():
            await uow.orders.save(order)
        await uow.commit()


def _is_credit(transaction: Transaction) -> bool:
    return transaction.kind is TransactionKind.REFUND


async def _send(batch_id: int, gateway: Gateway) -> BatchReport:
    batch, advices, report = await _load(batch_id, gateway)
    if batch.status is not BatchStatus.CLOSING:
        return report
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
        for attempt in range(RESENDS + 1):
            repeat = attempt > 0 or batch.attempts > 0
            for advice in advices:
                answer = await gateway.processing.advise(replace(advice, repeat=repeat))
                if not answer.approved:
                    log.error("batch %s: advice %s refused (%s)", batch_id, advice.id.stan,
                              answer.raw_code)  # fmt: skip
            outcome = await gateway.processing.close_batch(totals)
            if outcome.approved:
                break
            log.warning("batch %s out of balance (%s)", batch_id, outcome.raw_code)
    except NoAnswer:
        log.warning("batch %s: the processing center did not answer; it is sent again later",
                    batch_id)  # fmt: skip
    return await _record(batch_id, outcome, gateway)


async def _load(
    batch_id: int, gateway: Gateway
) -> tuple[SettlementBatch, list[FinancialAdvice], BatchReport]:
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
        merchants = {
            o.id: o.merchant_id for o in await uow.orders.many({m.order_id for m in members})
        }
    advices = []
    per_merchant: dict[str, MerchantTotals] = defaultdict(lambda: MerchantTotals(""))
    for member in members:
        original = originals[member.original_id or 0]
        sealed = payments[original.operation_id].sealed_pan
        assert sealed is not None
        merchant_id = merchants[member.order_id]
        credit = _is_credit(member)
        advices.append(
            FinancialAdvice(
                id=message_id(member),
                original=message_id(original),
                batch=batch_id,
                pan=Pan(gateway.keyring.open(sealed, PAN_CONTEXT)),
                amount=member.amount,
                credit=credit,
                merchant_id=merchant_id,
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


async def _record(batch_id: int, outcome: Answer | None, gateway: Gateway) -> BatchReport:
    """Phase 3: the batch is accepted, out of balance, or (no answer) still to be sent."""
    async with gateway.uow_factory() as uow:
        batch = await uow.batches.get(batch_id, lock=True)
        assert batch is not None
        now = gateway.clock()
        batch.attempts += 1
        batch.updated_at = now
        if outcome is not None and outcome.approved:
            batch.status = BatchStatus.ACCEPTED
            for member in await uow.transactions.of_batch(batch_id):
                member.change_status(TransactionStatus.APPROVED, now)
                await uow.transactions.save(member)
        elif outcome is not None:
            batch.status = BatchStatus.OUT_OF_BALANCE
            log.error("batch %s stays out of balance: an operator must look at it", batch_id)
        await uow.batches.save(batch)
        await uow.commit()
    _, _, report = await _load(batch_id, gateway)
    return report
