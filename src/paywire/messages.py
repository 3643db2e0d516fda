"""The messages of the ISO 8583 dialect, field by field: their MTIs, codes and the formats of
their values — what IPS sends and the bank reads, and back. Pure functions, no I/O; the field
layout is described in ``spec``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from paywire.spec import Fields

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
holder where the acquirer takes that (its card-on-file rule)."""
PREAUTHORIZATION = "06"
"""Field 25 (POS condition code) of an 0100: a pre-authorization, its amount held for a
completion later (a double-stage payment). An 0100 without field 25 is a single-stage
payment's authorization."""
CVC_SUBELEMENT = "92"
"""The field 48 subelement that carries the CVC2."""
CAVV_SUBELEMENT = "93"
"""The field 48 subelement that carries the CAVV of a 3-D Secure authentication."""
APPROVED = "00"
MAX_AMOUNT = 10**12 - 1
"""The largest amount field 4 holds: 12 digits of minor units."""


class NetworkCode(enum.StrEnum):
    """Field 70 of an 0800."""

    SIGN_ON = "001"
    SIGN_OFF = "002"
    ECHO = "301"


class MalformedMessage(ValueError):
    """A decoded message whose fields do not make sense. The text never holds card data."""


def answer_mti(request_mti: str) -> str:
    """The MTI that answers a request: ``0100`` → ``0110``, ``0401`` → ``0410``."""
    if len(request_mti) != 4 or not request_mti.isdigit() or int(request_mti[2]) % 2:
        raise MalformedMessage("not the MTI of a request")
    return request_mti[:2] + str(int(request_mti[2]) + 1) + "0"


def transmission_time(moment: datetime) -> str:
    """Field 7, ``MMDDhhmmss`` in UTC; a naive datetime is taken as UTC."""
    return utc(moment).strftime("%m%d%H%M%S")


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stan(number: int) -> str:
    if not 0 <= number <= 999_999:
        raise ValueError("a STAN is 0 to 999999")
    return f"{number:06d}"


def amount(minor: int) -> str:
    """Field 4: an amount in minor units, 12 digits."""
    if not 0 <= minor <= MAX_AMOUNT:
        raise ValueError("field 4 holds at most 12 digits of minor units")
    return f"{minor:012d}"


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
