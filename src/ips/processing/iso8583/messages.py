"""IPS's side of the ISO 8583 dialect: the port's requests mapped to field dicts, and the
processing center's answers mapped back to Assist response codes.

No I/O here: the client (``client``) sends what these functions build. The fields and their
formats, which IPS and the banks share, are ``paywire``'s (``paywire.spec``,
``paywire.messages``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ips.domain.money import Money
from ips.domain.responses import ResponseCode
from ips.processing.port import (
    Answer,
    AuthorizationRequest,
    BatchTotals,
    FinancialAdvice,
    ReversalRequest,
)
from paywire import messages as wire
from paywire.messages import (
    ADVICE,
    ADVICE_REPEAT,
    AUTHORIZATION,
    AUTHORIZATION_ANSWER,
    BATCH,
    CAVV_SUBELEMENT,
    CVC_SUBELEMENT,
    ECOMMERCE_ENTRY,
    PREAUTHORIZATION,
    PURCHASE,
    RECONCILIATION,
    REFUND,
    REVERSAL,
    REVERSAL_REPEAT,
    STORED_CARD_ENTRY,
    MalformedMessage,
    OriginalData,
    acquirer,
    batch_number,
    count,
    private_data,
    stan,
    text,
    total,
    transmission_time,
    utc,
)
from paywire.spec import Fields

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
    "57": ResponseCode.DECLINED,
    "58": ResponseCode.DECLINED,
    "92": ResponseCode.SYSTEM_ERROR,
    "95": ResponseCode.RECEPTION_ERROR,
    "91": ResponseCode.SYSTEM_ERROR,
    "96": ResponseCode.SYSTEM_ERROR,
}


"""Field 39 → Assist. ``57``/``58``, a transaction the bank does not permit (a currency it
does not take, a pre-authorization where it takes none), is a decline; ``92``, an acquirer id
(field 32) the bank does not know, is IPS's error, not the buyer's."""


def response_code(raw: str) -> ResponseCode:
    """The Assist code for field 39. An unknown code is a decline, never an approval."""
    return _RESPONSE_CODES.get(raw, ResponseCode.DECLINED)


def amount(money: Money) -> str:
    """Field 4 of ``money``."""
    return wire.amount(money.minor)


def authorization_fields(
    request: AuthorizationRequest, *, terminal_id: str, acquirer_id: str
) -> Fields:
    """The 0100 for an authorization. Raises ``ValueError`` when a value cannot be sent.

    Field 48 carries the CVC (subelement 92) and the 3-D Secure CAVV (93), those present; it
    is left out when there is neither. Field 25 marks the hold of a double-stage payment as a
    pre-authorization (``06``), left out for a single-stage one.
    """
    moment = utc(request.id.transmitted_at)
    card = request.card
    private = {CVC_SUBELEMENT: card.cvc.reveal()} if card.cvc else {}
    if request.cavv:
        private[CAVV_SUBELEMENT] = request.cavv
    return (
        {
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
        }
        | ({"48": private_data(private)} if private else {})
        | ({"25": PREAUTHORIZATION} if request.double_stage else {})
    )


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
    moment = utc(advice.id.transmitted_at)
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


def answer_from_fields(fields: Mapping[str, str]) -> Answer:
    raw = fields.get("39", "")
    if len(raw) != 2:
        raise MalformedMessage("the answer has no response code (field 39)")
    code = response_code(raw)
    approval_code = fields.get("38", "").strip() if code.approved else ""
    if code.approved and fields.get("t") == AUTHORIZATION_ANSWER and not approval_code:
        raise MalformedMessage("an approval without an approval code (field 38)")
    return Answer(code, approval_code=approval_code, raw_code=raw)
