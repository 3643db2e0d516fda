"""The Assist protocol's fields of orders and operations, as answers and notifications carry
them. Pure functions over the domain: every value a string, in the protocol's own format.

Each answer is a layout — the names of its fields, in the order the protocol gives them —
filled from the values of an order and of one of its operations. Where both have a field of
one name (``billnumber``, ``ipaddress``), the operation's is the operation's own: its
extended billnumber ``billnumber.n`` and the address it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ips.domain.checkvalue import answer_checkvalue
from ips.domain.merchants import Merchant
from ips.domain.orders import Language, Operation, OperationKind, Order, PaymentMeans
from ips.domain.points import masked_account
from ips.domain.responses import ResponseCode
from ips.protocol.messages import texts

PROCESSING_NAME = "IPS"

ORDER_STATE = ("ordernumber", "billnumber", "orderamount", "ordercurrency", "orderstate")
"""An order in ``orderstate``."""

CHECK = ("packetdate", "signature", "checkvalue")

OPERATION_ANSWER = (
    "ordernumber", "responsecode", "recommendation", "message", "ordercomment", "orderdate",
    "amount", "currency", "meantypename", "meannumber", "lastname", "firstname", "middlename",
    "issuebank", "email", "bankcountry", "rate", "approvalcode", "meansubtype", "cardholder",
    "cardexpirationdate", "ipaddress", "protocoltypename", "testmode", "customermessage",
    "orderstate", "processingname", "operationtype", "billnumber", "orderamount",
    "ordercurrency", "slipno",
)  # fmt: skip
"""An operation in the answers of ``charge`` and ``cancel`` (``packetdate`` and ``signature``
follow)."""

RESULT_ORDER = (
    "billnumber", "ordernumber", "testmode", "ordercomment", "orderamount", "ordercurrency",
    "orderdate", "orderstate", "rate",
)  # fmt: skip
"""An order in ``orderresult``."""

CUSTOMER = ("firstname", "lastname", "middlename", "email", "ipaddress")

RESULT_OPERATION = (
    "billnumber", "operationtype", "amount", "currency", "ipaddress", "meantypename",
    "meansubtype", "meannumber", "cardholder", "cardexpirationdate", "issuebank",
    "bankcountry", "responsecode", "message", "customermessage", "recommendation",
    "approvalcode", "protocoltypename", "processingname", "slipno", "operationdate",
)  # fmt: skip
"""An operation in ``orderresult``."""

NOTIFICATION = (
    "merchant_id", "ordernumber", "billnumber", "testmode", "ordercomment", "orderamount",
    "ordercurrency", "amount", "currency", "rate", "orderdate", "orderstate", "firstname",
    "lastname", "middlename", "email", "clientip", "ipaddress", "meantype_id", "meantypename",
    "meansubtype", "meannumber", "cardholder", "cardexpirationdate", "issuebank", "bankcountry",
    "responsecode", "message", "customermessage", "recommendation", "approvalcode",
    "protocoltypename", "processingname", "operationtype", "operationdate", "authresult",
    "slipno", "packetdate", "signature", "checkvalue",
)  # fmt: skip
"""A payment notification: every field, empty when unknown (some shops recognise the
notification by the set of its fields)."""

MEANTYPE_CARD = "1"


def packetdate(moment: datetime) -> str:
    """Dates of the protocol: ``dd.mm.yyyy HH:MM:SS``, GMT."""
    return moment.strftime("%d.%m.%Y %H:%M:%S")


def _order_values(order: Order, payment: Operation | None) -> dict[str, str]:
    rate = payment.rate if payment else None
    return {
        "ordernumber": order.ordernumber,
        "billnumber": order.billnumber,
        "testmode": "0",
        "ordercomment": order.comment,
        "orderamount": order.amount.format(),
        "ordercurrency": order.amount.currency.code,
        "orderdate": packetdate(order.created_at),
        "orderstate": order.state.value,
        "rate": "1" if rate is None else format(rate, "f"),
        "firstname": order.buyer.firstname,
        "lastname": order.buyer.lastname,
        "middlename": order.buyer.middlename,
        "email": order.buyer.email,
        "ipaddress": order.buyer.client_ip or (payment.client_ip if payment else ""),
    }


POINTS_NAME = "Bonus points"
"""``meantypename`` of a payment in bonus points."""


def _operation_values(
    order: Order, operation: Operation, payment: Operation | None, language: Language | None
) -> dict[str, str]:
    points = operation.means is PaymentMeans.POINTS
    card = None if points else operation.card or (payment.card if payment else None)
    code = operation.response_code or ResponseCode.IN_PROCESS
    said = texts(code, language)
    return {
        "billnumber": f"{order.billnumber}.{operation.number}",
        "operationtype": operation.kind.value,
        "amount": operation.amount.format(),
        "currency": operation.amount.currency.code,
        "ipaddress": operation.client_ip,
        "meantypename": POINTS_NAME if points else card.brand.value if card else "",
        "meansubtype": "",
        "meannumber": masked_account(operation.points_account)
        if points
        else card.masked_pan
        if card
        else "",
        "cardholder": card.holder if card else "",
        "cardexpirationdate": card.expiry if card else "",
        "issuebank": "",
        "bankcountry": "",
        "responsecode": code.value,
        "message": said.message,
        "customermessage": said.customer_message,
        "recommendation": said.recommendation,
        "approvalcode": operation.approval_code or (payment.approval_code if payment else ""),
        "protocoltypename": "NET",
        "processingname": PROCESSING_NAME,
        "slipno": "",
        "operationdate": packetdate(operation.finished_at or operation.created_at),
    }


def _pick(values: Mapping[str, str], layout: tuple[str, ...]) -> dict[str, str]:
    return {name: values[name] for name in layout}


def order_fields(order: Order) -> dict[str, str]:
    return _pick(_order_values(order, None), ORDER_STATE)


def check_fields(merchant: Merchant, order: Order, now: datetime) -> dict[str, str]:
    """``packetdate``, ``signature`` (empty: IPS does not sign with RSA) and ``checkvalue``."""
    fields = order_fields(order)
    return {
        "packetdate": packetdate(now),
        "signature": "",
        "checkvalue": answer_checkvalue(
            merchant.secret_word.reveal(),
            merchant.merchant_id,
            fields["ordernumber"],
            fields["orderamount"],
            fields["ordercurrency"],
            fields["orderstate"],
        ),
    }


def operation_fields(
    order: Order, operation: Operation, payment: Operation, language: Language | None
) -> dict[str, str]:
    """An operation as ``charge`` and ``cancel`` answer it: the operation's amount and
    currency beside the order's, the payment's card and approval code."""
    values = _order_values(order, payment) | _operation_values(order, operation, payment, language)
    return _pick(values, OPERATION_ANSWER)


def result_order_fields(order: Order, payment: Operation | None) -> dict[str, str]:
    return _pick(_order_values(order, payment), RESULT_ORDER)


def customer_fields(order: Order, payment: Operation | None) -> dict[str, str]:
    """The buyer; ``ipaddress`` is the one the shop sent (``ClientIP``), else the card
    payment's."""
    return _pick(_order_values(order, payment), CUSTOMER)


def result_operation_fields(
    order: Order, operation: Operation, payment: Operation | None, language: Language | None
) -> dict[str, str]:
    return _pick(_operation_values(order, operation, payment, language), RESULT_OPERATION)


def notification_fields(
    merchant: Merchant, order: Order, operation: Operation, payment: Operation, now: datetime
) -> dict[str, str]:
    """An operation's result as posted to the shop. ``orderamount``/``ordercurrency`` carry
    the operation's amount and currency, like ``amount``/``currency``, and the checkvalue
    covers merchant_id + ordernumber + amount + currency + orderstate — so every variant of
    the shops' checks verifies. A payment is named by the order's billnumber, a later
    operation by its extended one."""
    values = _order_values(order, payment) | _operation_values(
        order, operation, payment, order.language
    )
    amount, currency = values["amount"], values["currency"]
    if operation.kind is OperationKind.PAYMENT:
        values["billnumber"] = order.billnumber
    values |= {
        "merchant_id": merchant.merchant_id,
        "orderamount": amount,
        "ordercurrency": currency,
        "clientip": order.buyer.client_ip,
        "meantype_id": MEANTYPE_CARD,
        "authresult": values["responsecode"],
        "packetdate": packetdate(now),
        "signature": "",
        "checkvalue": answer_checkvalue(
            merchant.secret_word.reveal(),
            merchant.merchant_id,
            order.ordernumber,
            amount,
            currency,
            order.state.value,
        ),
    }
    return _pick(values, NOTIFICATION)
