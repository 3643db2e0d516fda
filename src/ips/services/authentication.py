"""The buyer comes back from the issuer's 3-D Secure page: IPS asks the issuer's server how
the check went (never the browser), and authorizes the payment only when the cardholder was
authenticated. A failed, abandoned or expired check declines the payment with AS110.

The check is closed once, by whichever node the buyer comes back to; closing it takes the CVC
kept with it (``cvc``), to authorize with or to erase, and in the same commit declines the
payment or opens its authorization — so no payment is left under way with nothing waiting.
A check that never got its reference (the process died during the enrollment) is given up
by the janitor as a system error (AS998).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from ips.domain.cards import Secret
from ips.domain.errors import NotFound
from ips.domain.orders import Operation, Order, Transaction, TransactionKind
from ips.domain.responses import ResponseCode
from ips.domain.states import TransactionStatus
from ips.domain.text import is_digits
from ips.faults import fault
from ips.logs.context import about_order
from ips.processing.port import NoAnswer
from ips.processing.secure import AuthenticationStatus
from ips.services import cvc
from ips.services.gateway import Gateway
from ips.services.operations import lock_exchange
from ips.services.payments import (
    PaymentStep,
    authorize,
    give_up_locked,
    open_exchange,
    stored_card,
)
from ips.services.points import after_rest

log = logging.getLogger(__name__)

CHALLENGE_TIME = timedelta(minutes=15)
"""How long a buyer may take at the issuer's page before the payment is given up."""


async def complete(billnumber: str, reference: str, gateway: Gateway) -> PaymentStep:
    """Carries on the payment whose 3-D Secure check ``reference`` names (and the points
    paying beside it, if any: ``points.after_rest``)."""
    return await after_rest(await _complete(billnumber, reference, gateway), gateway)


async def _complete(billnumber: str, reference: str, gateway: Gateway) -> PaymentStep:
    found = await _pending(billnumber, reference, gateway)
    if isinstance(found, Order):
        return PaymentStep(found)
    order, authentication = found
    started = time.perf_counter()
    try:
        result = await gateway.secure.result(reference)
    except NoAnswer:
        log.warning("no answer from the 3-D Secure server for order %s", billnumber)
        return PaymentStep(order)
    finally:
        gateway.metrics.threeds_request("result", time.perf_counter() - started)
    fault("authentication.result.sent")
    if result.status is AuthenticationStatus.PENDING:
        return PaymentStep(order)
    closed = await _close(authentication, result.status, gateway, buyer_back=True)
    if isinstance(closed, Order):  # failed, or another request got here first
        return PaymentStep(closed)
    card = stored_card(closed.payment, gateway.keyring, closed.card_code)
    order = await authorize(
        closed.order, closed.payment, closed.authorization, card, gateway, cavv=result.cavv
    )
    return PaymentStep(order)


async def give_up(authentication: Transaction, gateway: Gateway) -> None:
    """The janitor's end of a check never finished: the buyer left the issuer's page, or the
    process died before the directory's answer was recorded."""
    await _close(authentication, AuthenticationStatus.FAILED, gateway)


@dataclass(frozen=True)
class _Authenticated:
    """A check passed, and the authorization opened with it."""

    order: Order
    payment: Operation
    authorization: Transaction
    card_code: Secret | None


async def _pending(
    billnumber: str, reference: str, gateway: Gateway
) -> Order | tuple[Order, Transaction]:
    async with gateway.uow_factory(readonly=True) as uow:
        order = await uow.orders.get(billnumber) if is_digits(billnumber) else None
        if order is None or order.id is None:
            raise NotFound("no such order", field="billnumber")
        about_order(order)
        for transaction in await uow.transactions.of_order(order.id):
            if (
                transaction.kind is TransactionKind.AUTHENTICATION
                and transaction.reference == reference
                and transaction.status is TransactionStatus.SENT
            ):
                return order, transaction
    return order


async def _close(
    authentication: Transaction,
    status: AuthenticationStatus,
    gateway: Gateway,
    *,
    buyer_back: bool = False,
) -> Order | _Authenticated:
    """Records the check's outcome and takes the CVC kept with it, in one commit with what
    follows: a failed check declines the payment (AS110; AS998 when it never got its
    reference), a passed one opens the authorization, to be sent with the CVC. The order as
    it is when the check failed or was recorded already. ``buyer_back``: the buyer came back
    from the issuer's page, and the time taken there is measured."""
    async with gateway.uow_factory() as uow:
        order, current, payment = await lock_exchange(uow, authentication)
        if current.status is not TransactionStatus.SENT:
            return order
        now = gateway.clock()
        card_code = await cvc.take(uow, gateway.keyring, current.operation_id, now)
        current.response = status.value
        passed = status is AuthenticationStatus.AUTHENTICATED
        current.change_status(
            TransactionStatus.APPROVED if passed else TransactionStatus.DECLINED, now
        )
        await uow.transactions.save(current)
        if buyer_back:
            taken = (now - current.created_at).total_seconds()
            gateway.metrics.threeds_buyer(status.name.lower(), taken)
        if not passed:
            code = (
                ResponseCode.THREE_DS_REQUIRED if current.reference else ResponseCode.SYSTEM_ERROR
            )
            await give_up_locked(uow, order, payment, code, now)
            fault("authentication.close.committing")
            await uow.commit()
            fault("authentication.close.committed")
            return order
        authorization = await open_exchange(uow, payment, TransactionKind.AUTHORIZATION, gateway)
        fault("authentication.close.committing")
        await uow.commit()
    fault("authentication.close.committed")
    return _Authenticated(order, payment, authorization, card_code)
