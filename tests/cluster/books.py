"""The end checks of a cluster run: IPS's books against themselves, against the processing
center's, against the shop's notifications and against what the nodes acknowledged to the
buyers and the shop. Each check that fails is a finding, a line that names the order (its
billnumber and ordernumber) and what is wrong; a run is good when there are none.

- No order is left in a state that should have ended: ``In Process`` only while a 3-D Secure
  check is open (the buyer has 15 minutes at the issuer's page) or, with no payment begun,
  within the order's lifetime; no operation left ``in_process`` beside such a check.
- Every hold confirmed or released: no unconfirmed money past the hold period, no charged
  money never presented, and at the bank no hold still active.
- Each order's books agree with its transactions (held = the approved authorization;
  released, cancelled from the hold and reversed = its answered reversals; presented = its
  debits; refunded = its credits), and no message is left waiting for an answer.
- Every settlement batch accepted, at the bank too, and each debit and credit posted at the
  bank exactly once, under the terminal, batch and STAN IPS recorded.
- Every operation that succeeded or was declined has its notification (the shop asked for
  all three kinds), delivered, and received by the shop at least once.
- Reconciliation finds no difference, authorization by authorization, and what the
  merchants were paid — debits less credits — is the same at IPS and at the bank.
- What the nodes acknowledged holds: a payment the buyer was told was approved is held, one
  told declined is not; confirmations and cancels the shop was told succeeded are there
  (cancels by their ExternalRefundID, once each), and nothing more than was asked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from demobank.ledger import Ledger, PostingKind
from ips.domain.orders import CancelReason, Operation, OperationKind, Order, Transaction
from ips.domain.orders import TransactionKind as Kind
from ips.domain.settlement import BatchStatus
from ips.domain.states import OperationStatus, OrderState, TransactionStatus
from ips.services.authentication import CHALLENGE_TIME
from ips.services.gateway import Timings
from ips.services.reconciliation import reconcile
from ips.storage.tables import notifications, orders, settlement_batches
from ips.storage.unit_of_work import Database
from tests.banks import bank_figures
from tests.cluster.traffic import Deal

Status = TransactionStatus
WAITING = (Status.CREATED, Status.SENT, Status.UNKNOWN)
LIVE = (Status.CREATED, Status.SENT, Status.APPROVED)
"""A debit or credit that is (or will be) at the bank: not withdrawn, not refused."""


@dataclass
class Audit:
    findings: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return not self.findings


@dataclass
class _Order:
    order: Order
    operations: list[Operation]
    transactions: list[Transaction]

    @property
    def name(self) -> str:
        return f"order {self.order.billnumber} ({self.order.ordernumber})"

    def of(self, *kinds: Kind, status: tuple[Status, ...] = (Status.APPROVED,)) -> int:
        return sum(
            t.amount.minor for t in self.transactions if t.kind in kinds and t.status in status
        )

    def open_check(self, now: datetime) -> bool:
        """A 3-D Secure check the buyer may still come back from."""
        return any(
            t.kind is Kind.AUTHENTICATION
            and t.status is Status.SENT
            and (t.updated_at or t.created_at) + CHALLENGE_TIME > now
            for t in self.transactions
        )

    def describe(self) -> str:
        ops = ", ".join(f"{o.kind.name.lower()} {o.status.value}" for o in self.operations)
        txs = ", ".join(f"{t.kind.value} {t.id} {t.status.value}" for t in self.transactions)
        return f"operations [{ops}]; transactions [{txs}]"


async def audit(
    database: Database,
    store: Path,
    received: list[dict[str, str]],
    deals: list[Deal],
    timings: Timings,
    now: datetime,
) -> Audit:
    found = Audit()
    async with database(readonly=True) as uow:
        async with database.engine.connect() as conn:
            ids = list((await conn.execute(select(orders.c.id))).scalars())
            batches = (await conn.execute(select(settlement_batches))).mappings().all()
            outbox = (await conn.execute(select(notifications))).mappings().all()
        every = await uow.orders.many(ids)
        operations = await uow.operations.of_orders(ids)
        transactions = await uow.transactions.all()
    of_order: dict[int, _Order] = {o.id: _Order(o, [], []) for o in every if o.id is not None}
    for operation in operations:
        of_order[operation.order_id].operations.append(operation)
    for transaction in transactions:
        of_order[transaction.order_id].transactions.append(transaction)

    for entry in of_order.values():
        found.findings += _order_findings(entry, timings, now)
    found.findings += await _bank_findings(store, transactions, batches, of_order)
    found.findings += [str(d) for d in await reconcile(database, await bank_figures(store))]
    found.findings += _notification_findings(outbox, received, found.figures)
    notified = {row["operation_id"] for row in outbox}
    found.findings += [
        f"{entry.name}: its {operation.kind.name.lower()} {operation.id} ended "
        f"{operation.status.value} and nobody was to be told"
        for entry in of_order.values()
        for operation in entry.operations
        if operation.status in (OperationStatus.SUCCESS, OperationStatus.DECLINED)
        and operation.id not in notified
    ]
    found.findings += _deal_findings(deals, of_order)
    found.figures |= await _money(store, every, found)
    found.figures["orders"] = dict(Counter(o.state.value for o in every))
    found.figures["at the issuer's page"] = sum(
        e.order.state is OrderState.IN_PROCESS and e.open_check(now) for e in of_order.values()
    )
    found.figures["batches"] = len(batches)
    return found


def _order_findings(entry: _Order, timings: Timings, now: datetime) -> list[str]:
    order, name, findings = entry.order, entry.name, []
    open_check = entry.open_check(now)
    payments = [o for o in entry.operations if o.kind is OperationKind.PAYMENT]
    expired = order.created_at + timings.order_lifetime <= now
    if order.state is OrderState.IN_PROCESS and not open_check and (payments or expired):
        findings.append(f"{name} is stuck In Process: {entry.describe()}")
    for operation in entry.operations:
        if operation.status is OperationStatus.IN_PROCESS and not open_check:
            findings.append(f"{name}: its {operation.kind.name.lower()} is still in process")
    for t in entry.transactions:
        if t.status in WAITING and not (t.kind is Kind.AUTHENTICATION and open_check):
            findings.append(f"{name}: {t.kind.value} {t.id} still {t.status.value}")

    books = order.books
    held = entry.of(Kind.AUTHORIZATION)
    if (books.held if books else 0) != held:
        findings.append(f"{name}: books hold {books.held if books else 0}, approved {held}")
    if books is None:
        return findings
    paid_at = max((p.finished_at for p in payments if p.finished_at), default=now)
    if books.unconfirmed and paid_at + timings.hold_period <= now:
        findings.append(f"{name}: {books.unconfirmed} held unconfirmed past the hold period")
    if books.unpresented:
        findings.append(f"{name}: {books.unpresented} charged and never presented")
    released = sum(
        t.amount.minor
        for t in entry.transactions
        if t.kind is Kind.REVERSAL
        and t.status is Status.APPROVED
        and any(a.id == t.original_id and a.status is Status.APPROVED for a in entry.transactions)
    )
    given_back = books.released + books.hold_cancelled + books.reversed
    if given_back != released:
        findings.append(f"{name}: books give back {given_back}, reversals released {released}")
    if books.presented != entry.of(Kind.FINANCIAL, status=LIVE):
        findings.append(f"{name}: books present {books.presented}, debits "
                        f"{entry.of(Kind.FINANCIAL, status=LIVE)}")  # fmt: skip
    if books.refunded != entry.of(Kind.REFUND, status=LIVE):
        findings.append(f"{name}: books refund {books.refunded}, credits "
                        f"{entry.of(Kind.REFUND, status=LIVE)}")  # fmt: skip
    return findings


async def _bank_findings(
    store: Path,
    transactions: list[Transaction],
    batches: Any,
    of_order: dict[int, _Order],
) -> list[str]:
    findings = [
        f"batch {b['id']} is {b['status']}"
        for b in batches
        if b["status"] != BatchStatus.ACCEPTED.value
    ]
    by_rrn = {
        (t.terminal_id, t.rrn): of_order[t.order_id].name
        for t in transactions
        if t.kind is Kind.AUTHORIZATION and t.transmitted_at is not None
    }
    async with await Ledger.open(store) as ledger:
        active, staged = await ledger.active_holds(), await ledger.staged()
        posted, at_bank = await ledger.postings(), await ledger.batches()
    for hold in active:
        whose = by_rrn.get((hold.terminal_id, hold.rrn), "no order of IPS")
        findings.append(f"the bank still holds {hold.outstanding} of {hold.terminal_id} "
                        f"{hold.rrn} ({whose})")  # fmt: skip
    findings += [f"the bank's batch {b.number} of {b.terminal_id} is {b.status.value}"
                 for b in at_bank if b.status.value != "accepted"]  # fmt: skip
    findings += [f"advice {p.stan} of batch {p.batch} ({p.rrn}) staged, never posted"
                 for p in staged]  # fmt: skip
    ips_batches = {b["id"] for b in batches}
    findings += [f"the bank has batch {b.number} of {b.terminal_id}, unknown to IPS"
                 for b in at_bank if b.number not in ips_batches]  # fmt: skip

    ours: Counter[tuple[object, ...]] = Counter(
        (t.terminal_id, t.batch_id, t.stan, "credit" if t.kind is Kind.REFUND else "debit",
         t.amount.minor)
        for t in transactions
        if t.kind in (Kind.FINANCIAL, Kind.REFUND) and t.status is Status.APPROVED
    )  # fmt: skip
    theirs: Counter[tuple[object, ...]] = Counter(
        (p.terminal_id, p.batch, int(p.stan), p.kind.value, p.amount.minor) for p in posted
    )
    for advice, times in (theirs - ours).items():
        findings.append(f"the bank posted {advice} {times} time(s) more than IPS sent it")
    for advice, times in (ours - theirs).items():
        findings.append(f"IPS counts {advice} as posted; the bank has it {times} time(s) less")
    return findings


def _notification_findings(
    outbox: Any, received: list[dict[str, str]], figures: dict[str, Any]
) -> list[str]:
    arrived = Counter(frozenset(fields.items()) for fields in received)
    findings, repeated = [], 0
    for row in outbox:
        fields = row["fields"]
        times = arrived[frozenset(fields.items())]
        if row["status"] != "delivered":
            findings.append(f"notification {row['id']} of order {fields.get('billnumber')} is "
                            f"{row['status']} after {row['attempts']} attempt(s)")  # fmt: skip
        if not times:
            findings.append(f"notification {row['id']} of order {fields.get('billnumber')} "
                            "never reached the shop")  # fmt: skip
        repeated += max(times - 1, 0)
    figures["notifications"] = len(outbox)
    figures["notifications received again"] = repeated
    return findings


def _deal_findings(deals: list[Deal], of_order: dict[int, _Order]) -> list[str]:
    findings = []
    by_bill = {entry.order.billnumber: entry for entry in of_order.values()}
    known = {deal.ordernumber for deal in deals}
    findings += [f"{e.name}: nobody made it" for e in of_order.values()
                 if e.order.ordernumber not in known]  # fmt: skip
    for deal in deals:
        if not deal.billnumber:
            continue
        entry = by_bill.get(deal.billnumber)
        if entry is None:
            findings.append(f"order {deal.billnumber} ({deal.ordernumber}) is gone")
            continue
        books, name = entry.order.books, entry.name
        held = books.held if books else 0
        if deal.outcome == "approved" and held != deal.amount:
            findings.append(f"{name}: the buyer was told approved; {held} held of {deal.amount}")
        if deal.outcome == "declined" and (held or entry.order.state is not OrderState.DECLINED):
            findings.append(f"{name}: the buyer was told declined; it is "
                            f"{entry.order.state.value} with {held} held")  # fmt: skip
        confirmed = sum(
            o.amount.minor
            for o in entry.operations
            if o.kind is OperationKind.CONFIRMATION and o.status is OperationStatus.SUCCESS
        )
        if not deal.confirmed <= confirmed <= deal.confirmed + deal.confirmed_unknown:
            findings.append(f"{name}: {confirmed} confirmed; the shop was told {deal.confirmed}"
                            f" (and {deal.confirmed_unknown} cut off)")  # fmt: skip
        cancels = [o for o in entry.operations if o.kind is OperationKind.CANCEL]
        by_id: defaultdict[str, list[Operation]] = defaultdict(list)
        for o in cancels:
            if o.cancel_reason is not CancelReason.HOLD_EXPIRED:
                by_id[o.external_refund_id].append(o)
        for once, amount in deal.cancels.items():
            amounts = [o.amount.minor for o in by_id.get(once, [])]
            if amounts != [amount]:
                findings.append(f"{name}: cancel {once} of {amount} was acknowledged; "
                                f"IPS has {amounts}")  # fmt: skip
        asked = set(deal.cancels) | deal.cancels_unknown
        for once, done in by_id.items():
            if once not in asked or len(done) > 1:
                findings.append(f"{name}: {len(done)} cancel(s) {once!r} nobody asked for")
    return findings


async def _money(store: Path, every: list[Order], found: Audit) -> dict[str, int]:
    """What the merchants were paid (debits less credits) and what is still held, on each
    side, in kopecks."""
    held = sum(o.books.unconfirmed + o.books.unpresented for o in every if o.books)
    paid = sum(o.books.presented - o.books.refunded for o in every if o.books)
    async with await Ledger.open(store) as ledger:
        holds, posted = await ledger.holds(), await ledger.postings()
    bank_held = sum(h.outstanding.minor for h in holds)
    bank_paid = sum(p.amount.minor * (1 if p.kind is PostingKind.DEBIT else -1) for p in posted)
    if (held, paid) != (bank_held, bank_paid):
        found.findings.append(f"IPS holds {held} and paid {paid}; the bank holds {bank_held} "
                              f"and paid {bank_paid}")  # fmt: skip
    return {"paid to merchants (IPS)": paid, "paid to merchants (bank)": bank_paid,
            "still held (IPS)": held, "still held (bank)": bank_held}  # fmt: skip
