"""Settlement through the ISO 8583 client against the real simulator, over TCP: advices staged
per batch, posted by a balanced 0500, and the simulator's books checked to the cent."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from demobank import (
    BatchStatus,
    HoldStatus,
    Ledger,
    PostingKind,
    Simulator,
    protocol,
)
from demobank.money import Money as BankMoney
from ips.domain.cards import Card, Expiry, Pan, Secret
from ips.domain.money import Currency, Money, currency
from ips.domain.responses import ResponseCode
from ips.processing.iso8583 import Iso8583ProcessingCenter
from ips.processing.port import (
    AuthorizationRequest,
    BatchTotals,
    FinancialAdvice,
    MessageId,
    NoAnswer,
    ReversalRequest,
)
from paywire import messages as wire
from paywire.spec import Fields
from tests.integration.test_iso8583_faults import FakeHost, message

TERMINAL = "IPS00001"
MERCHANT = "100500"
RUB = currency("RUB")
USD = currency("USD")
MILLION_RUB = 1_000_000_00
VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
TEN_ROUBLES = "4000000000009995"
TIMEOUT = 0.5

_stans = itertools.count(1)


def message_id() -> MessageId:
    number = next(_stans)
    return MessageId(number, f"{number:012d}", datetime.now(UTC))


def rub(minor: int) -> Money:
    return Money(minor, RUB)


def bank_rub(minor: int) -> BankMoney:
    return BankMoney(minor, RUB)


async def authorized(
    client: Iso8583ProcessingCenter, pan: str = VISA, amount: Money | None = None
) -> AuthorizationRequest:
    request = AuthorizationRequest(
        message_id(),
        Card(Pan.parse(pan), Expiry(12, 2035), Secret("987"), "IVAN PETROV"),
        amount or rub(100_00),
        MERCHANT,
    )
    assert (await client.authorize(request)).approved
    return request


def debit(of: AuthorizationRequest, amount: Money, batch: int = 1) -> FinancialAdvice:
    return FinancialAdvice(message_id(), of.id, batch, of.card.pan, amount, False, MERCHANT)


def credit(of: AuthorizationRequest, amount: Money, batch: int = 1) -> FinancialAdvice:
    return replace(debit(of, amount, batch), credit=True)


def totals(
    batch: int,
    *,
    debits: tuple[int, ...] = (),
    credits: tuple[int, ...] = (),
    cur: Currency = RUB,
) -> BatchTotals:
    """The 0500 figures of a batch whose advices have these amounts (minor units)."""
    return BatchTotals(
        message_id(), batch, cur, len(debits), sum(debits), len(credits), sum(credits)
    )


async def advise_all(client: Iso8583ProcessingCenter, *advices: FinancialAdvice) -> None:
    for advice in advices:
        answer = await client.advise(advice)
        assert (answer.code, answer.raw_code) == (ResponseCode.SUCCESS, "00"), advice


@pytest.fixture
async def simulator(tmp_path: Path) -> AsyncIterator[Simulator]:
    async with Simulator(tmp_path / "bank.sqlite3") as running:
        yield running


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[Iso8583ProcessingCenter]:
    center = Iso8583ProcessingCenter(
        "127.0.0.1", simulator.port, terminal_id=TERMINAL, acquirer_id="123456", timeout=TIMEOUT
    )
    await center.start()
    yield center
    await center.close()


async def test_advices_are_staged_and_posted_by_a_balanced_close(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    ledger = simulator.ledger
    visa = await authorized(client, VISA, rub(100_00))
    mastercard = await authorized(client, MASTERCARD, rub(250_75))
    await advise_all(client, debit(visa, rub(100_00)), debit(mastercard, rub(200_00)))

    assert await ledger.postings() == []
    assert [(p.rrn, p.kind, p.amount) for p in await ledger.staged()] == [
        (visa.id.rrn, PostingKind.DEBIT, bank_rub(100_00)),
        (mastercard.id.rrn, PostingKind.DEBIT, bank_rub(200_00)),
    ]
    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB)
    assert await ledger.available(VISA, RUB) == bank_rub(MILLION_RUB - 100_00)

    answer = await client.close_batch(totals(1, debits=(100_00, 200_00)))

    assert (answer.code, answer.raw_code) == (ResponseCode.SUCCESS, "00")
    assert await ledger.staged() == []
    postings = await ledger.postings()
    assert [(p.terminal_id, p.rrn, p.kind, p.amount, p.batch) for p in postings] == [
        (TERMINAL, visa.id.rrn, PostingKind.DEBIT, bank_rub(100_00), 1),
        (TERMINAL, mastercard.id.rrn, PostingKind.DEBIT, bank_rub(200_00), 1),
    ]
    assert all(p.posted_at is not None and p.merchant_id == MERCHANT for p in postings)
    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB - 100_00)
    assert await ledger.available(VISA, RUB) == bank_rub(MILLION_RUB - 100_00)
    assert await ledger.balance(MASTERCARD, RUB) == bank_rub(MILLION_RUB - 200_00)
    assert await ledger.available(MASTERCARD, RUB) == bank_rub(MILLION_RUB - 250_75)
    visa_hold = await ledger.hold(TERMINAL, visa.id.rrn)
    mastercard_hold = await ledger.hold(TERMINAL, mastercard.id.rrn)
    assert visa_hold is not None
    assert mastercard_hold is not None
    assert (visa_hold.captured, visa_hold.outstanding, visa_hold.status) == (
        bank_rub(100_00),
        bank_rub(0),
        HoldStatus.CAPTURED,
    )
    assert (mastercard_hold.captured, mastercard_hold.outstanding, mastercard_hold.status) == (
        bank_rub(200_00),
        bank_rub(50_75),
        HoldStatus.ACTIVE,
    )
    [batch] = await ledger.batches()
    assert (batch.terminal_id, batch.number, batch.currency, batch.status) == (
        TERMINAL,
        1,
        RUB,
        BatchStatus.ACCEPTED,
    )
    assert (batch.debits, batch.debit_total, batch.credits, batch.credit_total) == (
        2,
        bank_rub(300_00),
        0,
        bank_rub(0),
    )

    await advise_all(client, credit(visa, rub(30_00), batch=2))
    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB - 100_00)
    assert (await client.close_batch(totals(2, credits=(30_00,)))).approved

    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB - 70_00)
    assert await ledger.available(VISA, RUB) == bank_rub(MILLION_RUB - 70_00)
    assert [(p.kind, p.amount, p.batch) for p in await ledger.postings()][-1] == (
        PostingKind.CREDIT,
        bank_rub(30_00),
        2,
    )


async def test_an_out_of_balance_close_posts_nothing_and_a_retry_after_resending_works(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    ledger = simulator.ledger
    first = await authorized(client, VISA, rub(100_00))
    second = await authorized(client, MASTERCARD, rub(100_00))
    lost = debit(second, rub(60_00))
    await advise_all(client, debit(first, rub(40_00)))
    full = totals(1, debits=(40_00, 60_00))

    answer = await client.close_batch(full)

    assert (answer.code, answer.raw_code) == (ResponseCode.RECEPTION_ERROR, "95")
    assert await ledger.postings() == []
    assert len(await ledger.staged()) == 1
    batch = await ledger.batch(TERMINAL, 1)
    assert batch is not None
    assert (batch.status, batch.debits, batch.debit_total) == (
        BatchStatus.STAGED,
        1,
        bank_rub(40_00),
    )
    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB)

    await advise_all(client, lost)
    too_little = await client.close_batch(totals(1, debits=(40_00,)))
    wrong_currency = await client.close_batch(totals(1, debits=(40_00, 60_00), cur=USD))
    assert (too_little.raw_code, wrong_currency.raw_code) == ("95", "95")
    assert await ledger.postings() == []

    assert (await client.close_batch(replace(full, id=message_id()))).approved
    assert [p.amount for p in await ledger.postings()] == [bank_rub(40_00), bank_rub(60_00)]
    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB - 40_00)
    assert await ledger.balance(MASTERCARD, RUB) == bank_rub(MILLION_RUB - 60_00)


async def test_repeated_advices_and_closes_post_once(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    ledger = simulator.ledger
    payment = await authorized(client, VISA, rub(100_00))
    advice = debit(payment, rub(100_00))

    await advise_all(client, advice, replace(advice, repeat=True), advice)
    assert simulator.received["0221"] == 1
    assert len(await ledger.staged()) == 1

    close = totals(1, debits=(100_00,))
    assert (await client.close_batch(close)).approved
    assert (await client.close_batch(replace(close, id=message_id()))).approved
    await advise_all(client, replace(advice, repeat=True))
    assert (await client.close_batch(replace(close, id=message_id()))).approved

    assert len(await ledger.postings()) == 1
    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB - 100_00)
    hold = await ledger.hold(TERMINAL, payment.id.rrn)
    assert hold is not None
    assert hold.captured == bank_rub(100_00)

    a_different_figure = await client.close_batch(totals(1, debits=(99_00,)))
    assert a_different_figure.raw_code == "95"
    assert len(await ledger.postings()) == 1


async def test_an_accepted_batch_takes_no_new_advice(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    payment = await authorized(client, VISA, rub(100_00))
    await advise_all(client, debit(payment, rub(10_00)))
    assert (await client.close_batch(totals(1, debits=(10_00,)))).approved

    late = await client.advise(debit(payment, rub(5_00)))

    assert (late.code, late.raw_code) == (ResponseCode.DECLINED, "12")
    assert await simulator.ledger.staged() == []
    await advise_all(client, debit(payment, rub(5_00), batch=2))


async def test_a_debit_above_the_hold_is_refused(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    payment = await authorized(client, VISA, rub(100_00))

    too_much = await client.advise(debit(payment, rub(100_01)))
    await advise_all(client, debit(payment, rub(60_00)))
    above_what_is_staged = await client.advise(debit(payment, rub(40_01)))
    in_another_batch = await client.advise(debit(payment, rub(40_01), batch=2))
    await advise_all(client, debit(payment, rub(40_00), batch=2))
    nothing_left = await client.advise(debit(payment, rub(1), batch=3))

    assert (too_much.code, too_much.raw_code) == (ResponseCode.DECLINED, "13")
    assert [above_what_is_staged.raw_code, in_another_batch.raw_code] == ["13", "13"]
    assert nothing_left.raw_code == "13"
    assert [p.amount for p in await simulator.ledger.staged()] == [bank_rub(60_00), bank_rub(40_00)]


async def test_a_credit_above_what_was_debited_is_refused(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    ledger = simulator.ledger
    payment = await authorized(client, VISA, rub(100_00))
    await advise_all(client, debit(payment, rub(60_00)))

    before_posting = await client.advise(credit(payment, rub(1), batch=2))
    assert (before_posting.code, before_posting.raw_code) == (ResponseCode.DECLINED, "13")
    assert (await client.close_batch(totals(1, debits=(60_00,)))).approved

    too_much = await client.advise(credit(payment, rub(60_01), batch=2))
    await advise_all(client, credit(payment, rub(50_00), batch=2))
    above_staged = await client.advise(credit(payment, rub(10_01), batch=3))
    await advise_all(client, credit(payment, rub(10_00), batch=3))
    all_refunded = await client.advise(credit(payment, rub(1), batch=3))

    assert [too_much.raw_code, above_staged.raw_code, all_refunded.raw_code] == ["13"] * 3
    assert (await client.close_batch(totals(2, credits=(50_00,)))).approved
    assert (await client.close_batch(totals(3, credits=(10_00,)))).approved
    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB)
    assert await ledger.available(VISA, RUB) == bank_rub(MILLION_RUB - 40_00)


async def test_an_advice_needs_its_authorization(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    payment = await authorized(client, VISA, rub(100_00))
    never_authorized = replace(debit(payment, rub(1)), original=message_id())
    other_card = replace(debit(payment, rub(1)), pan=Pan.parse(MASTERCARD))
    other_currency = debit(payment, Money(1, USD))
    other_merchant = replace(debit(payment, rub(1)), merchant_id="999")

    answers = [
        await client.advise(advice)
        for advice in (never_authorized, other_card, other_currency, other_merchant)
    ]

    assert [(a.code, a.raw_code) for a in answers] == [(ResponseCode.NO_SUCH_PAYMENT, "25")] * 4
    assert await simulator.ledger.staged() == []
    assert await simulator.ledger.batches() == []


async def test_a_batch_has_one_currency(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    roubles = await authorized(client, VISA, rub(100_00))
    dollars = await authorized(client, VISA, Money(100_00, USD))
    await advise_all(client, debit(roubles, rub(1_00)))

    mixed = await client.advise(debit(dollars, Money(1_00, USD)))

    assert mixed.raw_code == "12"
    await advise_all(client, debit(dollars, Money(1_00, USD), batch=2))
    assert (await client.close_batch(totals(2, debits=(1_00,), cur=USD))).approved
    assert await simulator.ledger.balance(VISA, USD) == BankMoney(MILLION_RUB - 1_00, USD)
    assert await simulator.ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB)


async def test_a_stan_of_another_advice_in_the_batch_is_refused(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    payment = await authorized(client, VISA, rub(100_00))
    first = debit(payment, rub(10_00))
    await advise_all(client, first)

    other_amount = await client.advise(replace(first, amount=rub(20_00), repeat=True))
    other_kind = await client.advise(replace(first, credit=True))

    assert (other_amount.code, other_amount.raw_code) == (ResponseCode.REPEAT_AUTHORIZATION, "94")
    assert other_kind.raw_code == "94"
    assert [p.amount for p in await simulator.ledger.staged()] == [bank_rub(10_00)]
    await advise_all(client, replace(first, batch=2))


async def test_an_empty_batch_closes_with_zero_figures(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    claims_one = await client.close_batch(totals(7, debits=(1_00,)))
    empty = await client.close_batch(totals(7))

    assert claims_one.raw_code == "95"
    assert empty.approved
    [batch] = await simulator.ledger.batches()
    assert (batch.number, batch.status, batch.debits, batch.credits) == (
        7,
        BatchStatus.ACCEPTED,
        0,
        0,
    )


async def test_a_reversal_after_a_capture_releases_only_what_remains(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    ledger = simulator.ledger
    payment = await authorized(client, VISA, rub(100_00))
    await advise_all(client, debit(payment, rub(70_00)))
    assert (await client.close_batch(totals(1, debits=(70_00,)))).approved

    cancel = ReversalRequest(message_id(), payment.id, payment.card.pan, rub(100_00), MERCHANT)
    assert (await client.reverse(cancel)).approved

    hold = await ledger.hold(TERMINAL, payment.id.rrn)
    assert hold is not None
    assert (hold.released, hold.captured, hold.outstanding, hold.status) == (
        bank_rub(30_00),
        bank_rub(70_00),
        bank_rub(0),
        HoldStatus.CAPTURED,
    )
    assert [(r.requested, r.released) for r in await ledger.reversals()] == [
        (bank_rub(100_00), bank_rub(30_00))
    ]
    assert await ledger.active_holds() == []
    assert await ledger.balance(VISA, RUB) == bank_rub(MILLION_RUB - 70_00)
    assert await ledger.available(VISA, RUB) == bank_rub(MILLION_RUB - 70_00)
    assert (await client.advise(debit(payment, rub(1), batch=2))).raw_code == "13"


async def test_a_reversal_does_not_release_what_a_staged_debit_takes(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    ledger = simulator.ledger
    payment = await authorized(client, VISA, rub(100_00))
    await advise_all(client, debit(payment, rub(60_00)))

    cancel = ReversalRequest(message_id(), payment.id, payment.card.pan, rub(100_00), MERCHANT)
    assert (await client.reverse(cancel)).approved
    hold = await ledger.hold(TERMINAL, payment.id.rrn)
    assert hold is not None
    assert (hold.released, hold.outstanding, hold.status) == (
        bank_rub(40_00),
        bank_rub(60_00),
        HoldStatus.ACTIVE,
    )

    assert (await client.close_batch(totals(1, debits=(60_00,)))).approved
    hold = await ledger.hold(TERMINAL, payment.id.rrn)
    assert hold is not None
    assert (hold.released, hold.captured, hold.status) == (
        bank_rub(40_00),
        bank_rub(60_00),
        HoldStatus.CAPTURED,
    )
    assert await ledger.available(VISA, RUB) == bank_rub(MILLION_RUB - 60_00)


async def test_concurrent_debits_never_take_more_than_the_hold(
    client: Iso8583ProcessingCenter, simulator: Simulator
) -> None:
    payment = await authorized(client, VISA, rub(100_00))

    answers = await asyncio.gather(
        *(client.advise(debit(payment, rub(10_00), batch=1 + n % 3)) for n in range(25))
    )

    assert sorted(answer.raw_code for answer in answers) == ["00"] * 10 + ["13"] * 15
    staged = await simulator.ledger.staged()
    assert sum(p.amount.minor for p in staged) == 100_00
    for number in (1, 2, 3):
        amounts = tuple(p.amount.minor for p in staged if p.batch == number)
        assert (await client.close_batch(totals(number, debits=amounts))).approved
    hold = await simulator.ledger.hold(TERMINAL, payment.id.rrn)
    assert hold is not None
    assert (hold.captured, hold.status) == (bank_rub(100_00), HoldStatus.CAPTURED)


async def test_the_books_are_right_to_the_cent_after_a_day_of_business(
    client: Iso8583ProcessingCenter, simulator: Simulator, tmp_path: Path
) -> None:
    """Double-stage 100.00 confirmed 40.00 + 30.00 with 30.00 reversed; a single-stage 250.75
    refunded 25.50; a card with 10.00 paying all of it and getting it back; dollars in a batch
    of their own."""
    double = await authorized(client, VISA, rub(100_00))
    single = await authorized(client, MASTERCARD, rub(250_75))
    small = await authorized(client, TEN_ROUBLES, rub(10_00))
    dollars = await authorized(client, MASTERCARD, Money(99_99, USD))
    reverse_rest = ReversalRequest(message_id(), double.id, double.card.pan, rub(30_00), MERCHANT)
    assert (await client.reverse(reverse_rest)).approved

    await advise_all(
        client,
        debit(double, rub(40_00)),
        debit(double, rub(30_00)),
        debit(single, rub(250_75)),
        debit(small, rub(10_00)),
        debit(dollars, Money(99_99, USD), batch=2),
    )
    assert (await client.close_batch(totals(1, debits=(40_00, 30_00, 250_75, 10_00)))).approved
    assert (await client.close_batch(totals(2, debits=(99_99,), cur=USD))).approved
    await advise_all(
        client,
        credit(single, rub(25_50), batch=3),
        credit(small, rub(10_00), batch=3),
        credit(double, rub(70_00), batch=3),
    )
    assert (await client.close_batch(totals(3, credits=(25_50, 10_00, 70_00)))).approved

    async with await Ledger.open(tmp_path / "bank.sqlite3") as books:
        assert await books.balance(VISA, RUB) == bank_rub(MILLION_RUB)
        assert await books.balance(MASTERCARD, RUB) == bank_rub(MILLION_RUB - 250_75 + 25_50)
        assert await books.balance(TEN_ROUBLES, RUB) == bank_rub(10_00)
        assert await books.balance(MASTERCARD, USD) == BankMoney(MILLION_RUB - 99_99, USD)
        for pan in (VISA, MASTERCARD, TEN_ROUBLES):
            assert await books.available(pan, RUB) == await books.balance(pan, RUB)
        assert await books.active_holds() == []
        holds = {hold.rrn: hold for hold in await books.holds()}
        assert [
            (holds[r.id.rrn].released, holds[r.id.rrn].captured, holds[r.id.rrn].status)
            for r in (double, single, small)
        ] == [
            (bank_rub(30_00), bank_rub(70_00), HoldStatus.CAPTURED),
            (bank_rub(0), bank_rub(250_75), HoldStatus.CAPTURED),
            (bank_rub(0), bank_rub(10_00), HoldStatus.CAPTURED),
        ]
        summary = [
            (b.number, b.currency.code, b.status, b.debits, b.debit_total.minor, b.credits,
             b.credit_total.minor)
            for b in await books.batches()
        ]  # fmt: skip
        assert summary == [
            (1, "RUB", BatchStatus.ACCEPTED, 4, 330_75, 0, 0),
            (2, "USD", BatchStatus.ACCEPTED, 1, 99_99, 0, 0),
            (3, "RUB", BatchStatus.ACCEPTED, 0, 0, 3, 105_50),
        ]
        postings = await books.postings()
        assert len(postings) == 8
        assert {p.masked_pan for p in postings} == {
            "411111****1111",
            "555555****4444",
            "400000****9995",
        }


async def test_advices_and_closes_that_get_no_answer_raise_no_answer() -> None:
    async def silent(request: Fields) -> list[bytes]:
        return []

    host = FakeHost(silent)
    await host.start()
    client = Iso8583ProcessingCenter(
        "127.0.0.1", host.port, terminal_id=TERMINAL, acquirer_id="1", timeout=0.2
    )
    original = message_id()
    advice = FinancialAdvice(message_id(), original, 1, Pan.parse(VISA), rub(1), False, MERCHANT)
    try:
        with pytest.raises(NoAnswer):
            await client.advise(advice)
        with pytest.raises(NoAnswer):
            await client.close_batch(totals(1, debits=(1,)))
    finally:
        await client.close()
        await host.stop()
    assert [request["t"] for request in host.received] == ["0800", "0220", "0500"]


async def test_an_answer_for_another_batch_is_ignored() -> None:
    async def wrong_batch(request: Fields) -> list[bytes]:
        echo = protocol.RECONCILIATION_ECHO
        return [message(protocol.reply(request, "00", echo) | {wire.BATCH: "000002"})]

    host = FakeHost(wrong_batch)
    await host.start()
    client = Iso8583ProcessingCenter(
        "127.0.0.1", host.port, terminal_id=TERMINAL, acquirer_id="1", timeout=0.2
    )
    try:
        with pytest.raises(NoAnswer):
            await client.close_batch(totals(1))
    finally:
        await client.close()
        await host.stop()
