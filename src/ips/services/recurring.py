"""Recurring payments (``/recurrent/rp.cfm``): the merchant charges the card of a first order
again, within the terms the buyer agreed to there (``domain/recurring.py``).

Each payment is a new order, linked to the first one, paid with no CVC by the card kept for
these payments when the first order was paid (``domain/kept_cards.py``; once it expired or
the terms ended it is gone, and the payment is refused): single-stage, or held (``Delay=1``)
where the merchant, the processing center and its rule for stored cards allow it — refused
before any money moves where they do not. The first order stays locked while the terms are
checked and the new order is added, so two requests at once cannot both pass the period
between payments.
"""

from __future__ import annotations

from dataclasses import dataclass

from ips.crypto.keyring import KeyRing
from ips.domain.cards import Card, Pan
from ips.domain.errors import MissingInput, NotFound, Refused
from ips.domain.kept_cards import KeptCard, charged_card
from ips.domain.money import Money, currency
from ips.domain.orders import Operation, OperationKind
from ips.domain.states import OperationStatus
from ips.logs.context import about_order
from ips.services.gateway import Gateway
from ips.services.merchants import Caller, identify
from ips.services.operations import OperationResult, parse_billnumber
from ips.services.orders import CreateOrder, add_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.reversals import PAN_CONTEXT
from ips.services.routing import acquirer_for, check_hold


@dataclass(frozen=True)
class RecurringPayment:
    billnumber: str
    ordernumber: str
    amount: str
    currency: str = ""
    comment: str = ""
    client_ip: str = ""
    delay: bool = False


async def pay_recurring(cmd: RecurringPayment, caller: Caller, gateway: Gateway) -> OperationResult:
    if not cmd.ordernumber.strip():
        raise MissingInput("OrderNumber is required", field="ordernumber")
    if not cmd.amount.strip():
        raise MissingInput("Amount is required", field="amount")
    merchant = await identify(caller, gateway)
    billnumber, _ = parse_billnumber(cmd.billnumber)
    async with gateway.uow_factory() as uow:
        first = await uow.orders.get(billnumber, lock=True)
        if first is None or first.merchant_id != merchant.merchant_id:
            raise NotFound("no such order", field="billnumber")
        about_order(first)
        if first.recurring is None:
            raise Refused("this order did not set up recurring payments", field="billnumber")
        assert first.id is not None
        kept = await uow.kept_cards.for_recurring(first.id)
        if kept is None and not _paid_by_card(await uow.operations.of_order(first.id)):
            raise Refused("the first order was not paid by card", field="billnumber")
        amount = Money.parse(
            cmd.amount, currency(cmd.currency) if cmd.currency else first.amount.currency
        )
        now = gateway.clock()
        first.recurring.check(amount, now, await uow.orders.last_recurring(first.id))
        card = _card(charged_card(first, kept, now.date()), gateway.keyring)
        if cmd.delay:
            acquirer = acquirer_for(gateway, merchant, amount.currency, card.pan.brand)
            check_hold(acquirer, stored_card=True)
        request = CreateOrder(
            merchant_id=merchant.merchant_id,
            ordernumber=cmd.ordernumber.strip(),
            amount=amount.format(),
            currency=amount.currency.code,
            language=first.language,
            comment=cmd.comment,
            buyer=first.buyer,
            delay=cmd.delay,
        )
        order = await add_order(uow, merchant, request, request.ordernumber, gateway, first.id)
        await uow.commit()
    step = await pay_by_card(
        PayByCard(order.billnumber, card, cmd.client_ip, recurring=True), gateway
    )
    paid = step.order
    async with gateway.uow_factory(readonly=True) as uow:
        assert paid.id is not None
        [payment] = await uow.operations.of_order(paid.id)
    return OperationResult(merchant, paid, payment, payment)


def _paid_by_card(operations: list[Operation]) -> bool:
    return any(
        op.kind is OperationKind.PAYMENT
        and op.status is OperationStatus.SUCCESS
        and op.sealed_pan is not None
        for op in operations
    )


def _card(kept: KeptCard, keyring: KeyRing) -> Card:
    """The kept card as the merchant may charge it: no CVC."""
    pan = Pan(keyring.open(kept.sealed_pan, PAN_CONTEXT))
    return Card(pan, kept.card.valid_thru, None, kept.card.holder)
