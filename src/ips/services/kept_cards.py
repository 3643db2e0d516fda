"""Keeping a card for the shop's customer or for the recurring payments of a first order, and
removing one (``domain/kept_cards.py``); paying with one is ``payments.pay_with_kept_card``,
charging one kept for recurring payments ``recurring.pay_recurring``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from ips.crypto.keyring import KeyRing
from ips.domain.errors import NotFound, Refused
from ips.domain.kept_cards import KeptCard, kept_card_for, recurring_card
from ips.domain.orders import Operation, Order
from ips.domain.states import OperationStatus
from ips.faults import fault
from ips.services.gateway import Gateway
from ips.services.reversals import PAN_CONTEXT
from ips.services.unit_of_work import UnitOfWork

_MAC_PURPOSE = "kept card numbers"


async def remove_kept_card(billnumber: str, card_id: int, gateway: Gateway) -> None:
    """The buyer of an order that may be paid now removes one of its customer's kept cards
    (the page of an order paid or expired changes nothing); the card is deleted."""
    now = gateway.clock()
    async with gateway.uow_factory() as uow:
        order = await uow.orders.get(billnumber)
        if order is None:
            raise NotFound("no such order", field="billnumber")
        assert order.id is not None
        merchant = await uow.merchants.get(order.merchant_id)
        assert merchant is not None
        operations = await uow.operations.of_order(order.id)
        limit, lifetime = merchant.payment_attempts, gateway.timings.order_lifetime
        if not order.may_be_paid(operations, limit, now, lifetime):
            raise Refused(f"the order is {order.state.value}: its page changes nothing")
        kept = kept_card_for(order, await uow.kept_cards.get(card_id), now.date())
        assert kept.id is not None
        await uow.kept_cards.remove(kept.id)
        await uow.commit()


async def purge_expired(gateway: Gateway) -> int:
    """Deletes the kept cards past their expiry month, or past the last day of the recurring
    payments they were kept for (the janitor's): no sealed number is kept longer than it can
    pay."""
    async with gateway.uow_factory() as uow:
        purged = await uow.kept_cards.purge(gateway.clock().date())
        fault("janitor.kept_card_purge.committing")
        await uow.commit()
    fault("janitor.kept_card_purge.committed")
    return purged


async def keep_if_asked(
    uow: UnitOfWork, order: Order, payment: Operation, keyring: KeyRing, now: datetime
) -> None:
    """A step of the commit that records a payment's answer: the card of a successful payment
    is kept, in the same commit, for the order's customer when the buyer asked to keep it,
    and for the order's recurring payments when it is their first order (the buyer's
    agreement to the terms is the consent) — the same card twice when both."""
    if not (payment.status is OperationStatus.SUCCESS and payment.sealed_pan and payment.card):
        return
    recurring = recurring_card(order, payment.card, payment.sealed_pan, now)
    if recurring is not None:
        await uow.kept_cards.keep(recurring)
    if not (payment.keep_card and order.customer_number):
        return
    pan = keyring.open(payment.sealed_pan, PAN_CONTEXT)
    key = keyring.derive(_MAC_PURPOSE)
    mac = hmac.new(key, pan.encode(), hashlib.sha256).hexdigest()
    kept = KeptCard(
        order.merchant_id, order.customer_number, payment.card, payment.sealed_pan, mac, now
    )
    await uow.kept_cards.keep(kept)
