"""The ISO 8583 dialect IPS speaks with a processing center, and its codec.

ISO 8583:1987, every field in ASCII (pyiso8583's ``default_ascii``), no header. Each message
travels in a frame: a 2-byte big-endian binary length, then the message (see ``framing``).

Fields used (``n`` digits, ``ans`` text; ``LL``/``LLL`` = ASCII length prefix):

====  ==========  ==================================================================
 2    LL n..19    PAN
 3    n 6         processing code, ``000000`` goods and services (authorization, reversal,
                  debit advice); ``200000`` refund (credit advice); default accounts
 4    n 12        amount in minor units of the currency in 49 (reversal: amount to release)
 7    n 10        transmission date and time, ``MMDDhhmmss`` UTC
11    n 6         STAN (a transaction's is unique per terminal and day); answers are
                  matched to requests by it, their MTI and the terminal (41)
12    n 6         local transaction time ``hhmmss`` (IPS sends the UTC time)
13    n 4         local transaction date ``MMDD`` (UTC)
14    n 4         card expiry ``YYMM``
22    n 3         POS entry mode: ``812`` e-commerce, PAN keyed by the cardholder; ``102``
                  a card on file charged by the merchant (recurring), no CVC
32    LL n..11    acquiring institution id
37    ans 12      RRN (reversal, advice: the RRN of the original authorization)
38    ans 6       approval code (in approved 0110)
39    ans 2       response code
41    ans 8       terminal id; one link carries the messages of several terminals (a
                  reversal goes under the terminal of the authorization it cancels)
42    ans 15      card acceptor id = IPS merchant id
48    LLL ans     private data as subelements ``II LL value`` (2-digit id, 2-digit length,
                  printable ASCII): ``92`` the CVC2, as in Mastercard's DE 48; ``93`` the
                  CAVV of a 3-D Secure authentication (28 characters: 20 bytes in base64),
                  which the issuer checks against its ACS — the card of 3-D Secure is
                  approved only with an unused CAVV of its own, else answered ``A3``
49    n 3         currency, ISO 4217 numeric
50    n 3         settlement currency of a batch (0500), ISO 4217 numeric
60    LLL ans     settlement batch number, always 6 digits (advices and 0500)
70    n 3         network management code: ``001`` sign-on, ``002`` sign-off, ``301`` echo
74    n 10        number of credits in the batch (0500)
76    n 10        number of debits in the batch (0500)
86    n 16        total of the credits, minor units of the currency in 50 (0500)
88    n 16        total of the debits, minor units of the currency in 50 (0500)
90    n 42        original data elements: MTI 4 + STAN 6 + transmission time 10
                  + acquirer id 11 + forwarding institution id 11 (zero-padded)
====  ==========  ==================================================================

Messages and their fields (answers echo their request's fields and add 38 and 39):

====  =====================================================================================
0100  authorization: 2 3 4 7 11 12 13 14 22 32 37 41 42 48 49
0400  reversal (0401 repeated): 2 3 4 7 11 32 37 41 42 49 90
0220  financial advice (0221 repeated): 2 3 4 7 11 12 13 32 37 41 42 49 60; a debit
      presents an amount of the hold, a credit refunds an amount of what was debited;
      answered ``00`` once staged in batch 60 of terminal 41 (a repeat too)
0500  batch reconciliation: 7 11 32 41 50 60 74 76 86 88; answered ``00`` when the counts
      and totals agree with the staged advices of the batch (which are then posted, once),
      ``95`` when they do not (nothing is posted)
0800  network management: 7 11 70; a sign-on adds 41, the terminal the link signs on as
====  =====================================================================================
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import iso8583
from iso8583.specs import default_ascii

Fields = dict[str, str]
"""A decoded message: field number (``"t"`` for the MTI) → value."""

SPEC: dict[str, dict[str, Any]] = copy.deepcopy(default_ascii)
SPEC["48"]["desc"] = "Additional Data - Private (subelements 92: CVC2, 93: CAVV)"
SPEC["60"]["desc"] = "Settlement Batch Number"


class CodecError(ValueError):
    """A message that does not fit the spec. The text never contains field values."""


def encode(fields: Mapping[str, str]) -> bytes:
    """The message bytes (without the frame's length prefix)."""
    try:
        raw, _ = iso8583.encode(dict(fields), SPEC)
    except iso8583.EncodeError as exc:
        raise CodecError(str(exc)) from None
    return bytes(raw)


def decode(message: bytes) -> Fields:
    try:
        fields, _ = iso8583.decode(message, SPEC)
    except iso8583.DecodeError as exc:
        raise CodecError(str(exc)) from None
    return dict(fields)
