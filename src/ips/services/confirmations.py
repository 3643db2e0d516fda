"""Confirmation of a double-stage payment (``charge``): charging all or part of the hold.

Accepted while something is held unconfirmed: ``Delayed``, ``PartialDelayed``, and
``PartialCanceled`` with a hold left. Several partial confirmations may follow one another up
to the held amount; ``AutoDeposit`` releases what is left unconfirmed (a partial reversal at
the processing center). The confirmed amount goes into the next settlement batch as a debit.
A confirmation when nothing is held any more is refused and changes nothing, so a repeated
request never charges twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ips.domain.audit import Actor
from ips.domain.errors import Conflict
from ips.domain.money import Money
from ips.domain.orders import Operation, OperationKind
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus
from ips.faults import fault
from ips.logs.context import about_order
from ips.services.audit import note
from ips.services.gateway import Gateway
from ips.services.merchants import Caller, identify
from ips.services.notifications import enqueue
from ips.services.operations import (
    OperationResult,
    asked_value,
    lock_paid_order,
    order_subject,
    order_values,
    requested_amount,
)
from ips.services.payments import present_later
from ips.services.reversals import open_reversal, send_reversal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Confirm:
    billnumber: str
    amount: str = ""
    currency: str = ""
    auto_deposit: bool = False
    client_ip: str = ""
    unconfirmed: int | None = None
    """What the caller saw still held (minor units): a confirmation is refused when the
    hold has changed since, so a form sent twice charges once."""


async def confirm(
    cmd: Confirm, caller: Caller, gateway: Gateway, *, actor: Actor | None = None
) -> OperationResult:
    """``actor``: the person who confirms (the Personal Account), written in the audit trail
    with the confirmation; a shop's web-service call has none."""
    merchant = await identify(caller, gateway)
    reversal_id = None
    async with gateway.uow_factory() as uow:
        paid = await lock_paid_order(uow, merchant, cmd.billnumber)
        order, now = paid.order, gateway.clock()
        before = order.paid_books
        if cmd.unconfirmed is not None and cmd.unconfirmed != before.unconfirmed:
            raise Conflict("the order has changed since the form was shown: look at it again")
        amount = requested_amount(cmd.amount, cmd.currency, before)
        values = order_values(order)
        confirmed = order.confirm(amount, cmd.auto_deposit, now)
        assert order.id is not None and order.books is not None
        confirmation = Operation(
            order_id=order.id,
            number=paid.next_number,
            kind=OperationKind.CONFIRMATION,
            amount=before.money(confirmed),
            created_at=now,
            client_ip=cmd.client_ip,
        )
        confirmation.finish(OperationStatus.SUCCESS, ResponseCode.SUCCESS, now)
        await uow.operations.add(confirmation)
        about_order(order, confirmation)
        await present_later(uow, confirmation, paid.authorization, confirmation.amount, now)
        released = order.books.released - before.released
        if released:
            reversal_id = await open_reversal(
                uow, paid.authorization, confirmation, Money(released, before.currency), now
            )
        await uow.orders.save(order)
        await enqueue(uow, merchant, order, confirmation, paid.payment, now)
        if actor is not None:
            asked = {"asked": asked_value(amount, before), "release_rest": cmd.auto_deposit}
            await note(
                uow, actor, "order.confirm", order_subject(order), now,
                before=values, after=order_values(order) | asked,
            )  # fmt: skip
        fault("confirmation.committing")
        await uow.commit()
    fault("confirmation.committed")
    log.info(
        "confirmation %s.%d of %s; the order is %s",
        order.billnumber,
        confirmation.number,
        confirmation.amount,
        order.state.value,
    )
    if reversal_id is not None:
        await send_reversal(reversal_id, gateway, attempts=gateway.reversal_attempts)
    return OperationResult(merchant, order, confirmation, paid.payment)
