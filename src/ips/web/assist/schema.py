"""The Assist routes described in OpenAPI: what ``/openapi.json`` publishes.

The routes read their parameters themselves (``web.params.read_params``: the query string
and the body together, names in any case, a form or a JSON object), so FastAPI sees none of
them. Each kind of request declares its parameters here, once, in the protocol's formats; a
route takes its declaration as ``openapi_extra`` (``@router.api_route(…,
openapi_extra=schema.CHARGE)``), and :func:`document` lays the declaration out per method —
query parameters for GET, a form (or JSON object) body for POST — because FastAPI gives one
route's extra to all its methods alike.

Only the Assist routes are described: the buyer's pages and the Personal Account are HTML
pages for people, not an interface for programs.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

Schema = dict[str, Any]

KEY = "x-assist-request"
"""Where a route's ``openapi_extra`` carries its declaration until :func:`document` lays it
out; the published document does not have it."""


@dataclass(frozen=True)
class Parameter:
    name: str
    """As the protocol spells it; IPS reads it in any case."""
    schema: Schema
    description: str
    required: bool = False

    def as_query(self) -> Schema:
        described = {"description": self.description} if self.description else {}
        return {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "schema": self.schema,
            **described,
        }


def _pattern(regex: str) -> Schema:
    return {"type": "string", "pattern": regex}


def _choice(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


TEXT_LIMIT = 255
AMOUNT = _pattern(r"^[0-9]{1,15}(\.[0-9]{1,3})?$")
CURRENCY = _pattern(r"^[A-Z]{3}$")
FLAG = _choice("0", "1")
BILLNUMBER = _pattern(r"^[0-9]{1,18}(\.[0-9]{1,9})?$")
WINDOW_PART = _pattern(r"^[0-9]{1,4}$")


def _text(name: str, description: str, limit: int = TEXT_LIMIT) -> Parameter:
    return Parameter(name, {"type": "string", "maxLength": limit}, description)


MERCHANT_ID = Parameter(
    "Merchant_ID", _pattern(r"^[0-9]{1,12}$"), "The merchant's number in IPS.", required=True
)
LOGIN = Parameter(
    "Login", {"type": "string", "minLength": 1}, "The web-service login.", required=True
)
PASSWORD = Parameter(
    "Password", {"type": "string", "minLength": 1}, "The web-service password.", required=True
)
LANGUAGE = Parameter(
    "Language",
    _choice("RU", "EN"),
    "The language of the answer's messages (also RUS, ENG, in any case).",
)
CLIENT_IP = Parameter("ClientIP", {"type": "string", "maxLength": 45}, "The buyer's address.")


def _format(default: str) -> Parameter:
    return Parameter(
        "Format",
        _choice("1", "3", "5"),
        f"1 CSV, 3 XML, 5 JSON; {default} when absent. 2 (WDDX) and 4 (SOAP) are answered "
        "4/103 in XML.",
    )


AUTHENTICATION = (MERCHANT_ID, LOGIN, PASSWORD)

WINDOW = tuple(
    Parameter(f"{end}{part}", WINDOW_PART, f"The {end.lower()} of the period, GMT.")
    for end in ("Start", "End")
    for part in ("Year", "Month", "Day", "Hour", "Min")
)
"""The period to look in; the last three days when absent."""

OPERATION_MONEY = (
    Parameter("Amount", AMOUNT, "How much; all that is left when absent (with Currency)."),
    Parameter("Currency", CURRENCY, "The payment's currency; given with Amount or not at all."),
)

MEANS = tuple(
    Parameter(name, FLAG, "0 hides this way to pay.")
    for name in ("CardPayment", "YMPayment", "WMPayment", "QIWIPayment", "AssistIDPayment")
)

BUYER = (
    "Lastname Firstname Middlename Email Address HomePhone WorkPhone MobilePhone Fax Country "
    "State City Zip"
).split()

PAYMENT_REQUEST_FIELDS = (
    MERCHANT_ID,
    Parameter(
        "OrderNumber",
        {"type": "string", "minLength": 1, "maxLength": 128},
        "The shop's number of the order.",
        required=True,
    ),
    Parameter(
        "OrderAmount",
        AMOUNT,
        "The amount, with no more decimals than the currency has.",
        required=True,
    ),
    Parameter("OrderCurrency", CURRENCY, "ISO 4217; the merchant's default when absent."),
    Parameter("Delay", FLAG, "1: double-stage (the payment is held until charge.cfm)."),
    LANGUAGE,
    _text("OrderComment", "Shown to the buyer.", 4000),
    *(_text(name, "The buyer's.") for name in BUYER),
    CLIENT_IP,
    *(
        Parameter(name, {"type": "string", "format": "uri"}, description)
        for name, description in (
            ("URL_RETURN", "Where the buyer goes after paying, unless one of the next two."),
            ("URL_RETURN_OK", "Where the buyer goes after a payment."),
            ("URL_RETURN_NO", "Where the buyer goes when the payment failed."),
        )
    ),
    *MEANS,
    Parameter("OrderMaxPoints", _pattern(r"^[0-9]{1,12}$"), "Bonus points the order may take."),
    Parameter("CustomerNumber", _pattern(r"^[^;]{1,64}$"), "The buyer's number at the shop."),
    Parameter("Disable3DS", FLAG, "1: no 3-D Secure, when the checkvalue proves it."),
    Parameter("Prepayment", FLAG, "Signed with the checkvalue; IPS does not act on it."),
    Parameter(
        "Checkvalue",
        _pattern(r"^[0-9A-Fa-f]{32}$"),
        "MD5 over the secret word and the signed fields (docs/api.md).",
    ),
    Parameter("RecurringIndicator", FLAG, "1: the buyer's card may be charged again (rp.cfm)."),
    Parameter("RecurringMinAmount", AMOUNT, "The least of a later payment."),
    Parameter("RecurringMaxAmount", AMOUNT, "The most of a later payment."),
    Parameter(
        "RecurringPeriod", _pattern(r"^[0-9]{1,3}$"), "The least number of days between two."
    ),
    Parameter(
        "RecurringMaxDate",
        _pattern(r"^[0-9]{2}\.[0-9]{2}\.[0-9]{4}$"),
        "DD.MM.YYYY: the last day a later payment may be made.",
    ),
)


XML = "text/xml"
JSON = "application/json"
CSV = "text/csv"
HTML = "text/html"
BODIES = ("application/x-www-form-urlencoded", "multipart/form-data", JSON)
"""What a POST body may be: a form, or a JSON object (``web.params``)."""


def _answers(default: str) -> Schema:
    """The answers of a web service: HTTP 200 always, success or Assist error codes."""
    return {
        "200": {
            "description": (
                f"The answer in the requested Format ({default} when absent), or the Assist "
                "error codes in it: firstcode and secondcode (XML attributes, JSON members, "
                "CSV columns)."
            ),
            "content": {
                XML: {"schema": {"type": "string"}},
                JSON: {"schema": {"type": "object"}},
                CSV: {"schema": {"type": "string"}},
            },
        }
    }


def _request(parameters: Sequence[Parameter], responses: Schema, summary: str) -> Schema:
    """A route's ``openapi_extra``: its summary, and its parameters (as query parameters)
    and answers for :func:`document` to lay out."""
    declared = {"parameters": [p.as_query() for p in parameters], "responses": responses}
    return {KEY: declared, "summary": summary}


PAYMENT_REQUEST = _request(
    PAYMENT_REQUEST_FIELDS,
    {
        "303": {
            "description": "The order is made: on to its payment page /pay/{billnumber}.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        "400": {
            "description": "The request is refused: a page says why; nothing is made.",
            "content": {HTML: {"schema": {"type": "string"}}},
        },
    },
    "The payment request: the buyer's browser is sent on to the payment page",
)
PAYREQUEST = _request(
    (*PAYMENT_REQUEST_FIELDS, _format("5")),
    _answers("JSON"),
    "The payment request, server to server: the payment page's address",
)
ORDER_STATE = _request(
    (
        *AUTHENTICATION,
        Parameter(
            "Ordernumber",
            {"type": "string", "minLength": 1},
            "The shop's number of the orders.",
            required=True,
        ),
        *WINDOW,
        _format("3"),
    ),
    _answers("XML"),
    "The orders of an order number in a period, with their states",
)
ORDER_RESULT = _request(
    (
        *AUTHENTICATION,
        Parameter("Billnumber", BILLNUMBER, "An order, or (billnumber.n) one operation."),
        Parameter("Ordernumber", {"type": "string"}, "When no Billnumber: in the period."),
        *WINDOW,
        LANGUAGE,
        _format("3"),
    ),
    _answers("XML"),
    "Orders with their operations",
)
CHARGE = _request(
    (
        *AUTHENTICATION,
        Parameter("Billnumber", BILLNUMBER, "The order, short or extended.", required=True),
        *OPERATION_MONEY,
        Parameter("AutoDeposit", FLAG, "1 releases what is left unconfirmed."),
        CLIENT_IP,
        LANGUAGE,
        _format("1"),
    ),
    _answers("CSV"),
    "Confirms (charges) a held payment, in full or in part",
)


def _cancel(default_name: str, default: str) -> Schema:
    return _request(
        (
            *AUTHENTICATION,
            Parameter("Billnumber", BILLNUMBER, "The order, short or extended.", required=True),
            *OPERATION_MONEY,
            Parameter("CancelReason", _choice("1", "2", "3"), "1 shop, 2 customer, 3 fraud."),
            Parameter(
                "Externalrefundid",
                _pattern(r"^[A-Za-z0-9_-]{10,100}$"),
                "The shop's id of this cancel: a repeat answers the first and does nothing.",
            ),
            CLIENT_IP,
            LANGUAGE,
            _format(default),
        ),
        _answers(default_name),
        "Cancels a payment: releases the hold, reverses or refunds",
    )


CANCEL = _cancel("XML", "3")
WSCANCEL = _cancel("JSON", "5")
RECURRING = _request(
    (
        *AUTHENTICATION,
        Parameter("Billnumber", BILLNUMBER, "The first order's.", required=True),
        Parameter(
            "OrderNumber",
            {"type": "string", "minLength": 1, "maxLength": 128},
            "The new order's number.",
            required=True,
        ),
        Parameter("Amount", AMOUNT, "Within the first order's recurring terms.", required=True),
        Parameter("Currency", CURRENCY, "The first order's, when absent."),
        _text("OrderComment", "The new order's comment.", 4000),
        CLIENT_IP,
        LANGUAGE,
        _format("3"),
    ),
    _answers("XML"),
    "Charges the card of a first order again",
)


DESCRIPTION = (
    "The IPS Assist protocol: the payment request and the web services. Parameter names are "
    "case-insensitive; the query string and the body are read together (the first of "
    "repeated parameters wins). A POST body is a form or a JSON object. The web services "
    "answer HTTP 200 whatever happened: errors are their firstcode and secondcode."
)


def document(app: FastAPI, routes: Sequence[BaseRoute]) -> Schema:
    """The OpenAPI document of ``routes`` (the Assist routes), made once per app."""
    if app.openapi_schema is None:
        with warnings.catch_warnings():
            # one route, two methods: FastAPI names both operations alike; _lay_out renames
            warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
            made = get_openapi(
                title=app.title, version=app.version, description=DESCRIPTION, routes=routes
            )
        for path, item in made.get("paths", {}).items():
            for method, operation in item.items():
                _lay_out(path, method, operation)
        app.openapi_schema = made
    return app.openapi_schema


def _lay_out(path: str, method: str, operation: Schema) -> None:
    declared = operation.pop(KEY, None)
    if declared is None:
        return
    operation["operationId"] = method + re.sub(r"[^A-Za-z0-9]+", "_", path).rstrip("_")
    parameters: list[Schema] = declared["parameters"]
    operation["responses"] = copy.deepcopy(declared["responses"])
    if method == "get":
        operation["parameters"] = copy.deepcopy(parameters)
        return
    operation.pop("parameters", None)
    body = {
        "type": "object",
        "properties": {
            p["name"]: {
                **p["schema"],
                **({"description": p["description"]} if "description" in p else {}),
            }
            for p in parameters
        },
        "required": [p["name"] for p in parameters if p["required"]],
    }
    operation["requestBody"] = {
        "required": True,
        "content": {kind: {"schema": copy.deepcopy(body)} for kind in BODIES},
    }
