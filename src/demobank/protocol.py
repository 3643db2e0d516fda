"""Pure mapping of the simulator's side: requests read from field dicts, answers built.

The field layout is the one IPS sends (``paywire.spec``); a request that lacks
a field or holds a value of the wrong kind raises ``MalformedMessage`` (answered ``30``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from demobank.ledger import PostingKind
from demobank.money import Currency, Money
from paywire import messages
from paywire.currencies import UnknownCurrency, by_numeric
from paywire.messages import MalformedMessage, OriginalData
from paywire.spec import Fields

AUTHORIZATION_ECHO = ("2", "3", "4", "7", "11", "12", "13", "32", "37", "41", "42", "49")
REVERSAL_ECHO = ("2", "3", "4", "7", "11", "32", "37", "41", "42", "49", "90")
ADVICE_ECHO = ("2", "3", "4", "7", "11", "12", "13", "32", "37", "41", "42", "49", "60")
RECONCILIATION_ECHO = ("7", "11", "32", "41", "50", "60", "74", "76", "86", "88")
NETWORK_ECHO = ("7", "11", "70")
ECHOES = {
    messages.AUTHORIZATION: AUTHORIZATION_ECHO,
    messages.REVERSAL: REVERSAL_ECHO,
    messages.REVERSAL_REPEAT: REVERSAL_ECHO,
    messages.ADVICE: ADVICE_ECHO,
    messages.ADVICE_REPEAT: ADVICE_ECHO,
    messages.RECONCILIATION: RECONCILIATION_ECHO,
    messages.NETWORK: NETWORK_ECHO,
}
"""The fields each request's answer echoes, by the request's MTI."""

_KINDS = {messages.PURCHASE: PostingKind.DEBIT, messages.REFUND: PostingKind.CREDIT}


@dataclass(frozen=True)
class AuthorizationMessage:
    pan: str
    amount: Money
    stan: str
    transmitted: str
    rrn: str
    terminal_id: str
    merchant_id: str
    expiry: str
    cvc: str | None
    stored_card: bool
    """The merchant charges a card on file (field 22 ``10x``): no CVC is asked."""
    cavv: str = ""
    """The 3-D Secure CAVV of field 48 (subelement 93); ``""`` when none."""


@dataclass(frozen=True)
class ReversalMessage:
    pan: str
    amount: Money
    stan: str
    transmitted: str
    rrn: str
    terminal_id: str
    original: OriginalData


@dataclass(frozen=True)
class AdviceMessage:
    pan: str
    amount: Money
    kind: PostingKind
    stan: str
    transmitted: str
    rrn: str
    terminal_id: str
    merchant_id: str
    batch: int


@dataclass(frozen=True)
class ReconciliationMessage:
    terminal_id: str
    batch: int
    currency: Currency
    debits: int
    debit_total: int
    credits: int
    credit_total: int


def _digits(fields: Mapping[str, str], key: str) -> str:
    value = fields.get(key, "")
    if not (value.isdigit() and value.isascii()):
        raise MalformedMessage(f"field {key} must be digits")
    return value


def _text(fields: Mapping[str, str], key: str) -> str:
    value = fields.get(key, "").rstrip()
    if not value:
        raise MalformedMessage(f"field {key} is required")
    return value


def _currency(fields: Mapping[str, str], key: str) -> Currency:
    try:
        return by_numeric(fields.get(key, ""))
    except UnknownCurrency:
        raise MalformedMessage(f"field {key} is not a known currency") from None


def _amount(fields: Mapping[str, str]) -> Money:
    return Money(int(_digits(fields, "4")), _currency(fields, "49"))


def parse_authorization(fields: Mapping[str, str]) -> AuthorizationMessage:
    amount = _amount(fields)
    if amount.minor == 0:
        raise MalformedMessage("field 4 must be greater than zero")
    try:
        private = messages.parse_private_data(fields.get("48", ""))
    except MalformedMessage:
        private = {}
    return AuthorizationMessage(
        pan=_digits(fields, "2"),
        amount=amount,
        stan=_digits(fields, "11"),
        transmitted=_digits(fields, "7"),
        rrn=_text(fields, "37"),
        terminal_id=_text(fields, "41"),
        merchant_id=_text(fields, "42"),
        expiry=_digits(fields, "14"),
        cvc=private.get(messages.CVC_SUBELEMENT),
        stored_card=fields.get("22", "") == messages.STORED_CARD_ENTRY,
        cavv=private.get(messages.CAVV_SUBELEMENT, ""),
    )


def parse_reversal(fields: Mapping[str, str]) -> ReversalMessage:
    return ReversalMessage(
        pan=_digits(fields, "2"),
        amount=_amount(fields),
        stan=_digits(fields, "11"),
        transmitted=_digits(fields, "7"),
        rrn=_text(fields, "37"),
        terminal_id=_text(fields, "41"),
        original=OriginalData.parse(fields.get("90", "")),
    )


def _batch(fields: Mapping[str, str]) -> int:
    value = _digits(fields, messages.BATCH)
    if len(value) != 6:
        raise MalformedMessage(f"field {messages.BATCH} is a batch number of 6 digits")
    return int(value)


def parse_advice(fields: Mapping[str, str]) -> AdviceMessage:
    amount = _amount(fields)
    if amount.minor == 0:
        raise MalformedMessage("field 4 must be greater than zero")
    kind = _KINDS.get(fields.get("3", ""))
    if kind is None:
        raise MalformedMessage("field 3 is neither a purchase nor a refund")
    return AdviceMessage(
        pan=_digits(fields, "2"),
        amount=amount,
        kind=kind,
        stan=_digits(fields, "11"),
        transmitted=_digits(fields, "7"),
        rrn=_text(fields, "37"),
        terminal_id=_text(fields, "41"),
        merchant_id=_text(fields, "42"),
        batch=_batch(fields),
    )


def parse_reconciliation(fields: Mapping[str, str]) -> ReconciliationMessage:
    return ReconciliationMessage(
        terminal_id=_text(fields, "41"),
        batch=_batch(fields),
        currency=_currency(fields, "50"),
        debits=int(_digits(fields, "76")),
        debit_total=int(_digits(fields, "88")),
        credits=int(_digits(fields, "74")),
        credit_total=int(_digits(fields, "86")),
    )


def reply(
    request: Mapping[str, str], code: str, echo: tuple[str, ...], approval_code: str = ""
) -> Fields:
    """The answer to ``request``: its echoed fields, ``approval_code`` (38) and ``code`` (39)."""
    answer = {key: request[key] for key in echo if key in request}
    answer["t"] = messages.answer_mti(request["t"])
    if approval_code:
        answer["38"] = approval_code
    answer["39"] = code
    return answer
