"""The payment service on real storage (SQLite and PostgreSQL) with the fake processing center."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from ips.domain.cards import Card
from ips.domain.errors import AlreadyPaid, NotFound
from ips.domain.merchants import Merchant
from ips.domain.orders import Order
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, OrderState
from ips.services import janitor
from ips.services.gateway import Gateway
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.storage.unit_of_work import Database
from tests.fakes import SILENT, FakeProcessingCenter, ManualClock
from tests.racing import ONE_AND_TWO_NODES, nodes


def card(number: str = "4111111111111111") -> Card:
    return Card.parse(
        number=number, month="12", year="2099", cvc="123", holder="Ivan Petrov", today=date.today()
    )


async def new_order(gateway: Gateway, ordernumber: str = "A-1", amount: str = "100.00") -> Order:
    return await create_order(
        CreateOrder(merchant_id="111111", ordernumber=ordernumber, amount=amount, currency="RUB"),
        gateway,
    )


async def reload(database: Database, order: Order) -> tuple[Order, list]:  # type: ignore[type-arg]
    async with database(readonly=True) as uow:
        fresh = await uow.orders.get(order.billnumber)
        assert fresh is not None and fresh.id is not None
        return fresh, await uow.operations.of_order(fresh.id)


async def transactions_of(database: Database, order: Order) -> list:  # type: ignore[type-arg]
    from sqlalchemy import select

    from ips.storage.tables import transactions

    async with database.engine.connect() as conn:
        rows = await conn.execute(
            select(transactions.c.kind, transactions.c.status, transactions.c.attempts)
            .where(transactions.c.order_id == order.id)
            .order_by(transactions.c.id)
        )
        return [tuple(row) for row in rows]


pytestmark = pytest.mark.usefixtures("merchant")


async def test_approved_payment_moves_order_operation_and_transaction(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    order = await new_order(gateway)
    paid = (await pay_by_card(PayByCard(order.billnumber, card(), "198.51.100.1"), gateway)).order

    assert paid.state is OrderState.APPROVED
    fresh, operations = await reload(database, order)
    assert fresh.state is OrderState.APPROVED and fresh.holds_ordernumber
    [payment] = operations
    assert payment.status is OperationStatus.SUCCESS
    assert payment.response_code is ResponseCode.SUCCESS
    assert payment.approval_code == "A1B2C3"
    assert payment.card is not None and payment.card.masked_pan == "411111****1111"
    assert payment.sealed_pan and "4111111111111111" not in payment.sealed_pan
    assert payment.client_ip == "198.51.100.1"
    assert await transactions_of(database, order) == [
        ("authorization", "approved", 1),
        ("financial", "created", 0),  # the debit the next settlement batch sends
    ]
    [request] = fake_processing.authorizations
    assert request.amount.minor == 10000 and request.merchant_id == "111111"


@pytest.mark.parametrize(
    "code", [ResponseCode.DECLINED, ResponseCode.INSUFFICIENT_FUNDS, ResponseCode.SUSPECTED_FRAUD]
)
async def test_declined_payment_declines_the_order_and_frees_its_number(
    gateway: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    code: ResponseCode,
) -> None:
    fake_processing.outcomes["4000000000000002"] = code
    order = await new_order(gateway)
    result = (
        await pay_by_card(PayByCard(order.billnumber, card("4000000000000002")), gateway)
    ).order

    assert result.state is OrderState.DECLINED
    fresh, [payment] = await reload(database, order)
    assert not fresh.holds_ordernumber
    assert payment.status is OperationStatus.DECLINED and payment.response_code is code
    # the shop may try the same ordernumber again: a new order
    again = await new_order(gateway)
    assert again.billnumber != order.billnumber


async def test_unanswered_authorization_is_declined_and_reversed(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    fake_processing.outcomes["4000000000000119"] = SILENT
    order = await new_order(gateway)
    result = (
        await pay_by_card(PayByCard(order.billnumber, card("4000000000000119")), gateway)
    ).order

    assert result.state is OrderState.DECLINED
    _, [payment] = await reload(database, order)
    assert payment.status is OperationStatus.TIMEOUT
    assert payment.response_code is ResponseCode.SYSTEM_ERROR
    assert fake_processing.holds == {}
    [reversal] = fake_processing.reversals
    assert reversal.original == fake_processing.authorizations[0].id
    assert reversal.pan.reveal() == "4000000000000119" and not reversal.repeat
    assert await transactions_of(database, order) == [
        ("authorization", "reversed", 1),
        ("reversal", "approved", 1),
    ]


async def test_unanswered_reversal_is_repeated_by_the_janitor_until_answered(
    gateway: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    clock: ManualClock,
) -> None:
    fake_processing.outcomes["4000000000000119"] = SILENT
    fake_processing.reversal_outcomes = [SILENT] * 3  # once while the buyer waits, twice later
    order = await new_order(gateway)
    await pay_by_card(PayByCard(order.billnumber, card("4000000000000119")), gateway)
    assert [r.repeat for r in fake_processing.reversals] == [False]
    assert await transactions_of(database, order) == [
        ("authorization", "unknown", 1),
        ("reversal", "unknown", 1),
    ]

    stale = timedelta(minutes=1)
    assert await janitor.sweep(gateway, stale_after=stale) == 0  # its sender might still wait
    clock.advance(seconds=59)
    assert await janitor.sweep(gateway, stale_after=stale) == 0
    for _ in range(3):
        clock.advance(minutes=10)
        assert await janitor.sweep(gateway, stale_after=stale) == 1

    assert [r.repeat for r in fake_processing.reversals] == [False, True, True, True]
    assert len({r.id.stan for r in fake_processing.reversals}) == 1
    assert fake_processing.holds == {}
    assert await transactions_of(database, order) == [
        ("authorization", "reversed", 1),
        ("reversal", "approved", 4),
    ]
    clock.advance(minutes=10)
    assert await janitor.sweep(gateway, stale_after=stale) == 0


async def test_janitor_reverses_an_authorization_left_sent_by_a_crash(
    gateway: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    clock: ManualClock,
) -> None:
    order = await new_order(gateway)
    fake_processing.gate = asyncio.Event()
    crashed = asyncio.create_task(pay_by_card(PayByCard(order.billnumber, card()), gateway))
    await fake_processing.arrived.wait()
    crashed.cancel()  # the process died while waiting for the answer
    with pytest.raises(asyncio.CancelledError):
        await crashed
    fake_processing.holds[fake_processing.authorizations[0].id.rrn] = 10000  # placed, unanswered

    stale = timedelta(minutes=1)
    assert await janitor.sweep(gateway, stale_after=stale) == 0
    clock.advance(minutes=2)
    assert await janitor.sweep(gateway, stale_after=stale) == 1

    fresh, [payment] = await reload(database, order)
    assert fresh.state is OrderState.DECLINED
    assert payment.status is OperationStatus.TIMEOUT
    assert fake_processing.holds == {}


async def test_repeated_submission_makes_no_second_payment(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    order = await new_order(gateway)
    first = (await pay_by_card(PayByCard(order.billnumber, card()), gateway)).order
    second = (
        await pay_by_card(PayByCard(order.billnumber, card("5555555555554444")), gateway)
    ).order

    assert first.state is second.state is OrderState.APPROVED
    assert len(fake_processing.authorizations) == 1
    _, operations = await reload(database, order)
    assert len(operations) == 1


async def pay_at_once(
    order: Order,
    gateway: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    database_url: str,
    node_count: int,
) -> set[OrderState]:
    """Six card payments of ``order`` at once, over ``node_count`` nodes, all of them under way
    before the processing center answers any; the states the payers were shown."""
    fake_processing.gate = asyncio.Event()
    async with nodes(
        database_url, database.keyring, node_count - 1, fake_processing, clock=gateway.clock
    ) as others:
        each = [gateway, *others]
        attempts = [
            asyncio.create_task(
                pay_by_card(PayByCard(order.billnumber, card()), each[n % len(each)])
            )
            for n in range(6)
        ]
        await fake_processing.arrived.wait()
        await asyncio.sleep(0.05)
        fake_processing.gate.set()
        return {step.order.state for step in await asyncio.gather(*attempts)}


@ONE_AND_TWO_NODES
async def test_concurrent_submissions_make_one_payment(
    gateway: Gateway,
    database: Database,
    fake_processing: FakeProcessingCenter,
    database_url: str,
    node_count: int,
) -> None:
    order = await new_order(gateway)
    states = await pay_at_once(order, gateway, database, fake_processing, database_url, node_count)

    assert states <= {OrderState.IN_PROCESS, OrderState.APPROVED}
    assert len(fake_processing.authorizations) == 1
    fresh, operations = await reload(database, order)
    assert fresh.state is OrderState.APPROVED and len(operations) == 1


async def test_a_paid_ordernumber_cannot_be_ordered_again(gateway: Gateway) -> None:
    order = await new_order(gateway)
    await pay_by_card(PayByCard(order.billnumber, card()), gateway)
    with pytest.raises(AlreadyPaid):
        await new_order(gateway)


async def test_two_orders_of_one_ordernumber_are_never_both_paid(
    gateway: Gateway, database: Database, fake_processing: FakeProcessingCenter
) -> None:
    first = await new_order(gateway)
    second = await new_order(gateway)  # created before either was paid
    assert (await pay_by_card(PayByCard(first.billnumber, card()), gateway)).order.state.is_paid

    with pytest.raises(AlreadyPaid):
        await pay_by_card(PayByCard(second.billnumber, card()), gateway)
    assert len(fake_processing.authorizations) == 1
    fresh, operations = await reload(database, second)
    assert fresh.state is OrderState.IN_PROCESS and operations == []


async def test_paying_an_unknown_order_is_not_found(gateway: Gateway) -> None:
    with pytest.raises(NotFound):
        await pay_by_card(PayByCard("1234567890123456", card()), gateway)


async def test_merchant_fixture_is_stored(database: Database, merchant: Merchant) -> None:
    async with database(readonly=True) as uow:
        stored = await uow.merchants.get("111111")
    assert stored is not None and stored.secret_word.reveal() == "secret"


async def test_a_billnumber_drawn_twice_is_drawn_again(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await new_order(gateway, "B-1")
    draws = iter([first.billnumber, first.billnumber, "5000000000000005"])
    monkeypatch.setattr("ips.services.orders.new_billnumber", lambda: next(draws))
    second = await new_order(gateway, "B-2")
    assert second.billnumber == "5000000000000005"


async def test_no_clear_card_number_or_cvc_is_stored(gateway: Gateway, database: Database) -> None:
    order = await new_order(gateway)
    number, cvc = "5555555555554444", "987"
    paid = Card.parse(
        number=number, month="12", year="2099", cvc=cvc, holder="IVAN PETROV", today=date.today()
    )
    await pay_by_card(PayByCard(order.billnumber, paid), gateway)
    from sqlalchemy import select

    from ips.storage.tables import metadata

    dump = []
    async with database.engine.connect() as conn:
        for table in metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in await conn.execute(select(table))]
    text = "\n".join(dump)
    assert "555555****4444" in text
    assert number not in text and "5555 5555" not in text
    assert f"'{cvc}'" not in text
