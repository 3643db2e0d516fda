"""Fakes of our own ports, for tests that do not need the real processing center."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ips.domain.cards import Pan
from ips.domain.money import Money
from ips.domain.responses import ResponseCode
from ips.processing.port import (
    Answer,
    AuthorizationRequest,
    BatchTotals,
    FinancialAdvice,
    NoAnswer,
    ReversalRequest,
)
from ips.processing.secure import Authentication, AuthenticationStatus, Challenge
from ips.processing.wallet import WalletPayment, WalletState, WalletStatus

SILENT = "no answer"


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Monotonic:
    """A monotonic clock (``time.monotonic``) that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeProcessingCenter:
    """Answers by card number (``outcomes``; approves any other card) and keeps the holds
    it placed, by RRN, so tests can see what is still held."""

    outcomes: dict[str, ResponseCode | str] = field(default_factory=dict)
    reversal_outcomes: list[ResponseCode | str] = field(default_factory=list)
    """Answers to the next reversals, in order; when empty, reversals succeed."""
    holds: dict[str, int] = field(default_factory=dict)
    authorizations: list[AuthorizationRequest] = field(default_factory=list)
    reversals: list[ReversalRequest] = field(default_factory=list)
    staged: dict[int, dict[int, FinancialAdvice]] = field(default_factory=dict)
    """Advices by batch, then by STAN (a repeat is kept once)."""
    posted: list[FinancialAdvice] = field(default_factory=list)
    closes: list[BatchTotals] = field(default_factory=list)
    silent_closes: int = 0
    """How many of the next batch closes go unanswered."""
    unbalanced_closes: int = 0
    """How many of the next batch closes are answered out of balance (95)."""
    gate: asyncio.Event | None = None
    """When given, authorizations wait for it to be set: lets tests hold a payment in flight."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the first authorization arrives."""

    async def authorize(self, request: AuthorizationRequest) -> Answer:
        self.authorizations.append(request)
        self.arrived.set()
        if self.gate is not None:
            await self.gate.wait()
        outcome = self.outcomes.get(request.card.pan.reveal(), ResponseCode.SUCCESS)
        if outcome == SILENT:
            self.holds[request.id.rrn] = request.amount.minor  # placed, but the answer is lost
            raise NoAnswer("the fake keeps silent")
        assert isinstance(outcome, ResponseCode)
        if outcome.approved:
            self.holds[request.id.rrn] = request.amount.minor
            return Answer(outcome, approval_code="A1B2C3", raw_code="00")
        return Answer(outcome, raw_code="05")

    async def reverse(self, request: ReversalRequest) -> Answer:
        self.reversals.append(request)
        outcome = self.reversal_outcomes.pop(0) if self.reversal_outcomes else ResponseCode.SUCCESS
        if outcome == SILENT:
            raise NoAnswer("the fake keeps silent")
        assert isinstance(outcome, ResponseCode)
        if outcome is ResponseCode.SUCCESS and self.holds.pop(request.original.rrn, None) is None:
            return Answer(ResponseCode.NO_SUCH_PAYMENT, raw_code="25")
        return Answer(outcome, raw_code="00" if outcome.approved else "30")

    async def advise(self, advice: FinancialAdvice) -> Answer:
        self.staged.setdefault(advice.batch, {})[advice.id.stan] = advice
        return Answer(ResponseCode.SUCCESS, raw_code="00")

    async def close_batch(self, totals: BatchTotals) -> Answer:
        self.closes.append(totals)
        if self.silent_closes:
            self.silent_closes -= 1
            raise NoAnswer("the fake keeps silent")
        if self.unbalanced_closes:
            self.unbalanced_closes -= 1
            return Answer(ResponseCode.RECEPTION_ERROR, raw_code="95")
        advices = list(self.staged.get(totals.batch, {}).values())
        debits = [a.amount.minor for a in advices if not a.credit]
        credits = [a.amount.minor for a in advices if a.credit]
        if (totals.debits, totals.debit_total, totals.credits, totals.credit_total) != (
            len(debits),
            sum(debits),
            len(credits),
            sum(credits),
        ):
            return Answer(ResponseCode.RECEPTION_ERROR, raw_code="95")
        if not any(a in self.posted for a in advices):
            self.posted += advices
        return Answer(ResponseCode.SUCCESS, raw_code="00")


@dataclass
class FakeThreeDSecure:
    """Enrolls the cards in ``enrolled``; each challenge's outcome is set by the test.
    ``ranges``: the cards inside the card ranges it publishes (``None``: it publishes none,
    every card is asked about)."""

    enrolled: set[str] = field(default_factory=lambda: {"4000000000003220"})
    outcomes: dict[str, AuthenticationStatus] = field(default_factory=dict)
    silent: bool = False
    ranges: set[str] | None = None

    async def may_take_part(self, pan: Pan) -> bool:
        return self.ranges is None or pan.reveal() in self.ranges

    async def enroll(
        self, pan: Pan, amount: Money, merchant_id: str, return_url: str
    ) -> Challenge | None:
        if self.silent:
            raise NoAnswer("the fake keeps silent")
        if pan.reveal() not in self.enrolled:
            return None
        transaction = f"acs-{len(self.outcomes) + 1}"
        self.outcomes[transaction] = AuthenticationStatus.PENDING
        return Challenge(transaction, f"https://acs.example/{transaction}?back={return_url}")

    async def result(self, transaction: str) -> Authentication:
        status = self.outcomes.get(transaction, AuthenticationStatus.FAILED)
        cavv = f"cavv-{transaction}" if status is AuthenticationStatus.AUTHENTICATED else ""
        return Authentication(status, cavv)


@dataclass
class FakeWallet:
    """A wallet provider whose payments the test pays or declines."""

    payments: dict[str, WalletStatus] = field(default_factory=dict)
    created: list[tuple[str, Money]] = field(default_factory=list)
    returns: dict[str, str] = field(default_factory=dict)
    """Where each payment's page sends the buyer back to."""
    refunds: dict[str, int] = field(default_factory=dict)
    silent: bool = False

    async def create(
        self, reference: str, amount: Money, merchant_id: str, description: str, return_url: str
    ) -> WalletPayment:
        if self.silent:
            raise NoAnswer("the fake keeps silent")
        payment_id = f"w-{reference}"
        self.payments.setdefault(payment_id, WalletStatus.PENDING)
        self.created.append((reference, amount))
        self.returns[payment_id] = return_url
        return WalletPayment(payment_id, f"https://wallet.example/pay/{payment_id}")

    async def status(self, payment_id: str) -> WalletState:
        return WalletState(self.payments.get(payment_id, WalletStatus.DECLINED), "d***o")

    async def cancel(self, payment_id: str) -> WalletState:
        if self.payments.get(payment_id) is WalletStatus.PENDING:
            self.payments[payment_id] = WalletStatus.DECLINED
        return await self.status(payment_id)

    async def refund(self, payment_id: str, amount: Money, reference: str) -> bool:
        if self.silent:
            raise NoAnswer("the fake keeps silent")
        self.refunds.setdefault(reference, amount.minor)
        return self.payments.get(payment_id) is WalletStatus.PAID
