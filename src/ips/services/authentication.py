"""The buyer comes back from the issuer's 3-D Secure page: IPS asks the issuer's server how
the check went (never the browser), and authorizes the payment only when the cardholder was
authenticated. A failed, abandoned or expired check declines the payment with AS110.

The check is closed once, by whichever node the buyer comes back to; closing it takes the CVC
kept with it (``cvc``), to authorize with or to erase.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ips.domain.cards import Secret
from ips.domain.errors import NotFound
from ips.domain.orders import Order, Transaction, TransactionKind
from ips.domain.responses import ResponseCode
from ips.domain.states import TransactionStatus
from ips.domain.text import is_digits
from ips.processing.port import NoAnswer
from ips.processing.secure import AuthenticationStatus
from ips.services import cvc
from ips.services.gateway import Gateway
from ips.services.payments import PaymentStep, authorize, fail_payment, stored_card

log = logging.getLogger(__name__)

CHALLENGE_TIME = timedelta(minutes=15)
"""How long a buyer may take at the issuer's page before the payment is given up."""


async def complete(billnumber: str, reference: str, gateway: Gateway) -> PaymentStep:
    """Carries on the payment whose 3-D Secure check ``reference`` names."""
    found = await _pending(billnumber, reference, gateway)
    if isinstance(found, Order):
        return PaymentStep(found)
    order, authentication = found
    try:
        result = await gateway.secure.result(reference)
    except NoAnswer:
        log.warning("no answer from the 3-D Secure server for order %s", billnumber)
        return PaymentStep(order)
    if result.status is AuthenticationStatus.PENDING:
        return PaymentStep(order)
    closed, card_code = await _close(authentication, result.status, gateway)
    if not closed:
        return PaymentStep(order)  # another request got here first
    if result.status is AuthenticationStatus.FAILED:
        return PaymentStep(
            await fail_payment(authentication.operation_id, ResponseCode.THREE_DS_REQUIRED, gateway)
        )
    payment_id = authentication.operation_id
    async with gateway.uow_factory(readonly=True) as uow:
        payment = await uow.operations.get(payment_id)
    assert payment is not None
    card = stored_card(payment, gateway.keyring, card_code)
    return PaymentStep(await authorize(payment_id, card, gateway, cavv=result.cavv))


async def give_up(authentication: Transaction, gateway: Gateway) -> None:
    """The janitor's end of a check the buyer never finished."""
    closed, _ = await _close(authentication, AuthenticationStatus.FAILED, gateway)
    if closed:
        await fail_payment(authentication.operation_id, ResponseCode.THREE_DS_REQUIRED, gateway)


async def _pending(
    billnumber: str, reference: str, gateway: Gateway
) -> Order | tuple[Order, Transaction]:
    async with gateway.uow_factory(readonly=True) as uow:
        order = await uow.orders.get(billnumber) if is_digits(billnumber) else None
        if order is None or order.id is None:
            raise NotFound("no such order", field="billnumber")
        for transaction in await uow.transactions.of_order(order.id):
            if (
                transaction.kind is TransactionKind.AUTHENTICATION
                and transaction.reference == reference
                and transaction.status is TransactionStatus.SENT
            ):
                return order, transaction
    return order


async def _close(
    authentication: Transaction, status: AuthenticationStatus, gateway: Gateway
) -> tuple[bool, Secret | None]:
    """Records the check's outcome and takes the CVC kept with it; (False, None) when it was
    recorded already. The CVC comes back only when the cardholder was authenticated."""
    assert authentication.id is not None
    async with gateway.uow_factory() as uow:
        await uow.orders.get_by_id(authentication.order_id, lock=True)
        current = await uow.transactions.get(authentication.id)
        assert current is not None
        if current.status is not TransactionStatus.SENT:
            return False, None
        card_code = await cvc.take(uow, gateway.keyring, current.operation_id, gateway.clock())
        current.response = status.value
        current.change_status(
            TransactionStatus.APPROVED
            if status is AuthenticationStatus.AUTHENTICATED
            else TransactionStatus.DECLINED,
            gateway.clock(),
        )
        await uow.transactions.save(current)
        await uow.commit()
    return True, card_code if status is AuthenticationStatus.AUTHENTICATED else None
