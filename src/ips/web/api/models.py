"""What the JSON API takes and answers, as pydantic models: they validate each request and
make the OpenAPI document (``/api/v1/openapi.json``). Amounts are integers of minor units in
the currency's ISO 4217 exponent (10000 RUB is 100.00 RUB; 100 JPY is 100 JPY), never
decimals."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ips.domain.money import Money, currency
from ips.domain.orders import Operation, OperationKind, Order, Transaction, return_method
from ips.services.monitor import OrderRow

MinorUnits = Annotated[int, Field(gt=0, le=10**12 - 1, description="Minor units of the currency.")]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["RUB"])]
NO_NUL = r"^[^\x00]*$"
"""No text holds a NUL character (no database keeps one)."""
Text = Annotated[str, Field(max_length=255, pattern=NO_NUL)]


class Strict(BaseModel):
    """A request's body: no field it does not know."""

    model_config = ConfigDict(extra="forbid")


class Capture(enum.Enum):
    AUTOMATIC = "automatic"
    """Single-stage: the payment is captured at once."""
    MANUAL = "manual"
    """Double-stage: the money is held until a capture (or released by a cancel)."""


class Way(enum.Enum):
    CARD = "card"
    WALLET = "wallet"
    POINTS = "points"


class Customer(Strict):
    email: Annotated[str, Field(max_length=255, pattern=r"^([^@\s\x00]+@[^@\s\x00]+)?$")] = ""
    first_name: Text = ""
    last_name: Text = ""
    middle_name: Text = ""
    phone: Text = ""
    country: Text = ""
    city: Text = ""
    address: Text = ""
    zip: Annotated[str, Field(max_length=20, pattern=NO_NUL)] = ""


class OrderRequest(Strict):
    order_number: Annotated[
        str, Field(min_length=1, max_length=128, pattern=NO_NUL, examples=["A-1001"])
    ]
    amount: MinorUnits
    currency: CurrencyCode
    capture: Capture = Capture.AUTOMATIC
    return_url_ok: Annotated[str, Field(max_length=2000, pattern=NO_NUL)] = ""
    return_url_no: Annotated[str, Field(max_length=2000, pattern=NO_NUL)] = ""
    customer: Customer = Customer()
    customer_number: Annotated[str, Field(max_length=64, pattern=NO_NUL)] = ""
    """The shop's customer, whose kept cards are offered (``docs/api.md``, kept cards)."""
    language: Annotated[str, Field(pattern=r"^(ru|en|RU|EN)$")] | None = None
    payment_methods: list[Way] | None = None
    """The ways to pay offered (of those the shop takes); all of them when absent."""
    description: Annotated[str, Field(max_length=4000, pattern=NO_NUL)] = ""


class AmountRequest(Strict):
    """All there is when empty; else ``amount`` and ``currency`` both (the payment's)."""

    amount: MinorUnits | None = None
    currency: CurrencyCode | None = None


class CancelRequest(AmountRequest):
    reason: Annotated[str, Field(pattern=r"^(shop|customer|fraud)$")] = "shop"


class RecurringRequest(Strict):
    order_number: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    amount: MinorUnits
    currency: CurrencyCode
    capture: Capture = Capture.AUTOMATIC
    description: Annotated[str, Field(max_length=4000, pattern=NO_NUL)] = ""


class Card(BaseModel):
    masked_pan: str
    brand: str
    expiry: str


class OperationView(BaseModel):
    number: int
    type: str = Field(description="payment, confirmation, cancel or bonus_accrual")
    status: str
    amount: int
    currency: str
    means: str
    card: Card | None = None
    response_code: str | None = None
    approval_code: str = ""
    created_at: datetime
    finished_at: datetime | None = None
    method: str | None = Field(
        default=None,
        description="Of a cancel: reversal (before settlement), refund (after), or both.",
    )

    @classmethod
    def of(cls, op: Operation, transactions: Sequence[Transaction] = ()) -> OperationView:
        card = op.card
        return cls(
            number=op.number,
            type=op.kind.name.lower(),
            status=op.status.value,
            amount=op.amount.minor,
            currency=op.amount.currency.code,
            means=op.means.value,
            card=Card(masked_pan=card.masked_pan, brand=card.brand.value, expiry=card.expiry)
            if card
            else None,
            response_code=op.response_code.value if op.response_code else None,
            approval_code=op.approval_code,
            created_at=op.created_at,
            finished_at=op.finished_at,
            method=cancel_method(op, transactions),
        )


def cancel_method(op: Operation, transactions: Sequence[Transaction]) -> str | None:
    """How a cancel gave the money back, by its transactions: reversal, refund or both."""
    if op.kind is not OperationKind.CANCEL:
        return None
    return return_method({t.kind for t in transactions if t.operation_id == op.id})


class OrderView(BaseModel):
    billnumber: str
    order_number: str
    state: str
    amount: int
    currency: str
    capture: Capture
    created_at: datetime
    payment_url: str
    operations: list[OperationView] = []

    @classmethod
    def of(
        cls,
        order: Order,
        payment_url: str,
        operations: Sequence[Operation] = (),
        transactions: Sequence[Transaction] = (),
    ) -> OrderView:
        return cls(
            billnumber=order.billnumber,
            order_number=order.ordernumber,
            state=order.state.value,
            amount=order.amount.minor,
            currency=order.amount.currency.code,
            capture=Capture.MANUAL if order.delay else Capture.AUTOMATIC,
            created_at=order.created_at,
            payment_url=payment_url,
            operations=[OperationView.of(op, transactions) for op in operations],
        )


class OrderSummary(BaseModel):
    billnumber: str
    order_number: str
    state: str
    amount: int
    currency: str
    paid: int
    created_at: datetime
    operations: list[OperationView]

    @classmethod
    def of(cls, row: OrderRow, operations: list[Operation]) -> OrderSummary:
        return cls(
            billnumber=row.billnumber,
            order_number=row.ordernumber,
            state=row.state.value,
            amount=row.amount.minor,
            currency=row.amount.currency.code,
            paid=row.paid.minor,
            created_at=row.created_at,
            operations=[OperationView.of(op) for op in operations],
        )


class OrderList(BaseModel):
    data: list[OrderSummary]
    has_more: bool


class EndpointRequest(Strict):
    url: Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]
    events: list[Annotated[str, Field(max_length=40, pattern=NO_NUL)]] = []
    """The event types it wants (docs/json-api.md, *Webhooks*); none: all."""


class EndpointView(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    secret: str | None = Field(
        default=None, description="Only in the answer that made the endpoint or rolled it."
    )


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None


class OperationDone(BaseModel):
    """The operation a capture, cancel or recurring payment made, and the order after it."""

    operation: OperationView
    order: OrderView


def amount_text(amount: int | None, code: str | None) -> tuple[str, str]:
    """An amount of minor units as the services read one: ``10000``, ``RUB`` → ``100.00``,
    ``RUB`` (one without the other is passed on for them to refuse)."""
    if amount is None or code is None:
        return ("", code or "") if amount is None else (str(amount), "")
    return Money(amount, currency(code)).format(), code
