"""Assist response codes (``responsecode``) and what each means to the shop and to the buyer."""

from __future__ import annotations

import enum


class ResponseCode(enum.Enum):
    SUCCESS = "AS000"
    DECLINED = "AS100"
    WRONG_CARD_DATA = "AS101"
    INSUFFICIENT_FUNDS = "AS102"
    WRONG_EXPIRY = "AS104"
    CARD_LIMIT = "AS105"
    RECEPTION_ERROR = "AS107"
    SUSPECTED_FRAUD = "AS108"
    OPERATIONS_LIMIT = "AS109"
    THREE_DS_REQUIRED = "AS110"
    REPEAT_AUTHORIZATION = "AS200"
    IN_PROCESS = "AS300"
    NO_SUCH_PAYMENT = "AS400"
    SYSTEM_ERROR = "AS998"

    @property
    def approved(self) -> bool:
        return self is ResponseCode.SUCCESS

    @property
    def message(self) -> str:
        """For the shop: what happened."""
        return _MESSAGES[self][0]

    @property
    def customer_message(self) -> str:
        """For the buyer: what happened, in plain words."""
        return _MESSAGES[self][1]

    @property
    def recommendation(self) -> str:
        """For the buyer: what to do next."""
        return _MESSAGES[self][2]


_MESSAGES: dict[ResponseCode, tuple[str, str, str]] = {
    ResponseCode.SUCCESS: ("Approved", "The operation is done.", ""),
    ResponseCode.DECLINED: (
        "Authorization declined",
        "The bank that issued your card declined the payment.",
        "Pay with another card or call your bank.",
    ),
    ResponseCode.WRONG_CARD_DATA: (
        "Wrong card parameters",
        "The card details do not match the card.",
        "Check the card number, expiry date and CVC and try again.",
    ),
    ResponseCode.INSUFFICIENT_FUNDS: (
        "Insufficient funds",
        "There is not enough money on the card.",
        "Pay with another card or top this one up.",
    ),
    ResponseCode.WRONG_EXPIRY: (
        "Wrong expiry date",
        "The card has expired or its expiry date is wrong.",
        "Check the expiry date or pay with another card.",
    ),
    ResponseCode.CARD_LIMIT: (
        "Card limit exceeded",
        "The card's limit does not allow this payment.",
        "Pay with another card or ask your bank to raise the limit.",
    ),
    ResponseCode.RECEPTION_ERROR: (
        "Data reception error",
        "The payment details did not reach the bank intact.",
        "Try again in a few minutes.",
    ),
    ResponseCode.SUSPECTED_FRAUD: (
        "Suspected fraud",
        "The bank stopped the payment to protect your card.",
        "Call your bank, or pay with another card.",
    ),
    ResponseCode.OPERATIONS_LIMIT: (
        "Operations limit exceeded",
        "Too many payments were made with this card.",
        "Pay with another card or try again tomorrow.",
    ),
    ResponseCode.THREE_DS_REQUIRED: (
        "3-D Secure authentication required",
        "The card's owner was not confirmed by the bank.",
        "Try again and enter the code your bank sends you.",
    ),
    ResponseCode.REPEAT_AUTHORIZATION: (
        "Repeat authorization",
        "This payment has already been made.",
        "",
    ),
    ResponseCode.IN_PROCESS: (
        "Operation in process",
        "The payment is being processed.",
        "Wait a moment; the page will update.",
    ),
    ResponseCode.NO_SUCH_PAYMENT: (
        "No payment with such parameters",
        "The payment was not found.",
        "",
    ),
    ResponseCode.SYSTEM_ERROR: (
        "System error",
        "The bank did not confirm the payment in time; the payment was not made. "
        "Any amount held on the card is released.",
        "Try again in a few minutes.",
    ),
}
