"""The Assist protocol's fields of orders and operations, as answers and notifications carry
them. Pure functions over the domain: every value a string, in the protocol's own format."""

from __future__ import annotations

from datetime import datetime

from ips.domain.checkvalue import answer_checkvalue
from ips.domain.merchants import Merchant
from ips.domain.orders import Operation, Order
from ips.domain.responses import ResponseCode

PROCESSING_NAME = "IPS"


def packetdate(moment: datetime) -> str:
    """Dates of the protocol: ``dd.mm.yyyy HH:MM:SS``, GMT."""
    return moment.strftime("%d.%m.%Y %H:%M:%S")


def order_fields(order: Order) -> dict[str, str]:
    return {
        "ordernumber": order.ordernumber,
        "billnumber": order.billnumber,
        "orderamount": order.amount.format(),
        "ordercurrency": order.amount.currency.code,
        "orderstate": order.state.value,
    }


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
    order: Order, operation: Operation, payment: Operation, now: datetime
) -> dict[str, str]:
    """An operation as ``charge`` and ``cancel`` answer it, in the protocol's field order."""
    card = payment.card
    code = operation.response_code or ResponseCode.IN_PROCESS
    return {
        "ordernumber": order.ordernumber,
        "responsecode": code.value,
        "recommendation": code.recommendation,
        "message": code.message,
        "ordercomment": order.comment,
        "orderdate": packetdate(order.created_at),
        "amount": operation.amount.format(),
        "currency": operation.amount.currency.code,
        "meantypename": card.brand.value if card else "",
        "meannumber": card.masked_pan if card else "",
        "lastname": order.buyer.lastname,
        "firstname": order.buyer.firstname,
        "middlename": order.buyer.middlename,
        "issuebank": "",
        "email": order.buyer.email,
        "bankcountry": "",
        "rate": str(payment.rate or 1),
        "approvalcode": payment.approval_code,
        "meansubtype": "",
        "cardholder": card.holder if card else "",
        "cardexpirationdate": card.expiry if card else "",
        "ipaddress": operation.client_ip,
        "protocoltypename": "NET",
        "testmode": "0",
        "customermessage": code.customer_message,
        "orderstate": order.state.value,
        "processingname": PROCESSING_NAME,
        "operationtype": operation.kind.value,
        "billnumber": f"{order.billnumber}.{operation.number}",
        "orderamount": order.amount.format(),
        "ordercurrency": order.amount.currency.code,
        "slipno": "",
        "packetdate": packetdate(now),
        "signature": "",
    }
