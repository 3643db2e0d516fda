"""The answers of the web services, in the shapes of each format (the envelopes are in
``formats``). Messages are in the request's ``Language``, else in the order's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from starlette.responses import Response

from ips.domain.merchants import Merchant
from ips.domain.orders import Language, Order
from ips.protocol.fields import (
    RESULT_OPERATION,
    check_fields,
    customer_fields,
    operation_fields,
    order_fields,
    packetdate,
    result_operation_fields,
    result_order_fields,
)
from ips.services.operations import OperationResult
from ips.services.order_results import OrderResult, OrderResults
from ips.services.orders import PaymentRequested
from ips.web.assist.formats import Format, csv_answer, element, json_answer, xml_result


def orderstate(fmt: Format, merchant: Merchant, orders: Sequence[Order], now: datetime) -> Response:
    """XML and CSV: every order, oldest first (the last is the newest). JSON: the newest
    alone, as one object — the official PHP SDK cannot read a list."""
    if fmt is Format.JSON:
        newest = orders[-1]
        state = order_fields(newest) | {"checkdata": check_fields(merchant, newest, now)}
        return json_answer({"orderstate": state})
    records = [order_fields(order) | check_fields(merchant, order, now) for order in orders]
    if fmt is Format.CSV:
        return csv_answer(records)
    return xml_result([element("order", record) for record in records])


def orderresult(
    fmt: Format, found: OrderResults, language: Language | None, now: datetime
) -> Response:
    """XML: ``<order>`` elements (``count`` of them), each with its fields, the buyer's and
    the check fields, then an ``<operation>`` element per operation — no wrappers. JSON:
    ``{"orderresult": {"orders": [...]}}``, each order with ``customer``, ``checkdata`` and
    ``operations``. CSV: a line per operation (one for an order without any), the order's
    fields followed by the operation's."""
    if fmt is Format.JSON:
        orders = [_result_object(found.merchant, result, language, now) for result in found.results]
        return json_answer({"orderresult": {"orders": orders}})
    if fmt is Format.CSV:
        return csv_answer(
            [
                row
                for result in found.results
                for row in _result_rows(found.merchant, result, language, now)
            ]
        )
    return xml_result(
        [
            element(
                "order",
                _result_record(found.merchant, result, now),
                [element("operation", fields) for fields in _operations(result, language)],
            )
            for result in found.results
        ]
    )


def _result_record(merchant: Merchant, result: OrderResult, now: datetime) -> dict[str, str]:
    order, payment = result.order, result.payment
    return (
        result_order_fields(order, payment)
        | customer_fields(order, payment)
        | check_fields(merchant, order, now)
    )


def _operations(result: OrderResult, language: Language | None) -> list[dict[str, str]]:
    order = result.order
    return [
        result_operation_fields(order, operation, result.payment, language or order.language)
        for operation in result.operations
    ]


def _result_object(
    merchant: Merchant, result: OrderResult, language: Language | None, now: datetime
) -> dict[str, object]:
    order, payment = result.order, result.payment
    return result_order_fields(order, payment) | {
        "customer": customer_fields(order, payment),
        "checkdata": check_fields(merchant, order, now),
        "operations": _operations(result, language),
    }


def _result_rows(
    merchant: Merchant, result: OrderResult, language: Language | None, now: datetime
) -> list[dict[str, str]]:
    record = _result_record(merchant, result, now)
    no_operation = {name: "" for name in RESULT_OPERATION if name != "billnumber"}
    return [record | fields for fields in _operations(result, language) or [no_operation]]


def payrequest(fmt: Format, requested: PaymentRequested, page: str) -> Response:
    """The payment page to send the buyer to, the order's billnumber and state, and when it
    expires unpaid. JSON has no root: ``URL`` (as clients read it) and ``url`` beside the
    rest."""
    order = requested.order
    fields = {
        "url": page,
        "billnumber": order.billnumber,
        "orderstate": order.state.value,
        "expirationtime": packetdate(requested.expires_at),
    }
    if fmt is Format.JSON:
        return json_answer({"URL": page} | fields)
    if fmt is Format.CSV:
        return csv_answer([fields])
    return xml_result([element("order", fields)])


FLAT_ROOTS = ("charge", "rp")
"""The answers whose JSON carries the fields right under the root (the official SDK's
``Charge`` and ``RecurrentPayment`` models)."""


def operation(
    fmt: Format, root: str, result: OperationResult, language: Language | None, now: datetime
) -> Response:
    """An operation of ``charge``, ``cancel`` or ``rp``. XML: ``result/orders/order``. JSON:
    ``charge`` and ``rp`` carry the fields flat under their root, with the check fields;
    ``cancel``/``wscancel`` nest them as ``order`` beside ``checkdata``."""
    order = result.order
    fields = operation_fields(order, result.operation, result.payment, language or order.language)
    check = check_fields(result.merchant, order, now)
    if fmt is Format.JSON:
        if root in FLAT_ROOTS:
            return json_answer({root: fields | check})
        return json_answer({root: {"order": fields, "checkdata": check}})
    record = fields | {name: check[name] for name in ("packetdate", "signature")}
    if fmt is Format.CSV:
        return csv_answer([record])
    return xml_result([element("orders", {}, [element("order", record)])])
