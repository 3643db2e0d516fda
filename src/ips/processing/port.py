"""The ``ProcessingCenter`` port: what IPS asks of an acquirer's host, in the domain's words.

The services call it; ``processing/iso8583`` implements it over ISO 8583 and TCP, and tests
use ``FakeProcessingCenter``-style doubles. Every method either returns the processing
center's ``Answer`` or raises ``NoAnswer`` — a timeout, a lost connection, or an answer that
could not be read all mean the same to the caller: the outcome is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ips.domain.cards import Card, Pan
from ips.domain.money import Currency, Money
from ips.domain.responses import ResponseCode
from paywire import messages as wire

MAX_AMOUNT_MINOR = wire.MAX_AMOUNT
"""The largest amount a processing center takes (ISO 8583 field 4: 12 digits of minor units).
Orders above it are refused when they are created, so no payment can exceed it."""


@dataclass(frozen=True)
class MessageId:
    """What names one message to the processing center (ISO 8583 fields 7, 11, 37, 41)."""

    stan: int
    rrn: str
    transmitted_at: datetime
    terminal_id: str = ""
    """The terminal the message goes under; empty: the one the link signed on as. A message
    that follows from an authorization goes under the authorization's terminal, whichever
    node sends it: the processing center finds the hold by terminal and RRN."""


@dataclass(frozen=True)
class AuthorizationRequest:
    id: MessageId
    card: Card
    amount: Money
    merchant_id: str
    recurring: bool = False
    """The merchant charges a stored card (no CVC), not the buyer paying on the page."""
    cavv: str = ""
    """The issuer's proof that 3-D Secure authenticated the cardholder (``Authentication``)."""
    double_stage: bool = False
    """The hold of a double-stage payment (the order's ``delay``), confirmed later: sent as a
    pre-authorization, which some acquirers refuse."""


@dataclass(frozen=True)
class ReversalRequest:
    """Cancels (all or part of) an authorization; ``repeat`` marks a resend (0401)."""

    id: MessageId
    original: MessageId
    pan: Pan
    amount: Money
    merchant_id: str
    repeat: bool = False


@dataclass(frozen=True)
class FinancialAdvice:
    """One financial transaction of a settlement batch (0220; ``repeat`` marks 0221).

    A debit presents a paid or confirmed amount against the authorization ``original``; a
    credit (``credit=True``) refunds an amount of it. The processing center keeps advices
    staged per batch and posts them when the batch is closed in balance.
    """

    id: MessageId
    original: MessageId
    batch: int
    pan: Pan
    amount: Money
    credit: bool
    merchant_id: str
    repeat: bool = False


@dataclass(frozen=True)
class BatchTotals:
    """Closes a settlement batch (0500): the counts and totals of its advices, one currency
    per batch. The answer is ``AS000`` when they agree with what the processing center
    received (it then posts the batch, once), ``AS107`` when they do not. The processing
    center keeps a batch per terminal: the totals close the part of the batch that went
    under the terminal ``id`` names (``services/terminals.close_batch`` closes them all)."""

    id: MessageId
    batch: int
    currency: Currency
    debits: int
    debit_total: int
    credits: int
    credit_total: int


@dataclass(frozen=True)
class Answer:
    code: ResponseCode
    approval_code: str = ""
    raw_code: str = ""
    """The processing center's own response code (ISO 8583 field 39), kept for the record."""

    @property
    def approved(self) -> bool:
        return self.code.approved


class NoAnswer(Exception):
    """The processing center did not answer, or its answer could not be read."""


class ProcessingCenter(Protocol):
    async def authorize(self, request: AuthorizationRequest) -> Answer: ...

    async def reverse(self, request: ReversalRequest) -> Answer:
        """Answers ``AS000`` when the hold is released, ``AS400`` when there was none."""
        ...

    async def advise(self, advice: FinancialAdvice) -> Answer:
        """``AS000`` when the advice is staged (a repeat of a staged one too)."""
        ...

    async def close_batch(self, totals: BatchTotals) -> Answer: ...
