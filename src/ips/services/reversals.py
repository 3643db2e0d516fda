"""Reversals: releasing an authorization's hold at the processing center.

A reversal is its own transaction, pointing at the authorization whose hold it releases (all
of it when the authorization went unanswered; part or the rest of it for a cancel or for
``AutoDeposit``), and belonging to the operation that asked for it. It is sent as 0400 and
repeated as 0401, with the same STAN, until the processing center answers: "released"
(AS000) and "no such hold" (AS400) both close it; an unanswered authorization then becomes
``reversed``. Each attempt runs in the same three phases as a payment, so no database
transaction waits on the network.

Whoever sends a reversal claims it first (``services/claims.py``), in the commit that marks
it sent: a reversal another sender holds — the buyer's request on one node, the janitor on
another — is left to it, so each repeat goes out once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ips.domain.cards import Pan
from ips.domain.money import Money
from ips.domain.orders import Operation, Transaction, TransactionKind
from ips.domain.responses import ResponseCode
from ips.domain.states import TransactionStatus
from ips.faults import fault
from ips.logs.context import about, about_order
from ips.processing.port import Answer, MessageId, NoAnswer, ReversalRequest
from ips.services.claims import LEASE, ClaimedElsewhere, claimant
from ips.services.gateway import Gateway
from ips.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

PAN_CONTEXT = "card number"
_DONE = frozenset({ResponseCode.SUCCESS, ResponseCode.NO_SUCH_PAYMENT})
_CLOSED = frozenset({TransactionStatus.APPROVED, TransactionStatus.DECLINED})


async def open_reversal(
    uow: UnitOfWork,
    authorization: Transaction,
    operation: Operation,
    amount: Money,
    now: datetime,
) -> int:
    """Adds the reversal of ``amount`` of ``authorization`` for ``operation`` (to be sent
    after the commit); returns its id."""
    assert operation.id is not None
    reversal = Transaction(
        order_id=authorization.order_id,
        operation_id=operation.id,
        kind=TransactionKind.REVERSAL,
        amount=amount,
        created_at=now,
        original_id=authorization.id,
    )
    await uow.transactions.add(reversal)
    assert reversal.id is not None
    return reversal.id


async def send_reversal(
    reversal_id: int, gateway: Gateway, *, attempts: int = 1, claim: str | None = None
) -> bool:
    """Sends (or repeats) the reversal up to ``attempts`` times; True once it is answered.
    ``claim`` names the caller's claim on it (the janitor's), which the sending ends;
    without one, the reversal is claimed here. A reversal another sender holds is left
    alone (False)."""
    holder = claim or claimant()
    for attempt in range(1, attempts + 1):
        try:
            prepared = await _prepare(reversal_id, gateway, holder)
        except ClaimedElsewhere:
            log.info("reversal %s is being sent by another sender", reversal_id)
            return False
        if prepared is None:
            return True
        request, acquirer = prepared
        try:
            answer: Answer | None = await gateway.processing_of(acquirer).reverse(request)
        except NoAnswer:
            log.warning("no answer to reversal %s", reversal_id)
            answer = None
        fault("reversal.sent")
        if await _record(reversal_id, answer, gateway, holder, last=attempt == attempts):
            return True
    return False


async def _prepare(
    reversal_id: int, gateway: Gateway, holder: str
) -> tuple[ReversalRequest, str] | None:
    """The reversal to send, and the acquirer of its authorization, which takes it."""
    async with gateway.uow_factory() as uow:
        order = await uow.orders.of_transaction(reversal_id, lock=True)
        reversal = await uow.transactions.get(reversal_id)
        assert order is not None and reversal is not None and reversal.original_id is not None
        about_order(order)
        if reversal.status in _CLOSED:
            return None
        now = gateway.clock()
        if not await uow.transactions.claim(reversal, holder, now, now + LEASE):
            raise ClaimedElsewhere(f"reversal {reversal_id}")
        original = await uow.transactions.get(reversal.original_id)
        assert original is not None
        payment = await uow.operations.get(original.operation_id)
        assert payment is not None and payment.sealed_pan is not None
        about(acquirer=original.acquirer)
        if reversal.operation_id == payment.id:  # the payment's own: it was not answered
            about_order(order, payment)
        reversal.mark_sent(now)
        await uow.transactions.save(reversal)
        fault("reversal.prepare.committing")
        await uow.commit()
    fault("reversal.prepare.committed")
    request = ReversalRequest(
        id=message_id(reversal),
        original=message_id(original),
        pan=Pan(gateway.keyring.open(payment.sealed_pan, PAN_CONTEXT)),
        amount=reversal.amount,
        merchant_id=order.merchant_id,
        repeat=reversal.attempts > 1,
    )
    return request, original.acquirer


async def _record(
    reversal_id: int, answer: Answer | None, gateway: Gateway, holder: str, *, last: bool
) -> bool:
    """Records the answer (or its absence); the claim ends with an answer or the last
    attempt."""
    async with gateway.uow_factory() as uow:
        await uow.orders.of_transaction(reversal_id, lock=True)
        reversal = await uow.transactions.get(reversal_id)
        assert reversal is not None and reversal.original_id is not None
        original = await uow.transactions.get(reversal.original_id)
        assert original is not None
        if reversal.status in _CLOSED:
            return True
        now = gateway.clock()
        if answer is None or answer.code not in _DONE:
            if answer is not None:
                log.error("reversal %s refused: %s", reversal_id, answer.raw_code)
            reversal.mark_unanswered(now)
            await uow.transactions.save(reversal)
            if last:
                await uow.transactions.release(reversal_id, holder)
            fault("reversal.record.committing")
            await uow.commit()
            fault("reversal.record.committed")
            return False
        await uow.transactions.release(reversal_id, holder)
        log.info("reversal %s answered %s", reversal_id, answer.raw_code)
        reversal.response = answer.raw_code
        reversal.change_status(TransactionStatus.APPROVED, now)
        await uow.transactions.save(reversal)
        if original.status is TransactionStatus.UNKNOWN:  # the payment it held never happened
            original.change_status(TransactionStatus.REVERSED, now)
            await uow.transactions.save(original)
        fault("reversal.record.committing")
        await uow.commit()
    fault("reversal.record.committed")
    return True


def message_id(transaction: Transaction) -> MessageId:
    assert transaction.transmitted_at is not None
    return MessageId(
        transaction.stan, transaction.rrn, transaction.transmitted_at, transaction.terminal_id
    )
