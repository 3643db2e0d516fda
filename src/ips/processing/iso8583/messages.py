"""Pure mapping between the port's requests and answers and ISO 8583 field dicts.

No I/O here: the client (``client``) and the simulator both build and read messages with
these functions. The field layout is described in ``spec``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ips.domain.money import Money
from ips.domain.responses import ResponseCode
from ips.processing.iso8583.spec import Fields
from ips.processing.port import (
    Answer,
    AuthorizationRequest,
    BatchTotals,
    FinancialAdvice,
    ReversalRequest,
)

AUTHORIZATION = "0100"
AUTHORIZATION_ANSWER = "0110"
REVERSAL = "0400"
REVERSAL_REPEAT = "0401"
REVERSAL_ANSWER = "0410"
ADVICE = "0220"
ADVICE_REPEAT = "0221"
ADVICE_ANSWER = "0230"
RECONCILIATION = "0500"
RECONCILIATION_ANSWER = "0510"
NETWORK = "0800"
NETWORK_ANSWER = "0810"

PURCHASE = "000000"
"""Field 3: goods and services from the default account (authorizations, reversals, debits)."""
REFUND = "200000"
"""Field 3: a refund to the default account (a credit advice)."""
BATCH = "60"
"""The field that carries the settlement batch number (advices and reconciliation)."""
ECOMMERCE_ENTRY = "812"
"""Field 22: an e-commerce transaction, the PAN keyed in by the cardholder."""
STORED_CARD_ENTRY = "102"
"""Field 22: a card on file, no CVC: charged by the merchant (a recurring payment), or by its
holder where the acquirer takes that (``ProcessingProfile.card_on_file``)."""
CVC_SUBELEMENT = "92"
"""The field 48 subelement that carries the CVC2."""
CAVV_SUBELEMENT = "93"
"""The field 48 subelement that carries the CAVV of a 3-D Secure authentication."""
APPROVED = "00"


class NetworkCode(enum.StrEnum):
    """Field 70 of an 0800."""

    SIGN_ON = "001"
    SIGN_OFF = "002"
    ECHO = "301"


class MalformedMessage(ValueError):
    """A decoded message whose fields do not make sense. The text never holds card data."""


_RESPONSE_CODES: dict[str, ResponseCode] = {
    "00": ResponseCode.SUCCESS,
    "05": ResponseCode.DECLINED,
    "14": ResponseCode.WRONG_CARD_DATA,
    "82": ResponseCode.WRONG_CARD_DATA,
    "N7": ResponseCode.WRONG_CARD_DATA,
    "51": ResponseCode.INSUFFICIENT_FUNDS,
    "54": ResponseCode.WRONG_EXPIRY,
    "61": ResponseCode.CARD_LIMIT,
    "30": ResponseCode.RECEPTION_ERROR,
    "59": ResponseCode.SUSPECTED_FRAUD,
    "65": ResponseCode.OPERATIONS_LIMIT,
    "A3": ResponseCode.THREE_DS_REQUIRED,
    "94": ResponseCode.REPEAT_AUTHORIZATION,
    "25": ResponseCode.NO_SUCH_PAYMENT,
    "12": ResponseCode.DECLINED,
    "13": ResponseCode.DECLINED,
    "95": ResponseCode.RECEPTION_ERROR,
    "91": ResponseCode.SYSTEM_ERROR,
    "96": ResponseCode.SYSTEM_ERROR,
}


def response_code(raw: str) -> ResponseCode:
    """The Assist code for field 39. An unknown code is a decline, never an approval."""
    return _RESPONSE_CODES.get(raw, ResponseCode.DECLINED)


def answer_mti(request_mti: str) -> str:
    """The MTI that answers a request: ``0100`` → ``0110``, ``0401`` → ``0410``."""
    if len(request_mti) != 4 or not request_mti.isdigit() or int(request_mti[2]) % 2:
        raise MalformedMessage("not the MTI of a request")
    return request_mti[:2] + str(int(request_mti[2]) + 1) + "0"


def transmission_time(moment: datetime) -> str:
    """Field 7, ``MMDDhhmmss`` in UTC; a naive datetime is taken as UTC."""
    return _utc(moment).strftime("%m%d%H%M%S")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stan(number: int) -> str:
    if not 0 <= number <= 999_999:
        raise ValueError("a STAN is 0 to 999999")
    return f"{number:06d}"


def amount(money: Money) -> str:
    if money.minor >= 10**12:
        raise ValueError("field 4 holds at most 12 digits of minor units")
    return f"{money.minor:012d}"


def batch_number(number: int) -> str:
    """Field 60 of advices and reconciliations: the batch number as 6 digits."""
    if not 0 <= number <= 999_999:
        raise ValueError("a batch number is 0 to 999999")
    return f"{number:06d}"


def count(number: int, name: str) -> str:
    """Fields 74 and 76: a number of transactions, 10 digits."""
    if not 0 <= number < 10**10:
        raise ValueError(f"{name} is 0 to 10 digits")
    return f"{number:010d}"


def total(minor: int, name: str) -> str:
    """Fields 86 and 88: a sum in minor units, 16 digits."""
    if not 0 <= minor < 10**16:
        raise ValueError(f"{name} is 0 to 16 digits of minor units")
    return f"{minor:016d}"


def text(value: str, length: int, name: str) -> str:
    """A fixed ``ans`` field, padded on the right with spaces."""
    if len(value) > length or not value.isascii() or not value.isprintable():
        raise ValueError(f"{name} is up to {length} printable ASCII characters")
    return value.ljust(length)


def acquirer(acquirer_id: str) -> str:
    if not (acquirer_id.isdigit() and acquirer_id.isascii() and len(acquirer_id) <= 11):
        raise ValueError("the acquirer id is 1 to 11 digits")
    return acquirer_id


def private_data(subelements: Mapping[str, str]) -> str:
    """Field 48: each subelement as 2-digit id, 2-digit length, value.

    Raises ``ValueError`` for a value that is not printable ASCII or longer than 99."""
    for key, value in subelements.items():
        if len(value) > 99 or not value.isascii() or not value.isprintable():
            raise ValueError(f"subelement {key} of field 48 is up to 99 printable characters")
    return "".join(f"{key}{len(value):02d}{value}" for key, value in subelements.items())


def parse_private_data(field: str) -> dict[str, str]:
    found: dict[str, str] = {}
    position = 0
    while position < len(field):
        head = field[position : position + 4]
        if len(head) < 4 or not head.isdigit():
            raise MalformedMessage("field 48 is not a list of subelements")
        length = int(head[2:])
        value = field[position + 4 : position + 4 + length]
        if len(value) != length:
            raise MalformedMessage("field 48 ends inside a subelement")
        found[head[:2]] = value
        position += 4 + length
    return found


@dataclass(frozen=True)
class OriginalData:
    """Field 90 of a reversal: which authorization it cancels."""

    mti: str
    stan: str
    transmitted: str
    acquirer_id: str
    forwarding_id: str = ""

    def encode(self) -> str:
        return (
            self.mti
            + self.stan
            + self.transmitted
            + self.acquirer_id.zfill(11)
            + self.forwarding_id.zfill(11)
        )

    @classmethod
    def parse(cls, field: str) -> OriginalData:
        if len(field) != 42 or not field.isdigit():
            raise MalformedMessage("field 90 is 42 digits")
        return cls(field[:4], field[4:10], field[10:20], field[20:31], field[31:42])


def authorization_fields(
    request: AuthorizationRequest, *, terminal_id: str, acquirer_id: str
) -> Fields:
    """The 0100 for an authorization. Raises ``ValueError`` when a value cannot be sent.

    Field 48 carries the CVC (subelement 92) and the 3-D Secure CAVV (93), those present; it
    is left out when there is neither.
    """
    moment = _utc(request.id.transmitted_at)
    card = request.card
    private = {CVC_SUBELEMENT: card.cvc.reveal()} if card.cvc else {}
    if request.cavv:
        private[CAVV_SUBELEMENT] = request.cavv
    return {
        "t": AUTHORIZATION,
        "2": card.pan.reveal(),
        "3": PURCHASE,
        "4": amount(request.amount),
        "7": transmission_time(moment),
        "11": stan(request.id.stan),
        "12": moment.strftime("%H%M%S"),
        "13": moment.strftime("%m%d"),
        "14": card.expiry.yymm,
        "22": STORED_CARD_ENTRY if request.recurring or not card.cvc else ECOMMERCE_ENTRY,
        "32": acquirer(acquirer_id),
        "37": text(request.id.rrn, 12, "the RRN"),
        "41": text(terminal_id, 8, "the terminal id"),
        "42": text(request.merchant_id, 15, "the merchant id"),
        "49": request.amount.currency.numeric,
    } | ({"48": private_data(private)} if private else {})


def reversal_fields(request: ReversalRequest, *, terminal_id: str, acquirer_id: str) -> Fields:
    """The 0400 (0401 when repeated) that releases ``request.amount`` of the original hold.

    Field 37 is the original authorization's RRN and field 90 names its STAN and time; the
    reversal's own STAN and time go in 11 and 7. A repeat must keep the reversal's ``id``.
    """
    return {
        "t": REVERSAL_REPEAT if request.repeat else REVERSAL,
        "2": request.pan.reveal(),
        "3": PURCHASE,
        "4": amount(request.amount),
        "7": transmission_time(request.id.transmitted_at),
        "11": stan(request.id.stan),
        "32": acquirer(acquirer_id),
        "37": text(request.original.rrn, 12, "the RRN"),
        "41": text(terminal_id, 8, "the terminal id"),
        "42": text(request.merchant_id, 15, "the merchant id"),
        "49": request.amount.currency.numeric,
        "90": OriginalData(
            AUTHORIZATION,
            stan(request.original.stan),
            transmission_time(request.original.transmitted_at),
            acquirer(acquirer_id),
        ).encode(),
    }


def advice_fields(advice: FinancialAdvice, *, terminal_id: str, acquirer_id: str) -> Fields:
    """The 0220 (0221 when repeated) that stages a debit or credit in batch ``advice.batch``.

    Fields 7, 11, 12 and 13 are the advice's own; field 37 is the original authorization's
    RRN, by which the host finds the hold (with the terminal, 41). A repeat must keep the
    advice's ``id`` and batch: the host stages an advice once per (terminal, batch, STAN).
    """
    moment = _utc(advice.id.transmitted_at)
    return {
        "t": ADVICE_REPEAT if advice.repeat else ADVICE,
        "2": advice.pan.reveal(),
        "3": REFUND if advice.credit else PURCHASE,
        "4": amount(advice.amount),
        "7": transmission_time(moment),
        "11": stan(advice.id.stan),
        "12": moment.strftime("%H%M%S"),
        "13": moment.strftime("%m%d"),
        "32": acquirer(acquirer_id),
        "37": text(advice.original.rrn, 12, "the RRN"),
        "41": text(terminal_id, 8, "the terminal id"),
        "42": text(advice.merchant_id, 15, "the merchant id"),
        "49": advice.amount.currency.numeric,
        BATCH: batch_number(advice.batch),
    }


def reconciliation_fields(totals: BatchTotals, *, terminal_id: str, acquirer_id: str) -> Fields:
    """The 0500 that closes batch ``totals.batch`` of this terminal with its counts and totals.

    Credits are refunds (processing code ``20``), debits everything else; the totals are in
    minor units of the settlement currency (50).
    """
    return {
        "t": RECONCILIATION,
        "7": transmission_time(totals.id.transmitted_at),
        "11": stan(totals.id.stan),
        "32": acquirer(acquirer_id),
        "41": text(terminal_id, 8, "the terminal id"),
        "50": totals.currency.numeric,
        BATCH: batch_number(totals.batch),
        "74": count(totals.credits, "the number of credits"),
        "76": count(totals.debits, "the number of debits"),
        "86": total(totals.credit_total, "the total of credits"),
        "88": total(totals.debit_total, "the total of debits"),
    }


def network_fields(
    code: NetworkCode, *, number: int, at: datetime, terminal_id: str = ""
) -> Fields:
    """An 0800; a sign-on names the terminal the link signs on as (41)."""
    fields = {"t": NETWORK, "7": transmission_time(at), "11": stan(number), "70": code.value}
    return fields | ({"41": text(terminal_id, 8, "the terminal id")} if terminal_id else {})


_ECHOED = ("3", "4", "37", "41", "49", "50", BATCH, "74", "76", "86", "88")


def answers(request: Mapping[str, str], answer: Mapping[str, str]) -> bool:
    """Whether ``answer`` is an answer to ``request``: its MTI, STAN and echoed fields agree."""
    if answer.get("t") != answer_mti(request["t"]) or answer.get("11") != request.get("11"):
        return False
    return all(answer[key] == request.get(key) for key in _ECHOED if key in answer)


def answer_from_fields(fields: Mapping[str, str]) -> Answer:
    raw = fields.get("39", "")
    if len(raw) != 2:
        raise MalformedMessage("the answer has no response code (field 39)")
    code = response_code(raw)
    approval_code = fields.get("38", "").strip() if code.approved else ""
    if code.approved and fields.get("t") == AUTHORIZATION_ANSWER and not approval_code:
        raise MalformedMessage("an approval without an approval code (field 38)")
    return Answer(code, approval_code=approval_code, raw_code=raw)


_HIDDEN = frozenset({"14", "35", "45", "48", "52"})
"""Expiry, track 2, track 1, private data (the CVC, the CAVV), PIN block."""


def mask_pan(digits: str) -> str:
    """First six and last four, as ``Pan.masked``: ``411111****1111``; short values hidden."""
    if len(digits) <= 10:
        return "*" * len(digits)
    return f"{digits[:6]}****{digits[-4:]}"


def masked(fields: Mapping[str, str]) -> Fields:
    """A copy of a message safe to log: no clear PAN, expiry, track data, CVC, CAVV or PIN."""
    return {
        key: mask_pan(value) if key == "2" else "***" if key in _HIDDEN else value
        for key, value in fields.items()
    }
