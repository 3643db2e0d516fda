"""The Order Monitor's reads on a real database: filters, keyset pages, totals, turnover and
export, each scoped to one merchant; and migration 0008, which fills the columns they use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text

from ips.domain.acquirers import Rules
from ips.domain.books import Books
from ips.domain.cards import Brand
from ips.domain.errors import InvalidInput
from ips.domain.money import Currency, Money, currency
from ips.domain.orders import CardSummary, Operation, OperationKind, Order, PaymentMeans
from ips.domain.responses import ResponseCode
from ips.domain.states import OperationStatus, OrderState
from ips.services import monitor
from ips.services.cancellations import Cancel, cancel
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, SignedIn, add_merchant
from ips.services.monitor import OrderFilter, OrderRow, Total, TurnoverDay
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.services.rates import SetRate, set_rate
from ips.services.settlement import settle
from ips.services.unit_of_work import UnitOfWork
from ips.storage.database import create_engine
from ips.storage.migrate import migrate
from ips.storage.monitor import MonitorQueries
from ips.storage.tables import orders
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_payment_service import card

RUB, USD, JPY = currency("RUB"), currency("USD"), currency("JPY")
SHOP, OTHER = "111111", "222222"
S = OrderState


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, micro, tzinfo=UTC)


@dataclass(frozen=True)
class Spec:
    """One order of the data set, as the test expects the monitor to see it."""

    created_at: datetime
    ordernumber: str
    amount: Money
    state: OrderState
    books: Books | None = None
    means: PaymentMeans | None = None
    masked_pan: str = ""


def paid(amount: Money, **books: int) -> Books:
    return Books(amount.currency, held=amount.minor, confirmed=amount.minor, **books)


def rub(minor: int) -> Money:
    return Money(minor, RUB)


SPECS = [
    Spec(at(1, 10), "A-1", rub(10000), S.APPROVED, paid(rub(10000)), PaymentMeans.CARD,
         "411111****1111"),
    Spec(at(1, 10), "A-2", rub(25000), S.DECLINED, None, PaymentMeans.CARD, "400000****0002"),
    Spec(at(1, 12), "A-3", rub(5000), S.DELAYED, Books(RUB, held=5000), PaymentMeans.CARD,
         "555555****4444"),
    Spec(at(2, 9), "A-4", Money(7550, USD), S.APPROVED, paid(Money(7550, USD), presented=7550),
         PaymentMeans.WALLET),
    Spec(at(2, 9), "A-5", Money(10000, USD), S.CANCELED, paid(Money(10000, USD), reversed=10000),
         PaymentMeans.CARD, "220000****0004"),
    Spec(at(3), "A-6", rub(10000), S.IN_PROCESS),
    Spec(at(3, 23, 59, 59, 999999), "A-7", Money(1000, JPY), S.PARTIAL_CANCELED,
         paid(Money(1000, JPY), presented=1000, refunded=300), PaymentMeans.CARD,
         "411111****1111"),
    Spec(at(4, 8), "A-dup", rub(1000), S.DECLINED, None, PaymentMeans.WALLET),
    Spec(at(4, 9), "A-dup", rub(2000), S.APPROVED, paid(rub(2000)), PaymentMeans.CARD,
         "555555****1111"),
    Spec(at(5, 15), "A-10", rub(9999), S.TIMEOUT),
    Spec(at(5, 15), "A-11", rub(10001), S.PARTIAL_DELAYED, Books(RUB, held=10001, confirmed=4000),
         PaymentMeans.CARD, "411111****1111"),
]  # fmt: skip


def billnumber(merchant_id: str, index: int) -> str:
    return f"{merchant_id}{index:010d}"


async def store(database: Database, merchant_id: str, specs: list[Spec], first: int = 0) -> None:
    """Writes the orders through the repositories, each paid one saved with its payment
    operation (which is what puts its way of payment and card on the order's row)."""
    async with database() as uow:
        for index, spec in enumerate(specs, first):
            order = Order(
                billnumber(merchant_id, index),
                merchant_id,
                spec.ordernumber,
                spec.amount,
                spec.created_at,
                delay=spec.books is not None and spec.books.confirmed < spec.books.held,
                comment=f"comment {index}",
                state=spec.state,
                books=spec.books,
                holds_ordernumber=spec.books is not None,
            )
            assert await uow.orders.add(order)
            if spec.means is not None:
                assert order.id is not None
                paid_by = payment(order, spec)
                await uow.operations.add(paid_by)
                await uow.orders.save(order, paid_by)
        await uow.commit()


def payment(order: Order, spec: Spec) -> Operation:
    assert order.id is not None and spec.means is not None
    summary = None
    if spec.masked_pan:
        summary = CardSummary(spec.masked_pan, Brand.VISA, "12/99", "IVAN PETROV")
    return Operation(
        order.id,
        1,
        OperationKind.PAYMENT,
        order.amount,
        order.created_at,
        means=spec.means,
        card=summary,
        status=OperationStatus.SUCCESS if spec.books else OperationStatus.DECLINED,
    )


@pytest.fixture
async def dataset(database: Database, merchant: Any, clock: ManualClock) -> list[Spec]:
    """The specs for the shop, and the very same orders (numbers, amounts, moments, cards)
    for another shop: any query that forgot the merchant would show them."""
    await add_merchant(
        AddMerchant(OTHER, "Other", "other", "other-password", "s"), database, actor=SETUP
    )
    await store(database, SHOP, SPECS)
    await store(database, OTHER, SPECS, first=len(SPECS))
    return SPECS


def matches(spec: Spec, f: OrderFilter) -> bool:
    """The filter's meaning, written out plainly."""
    index = SPECS.index(spec)
    return all(
        (
            f.since is None or spec.created_at >= f.since,
            f.until is None or spec.created_at < f.until,
            not f.states or spec.state in f.states,
            not f.ordernumber or spec.ordernumber == f.ordernumber,
            not f.billnumber or billnumber(SHOP, index) == f.billnumber,
            f.amount_min is None
            or (spec.amount.currency == f.amount_min.currency
                and spec.amount.minor >= f.amount_min.minor),
            f.amount_max is None
            or (spec.amount.currency == f.amount_max.currency
                and spec.amount.minor <= f.amount_max.minor),
            f.means is None or spec.means is f.means,
            not f.card_last4 or spec.masked_pan[-4:] == f.card_last4,
        )
    )  # fmt: skip


def expected(f: OrderFilter) -> list[str]:
    """The shop's billnumbers the filter selects, newest first (the later one first among
    orders created at the same moment)."""
    chosen = [(s.created_at, i) for i, s in enumerate(SPECS) if matches(s, f)]
    return [billnumber(SHOP, i) for _, i in sorted(chosen, reverse=True)]


async def all_pages(f: OrderFilter, database: Database, limit: int) -> list[OrderRow]:
    rows: list[OrderRow] = []
    cursor: str | None = None
    while True:
        page = await monitor.list_orders(f, cursor, limit, database)
        assert len(page.rows) <= limit
        rows += page.rows
        assert len(rows) <= len(SPECS) * 4, "the pages do not end"
        if page.next_cursor is None:
            return rows
        assert len(page.rows) == limit
        cursor = page.next_cursor


def shop(**criteria: Any) -> OrderFilter:
    return OrderFilter(SHOP, **criteria)


FILTERS = {
    "none": shop(),
    "since (inclusive)": shop(since=at(3)),
    "until (exclusive)": shop(until=at(3)),
    "period": shop(since=at(3), until=at(4)),
    "since in another time zone": shop(since=at(3).astimezone(timezone(timedelta(hours=3)))),
    "one state": shop(states=frozenset({S.APPROVED})),
    "states": shop(states=frozenset({S.DECLINED, S.TIMEOUT})),
    "ordernumber": shop(ordernumber="A-dup"),
    "ordernumber is exact": shop(ordernumber="A-"),
    "billnumber": shop(billnumber=billnumber(SHOP, 4)),
    "another shop's billnumber": shop(billnumber=billnumber(OTHER, len(SPECS) + 4)),
    "amount from": shop(amount_min=rub(10000)),
    "amount to": shop(amount_max=rub(10000)),
    "amount exactly": shop(amount_min=rub(10000), amount_max=rub(10000)),
    "amount in USD": shop(amount_min=Money(10000, USD)),
    "card": shop(means=PaymentMeans.CARD),
    "wallet": shop(means=PaymentMeans.WALLET),
    "last four": shop(card_last4="1111"),
    "last four, once": shop(card_last4="0004"),
    "last four, none": shop(card_last4="9999"),
    "state, card, last four": shop(
        states=frozenset({S.APPROVED}), means=PaymentMeans.CARD, card_last4="1111"
    ),
    "period, amount, card": shop(
        since=at(1), until=at(4), amount_min=rub(5000), means=PaymentMeans.CARD
    ),
    "all of them": shop(
        since=at(1), until=at(6), states=frozenset({S.APPROVED, S.PARTIAL_DELAYED}),
        ordernumber="A-11", billnumber=billnumber(SHOP, 10), amount_min=rub(10000),
        amount_max=rub(10001), means=PaymentMeans.CARD, card_last4="1111",
    ),
}  # fmt: skip


def test_the_filters_select_something_and_not_everything() -> None:
    """The data set is one where each filter matters."""
    for name, f in FILTERS.items():
        chosen = expected(f)
        if name in ("ordernumber is exact", "last four, none", "another shop's billnumber"):
            assert chosen == [], name
        elif name != "none":
            assert 0 < len(chosen) < len(SPECS), name


@pytest.mark.parametrize("name", FILTERS)
async def test_each_filter_alone_and_combined(
    dataset: list[Spec], database: Database, name: str
) -> None:
    f = FILTERS[name]
    first = await monitor.list_orders(f, None, 100, database)
    assert [row.billnumber for row in first.rows] == expected(f)
    assert first.next_cursor is None
    paged = await all_pages(f, database, limit=2)
    assert [row.billnumber for row in paged] == expected(f)


async def test_a_row_carries_the_order_its_payment_and_its_money(
    dataset: list[Spec], database: Database
) -> None:
    rows = {
        row.ordernumber: row for row in (await monitor.list_orders(shop(), None, 50, database)).rows
    }
    partly = rows["A-7"]
    assert (partly.state, partly.amount, partly.means, partly.masked_pan) == (
        S.PARTIAL_CANCELED, Money(1000, JPY), PaymentMeans.CARD, "411111****1111",
    )  # fmt: skip
    assert (partly.paid, partly.confirmed, partly.cancelled) == (
        Money(1000, JPY),
        Money(700, JPY),
        Money(300, JPY),
    )
    assert partly.created_at == at(3, 23, 59, 59, 999999)
    assert partly.comment == "comment 6"
    assert not partly.double_stage
    held = rows["A-11"]
    assert held.double_stage
    assert (held.paid, held.confirmed, held.cancelled) == (rub(10001), rub(4000), rub(0))
    wallet = rows["A-4"]
    assert (wallet.means, wallet.masked_pan) == (PaymentMeans.WALLET, "")
    unpaid = rows["A-6"]
    assert (unpaid.means, unpaid.masked_pan, unpaid.paid, unpaid.cancelled) == (
        None, "", rub(0), rub(0)
    )  # fmt: skip


async def test_pages_cover_every_row_once_when_many_share_a_moment(
    database: Database, merchant: Any
) -> None:
    moment = at(10, 12)
    specs = [
        Spec(moment + timedelta(microseconds=(i % 3) - 1 if i % 4 == 0 else 0), f"S-{i}",
             rub(100 + i), S.IN_PROCESS)
        for i in range(37)
    ]  # fmt: skip
    await store(database, SHOP, specs)
    everything = (await monitor.list_orders(shop(), None, 1000, database)).rows
    assert len(everything) == 37
    keys = [(row.created_at, row.id) for row in everything]
    assert keys == sorted(keys, reverse=True)
    assert sum(row.created_at == moment for row in everything) > 20
    for limit in (1, 4, 5, 36, 37, 38):
        rows = await all_pages(shop(), database, limit)
        assert [row.id for row in rows] == [row.id for row in everything], limit


async def test_a_full_last_page_is_the_last(database: Database, merchant: Any) -> None:
    await store(database, SHOP, SPECS[:4])
    first = await monitor.list_orders(shop(), None, 2, database)
    assert first.next_cursor is not None
    second = await monitor.list_orders(shop(), first.next_cursor, 2, database)
    assert len(second.rows) == 2
    assert second.next_cursor is None


async def test_a_cursor_is_only_a_place_in_the_shops_own_list(
    dataset: list[Spec], database: Database
) -> None:
    """A cursor made from the other shop's newest order starts the shop's list there; it
    shows none of the other shop's orders."""
    theirs = (await monitor.list_orders(OrderFilter(OTHER), None, 1, database)).rows[0]
    cursor = monitor.encode_cursor(monitor.position(theirs))
    page = await monitor.list_orders(shop(), cursor, 100, database)
    assert page.rows
    assert all(row.billnumber.startswith(SHOP) for row in page.rows)
    assert all(row.created_at <= theirs.created_at for row in page.rows)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "é",
        "x" * 500,
        "MTIzNDU2Nzg5MC4xMg",  # a well-formed payload without its check
    ],
)
async def test_a_bad_cursor_is_invalid_input(
    dataset: list[Spec], database: Database, cursor: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        await monitor.list_orders(shop(), cursor, 10, database)
    assert error.value.field == "cursor"


async def test_a_tampered_cursor_is_refused(dataset: list[Spec], database: Database) -> None:
    cursor = (await monitor.list_orders(shop(), None, 2, database)).next_cursor
    assert cursor is not None
    for index in range(len(cursor)):
        flipped = "A" if cursor[index] != "A" else "B"
        tampered = cursor[:index] + flipped + cursor[index + 1 :]
        with pytest.raises(InvalidInput):
            monitor.decode_cursor(tampered)
    forged = monitor.encode_cursor(monitor.Position(at(1), 2**63))
    with pytest.raises(InvalidInput):
        await monitor.list_orders(shop(), forged, 10, database)
    far = monitor.encode_cursor(monitor.Position(datetime(9999, 12, 31, tzinfo=UTC), 1))
    assert monitor.decode_cursor(far).created_at.year == 9999


@pytest.mark.parametrize(
    ("f", "limit", "field"),
    [
        (shop(), 0, "limit"),
        (shop(), 1001, "limit"),
        (OrderFilter(""), 10, "merchant_id"),
        (shop(since=datetime(2026, 11, 1)), 10, "since"),
        (shop(amount_min=rub(1), amount_max=Money(5, USD)), 10, "amount_max"),
        (shop(card_last4="12a4"), 10, "card_last4"),
    ],
)
async def test_bad_requests_are_invalid_input(
    database: Database, f: OrderFilter, limit: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        await monitor.list_orders(f, None, limit, database)
    assert error.value.field == field
    if field != "limit":
        with pytest.raises(InvalidInput):
            await monitor.totals(f, database)
        with pytest.raises(InvalidInput):
            await monitor.daily_turnover(f, database)
        with pytest.raises(InvalidInput):
            monitor.export_rows(f, database)


def expected_totals(f: OrderFilter) -> list[Total]:
    groups: dict[tuple[Currency, OrderState], list[Spec]] = {}
    for spec in SPECS:
        if matches(spec, f):
            groups.setdefault((spec.amount.currency, spec.state), []).append(spec)
    states = list(OrderState)
    return [
        Total(cur, state, len(specs), Money(sum(s.amount.minor for s in specs), cur))
        for (cur, state), specs in sorted(
            groups.items(), key=lambda g: (g[0][0].code, states.index(g[0][1]))
        )
    ]


@pytest.mark.parametrize("name", ["none", "since (inclusive)", "card", "amount to", "wallet"])
async def test_totals_by_currency_and_state(
    dataset: list[Spec], database: Database, name: str
) -> None:
    f = FILTERS[name]
    assert await monitor.totals(f, database) == expected_totals(f)


async def test_totals_of_the_whole_list(dataset: list[Spec], database: Database) -> None:
    found = {
        (t.currency.code, t.state): (t.count, t.amount.minor)
        for t in await monitor.totals(shop(), database)
    }
    assert found == {
        ("JPY", S.PARTIAL_CANCELED): (1, 1000),
        ("RUB", S.IN_PROCESS): (1, 10000),
        ("RUB", S.DELAYED): (1, 5000),
        ("RUB", S.APPROVED): (2, 12000),
        ("RUB", S.PARTIAL_DELAYED): (1, 10001),
        ("RUB", S.DECLINED): (2, 26000),
        ("RUB", S.TIMEOUT): (1, 9999),
        ("USD", S.APPROVED): (1, 7550),
        ("USD", S.CANCELED): (1, 10000),
    }


async def test_turnover_sums_the_rows_of_each_day(dataset: list[Spec], database: Database) -> None:
    rows = (await monitor.list_orders(shop(), None, 100, database)).rows
    sums: dict[tuple[date, str], list[int]] = {}
    for row in rows:
        if row.paid.minor:
            day = sums.setdefault((row.created_at.date(), row.paid.currency.code), [0, 0, 0])
            for i, amount in enumerate((row.paid, row.confirmed, row.cancelled)):
                day[i] += amount.minor
    found = await monitor.daily_turnover(shop(), database)
    assert {
        (d.day, d.currency.code): [d.paid.minor, d.confirmed.minor, d.cancelled.minor]
        for d in found
    } == sums
    assert [(d.day, d.currency.code) for d in found] == sorted(sums)
    assert (date(2026, 11, 3), "JPY") in sums  # 23:59:59.999999 is still the 3rd
    in_period = await monitor.daily_turnover(shop(since=at(2), until=at(4)), database)
    assert [(d.day, d.currency.code) for d in in_period] == [
        (date(2026, 11, 2), "USD"), (date(2026, 11, 3), "JPY"),
    ]  # fmt: skip


async def test_another_merchants_orders_never_appear(
    dataset: list[Spec], database: Database
) -> None:
    for f in FILTERS.values():
        rows = await all_pages(f, database, limit=3)
        assert all(row.billnumber.startswith(SHOP) for row in rows)
        exported = [row async for row in monitor.export_rows(f, database, batch=2)]
        assert all(row.billnumber.startswith(SHOP) for row in exported)
    counted = sum(t.count for t in await monitor.totals(shop(), database))
    assert counted == len(SPECS)
    paid_rub = sum(d.paid.minor for d in await monitor.daily_turnover(shop(), database)
                   if d.currency == RUB)  # fmt: skip
    assert paid_rub == 10000 + 5000 + 2000 + 10001
    theirs = OrderFilter(OTHER, billnumber=billnumber(SHOP, 0))
    assert (await monitor.list_orders(theirs, None, 10, database)).rows == []
    assert await monitor.totals(theirs, database) == []
    assert await monitor.daily_turnover(theirs, database) == []


class CountingFactory:
    """The database's units of work, counted; ``open`` is how many are open now."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.made = 0
        self.open = 0

    def __call__(self, *, readonly: bool = False) -> Any:
        assert readonly, "the monitor only reads"
        self.made += 1
        return self._uow()

    @asynccontextmanager
    async def _uow(self) -> AsyncIterator[UnitOfWork]:
        self.open += 1
        try:
            async with self.database(readonly=True) as uow:
                yield uow
        finally:
            self.open -= 1


async def test_export_streams_the_lists_rows_a_batch_per_unit_of_work(
    dataset: list[Spec], database: Database
) -> None:
    for name in ("none", "card", "period"):
        f = FILTERS[name]
        listed = await all_pages(f, database, limit=3)
        factory = CountingFactory(database)
        exported = []
        async for row in monitor.export_rows(f, factory, batch=2):
            assert factory.open == 0, "a unit of work is open while a row is handed out"
            exported.append(row)
        assert exported == listed
        assert factory.made == len(listed) // 2 + 1


async def test_real_payments_confirmations_and_cancels_make_the_turnover(
    gateway: Gateway, database: Database, clock: ManualClock, merchant: Any,
    fake_processing: FakeProcessingCenter,
) -> None:  # fmt: skip
    """Single- and double-stage orders paid, confirmed and cancelled in part through the
    services, on two days, beside orders never paid."""
    signed = SignedIn(SHOP)
    await add_merchant(
        AddMerchant(OTHER, "Other", "other", "other-password", "s"), database, actor=SETUP
    )

    async def paid_order(number: str, amount: str, *, delay: bool, cur: str = "RUB",
                         merchant_id: str = SHOP) -> str:  # fmt: skip
        order = await create_order(
            CreateOrder(merchant_id, number, amount, cur, delay=delay), gateway
        )
        await pay_by_card(PayByCard(order.billnumber, card()), gateway)
        return order.billnumber

    clock.now = at(1, 10)
    single = await paid_order("S-1", "100.00", delay=False)
    await cancel(Cancel(single, "30.00", "RUB"), signed, gateway)  # a reversal of charged money
    double = await paid_order("D-1", "50.00", delay=True)
    await confirm(Confirm(double, "20.00", "RUB"), signed, gateway)
    await cancel(Cancel(double, "10.00", "RUB"), signed, gateway)  # from the hold; 20.00 held
    await paid_order("X-1", "500.00", delay=False, merchant_id=OTHER)

    clock.now = at(2, 23, 30)
    released = await paid_order("D-2", "80.00", delay=True)
    await confirm(Confirm(released, "30.00", "RUB", auto_deposit=True), signed, gateway)
    refunded = await paid_order("D-3", "40.00", delay=True)
    await confirm(Confirm(refunded, "40.00", "RUB"), signed, gateway)
    await settle(gateway)
    await cancel(Cancel(refunded, "15.00", "RUB"), signed, gateway)  # presented: a refund
    fake_processing.outcomes["4000000000000002"] = ResponseCode.DECLINED
    declined = await create_order(CreateOrder(SHOP, "N-1", "70.00", "RUB"), gateway)
    await pay_by_card(PayByCard(declined.billnumber, card("4000000000000002")), gateway)
    await create_order(CreateOrder(SHOP, "N-2", "60.00", "RUB"), gateway)

    clock.now = at(3, 0, 0)
    await paid_order("U-1", "10.00", delay=False, cur="USD")

    assert await monitor.daily_turnover(shop(), database) == [
        TurnoverDay(date(2026, 11, 1), RUB, rub(15000), rub(9000), rub(4000)),
        TurnoverDay(date(2026, 11, 2), RUB, rub(12000), rub(5500), rub(1500)),
        TurnoverDay(date(2026, 11, 3), USD, Money(1000, USD), Money(1000, USD), Money(0, USD)),
    ]
    rows = {r.ordernumber: r for r in (await monitor.list_orders(shop(), None, 20, database)).rows}
    assert (rows["S-1"].state, rows["S-1"].confirmed, rows["S-1"].cancelled) == (
        S.PARTIAL_CANCELED, rub(7000), rub(3000)
    )  # fmt: skip
    assert (rows["D-1"].state, rows["D-1"].confirmed, rows["D-1"].cancelled) == (
        S.PARTIAL_CANCELED, rub(2000), rub(1000)
    )  # fmt: skip
    assert (rows["D-2"].paid, rows["D-2"].confirmed, rows["D-2"].cancelled) == (
        rub(8000), rub(3000), rub(0)
    )  # fmt: skip
    assert (rows["S-1"].means, rows["S-1"].masked_pan) == (PaymentMeans.CARD, "411111****1111")
    assert (rows["N-1"].state, rows["N-1"].means, rows["N-1"].masked_pan) == (
        S.DECLINED, PaymentMeans.CARD, "400000****0002"
    )  # fmt: skip
    assert (rows["N-2"].means, rows["N-2"].paid) == (None, rub(0))
    by_card = await monitor.list_orders(shop(card_last4="0002"), None, 20, database)
    assert [r.ordernumber for r in by_card.rows] == ["N-1"]
    totals = {(t.currency.code, t.state): t.count for t in await monitor.totals(shop(), database)}
    assert totals == {
        ("RUB", S.PARTIAL_CANCELED): 3, ("RUB", S.APPROVED): 1, ("RUB", S.DECLINED): 1,
        ("RUB", S.IN_PROCESS): 1, ("USD", S.APPROVED): 1,
    }  # fmt: skip


async def test_a_converted_payment_shows_its_money_in_the_payments_currency(
    gateway: Gateway, database: Database, merchant: Any
) -> None:
    rub_only = replace(gateway, rules=Rules(currencies=(RUB,)))
    await set_rate(SetRate("USD", "RUB", "90"), gateway.uow_factory, gateway.clock)
    order = await create_order(CreateOrder(SHOP, "C-1", "10.00", "USD"), rub_only)
    await pay_by_card(PayByCard(order.billnumber, card()), rub_only)
    [row] = (await monitor.list_orders(shop(), None, 10, database)).rows
    assert (row.amount, row.paid, row.confirmed) == (Money(1000, USD), rub(90000), rub(90000))
    [day] = await monitor.daily_turnover(shop(), database)
    assert (day.currency, day.paid) == (RUB, rub(90000))
    [total] = await monitor.totals(shop(), database)
    assert (total.currency, total.amount) == (USD, Money(1000, USD))


async def test_the_list_query_uses_the_monitor_indexes_on_sqlite(tmp_path: Path) -> None:
    """Each page is one index range read in the list's order: no sort of the matches.
    (SQLite's plans; PostgreSQL's are in docs/benchmarks.md.)"""
    engine = create_engine(f"sqlite:///{tmp_path / 'plans.sqlite3'}")
    await migrate(engine)
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    plans = {}
    for name, f in {
        "none": shop(),
        "period": shop(since=at(1), until=at(9)),
        "card": shop(card_last4="1111"),
        "state": shop(states=frozenset({S.APPROVED})),
        "means": shop(means=PaymentMeans.WALLET),
    }.items():
        async with engine.connect() as conn:
            event.listen(conn.sync_connection, "before_cursor_execute", keep)
            await MonitorQueries(conn).page(f, monitor.Position(at(20), 10**9), 10)
            statement, parameters = sent[-1]
            plan = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans[name] = " | ".join(str(row[-1]) for row in plan)
    assert "ix_orders_merchant_created_id" in plans["none"]
    assert "ix_orders_merchant_created_id" in plans["period"]
    assert "ix_orders_merchant_card" in plans["card"]
    assert "ix_orders_merchant_state" in plans["state"]
    assert "ix_orders_merchant_means" in plans["means"]
    assert not any("TEMP B-TREE" in plan for plan in plans.values()), plans
    await engine.dispose()


async def test_migration_0008_fills_the_new_columns_of_existing_orders(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await migrate(engine, "head")
    await migrate(engine, "0007", down=True)
    now = datetime(2026, 11, 30, tzinfo=UTC).replace(tzinfo=None)
    async with engine.begin() as conn:

        async def insert(sql: str, **values: object) -> int:
            return int((await conn.execute(text(sql + " RETURNING id"), values)).scalar_one())

        await conn.execute(
            text(
                "INSERT INTO merchants (merchant_id, name, login, password_hash,"
                " sealed_secret_word, default_currency, double_stage, callback_url,"
                " require_checkvalue, created_at) VALUES ('1', 'Shop', 'l', 'h', 's', 'RUB',"
                " false, '', false, :now)"
            ),
            {"now": now},
        )

        async def order(number: str) -> int:
            return await insert(
                "INSERT INTO orders (billnumber, merchant_id, ordernumber, amount_minor,"
                " currency, state, delay, language, comment, buyer, url_return, url_return_ok,"
                " url_return_no, holds_ordernumber, created_at, updated_at) VALUES (:n, '1',"
                " :n, 500, 'RUB', 'In Process', false, 'RU', '', '{}', '', '', '', false, :now,"
                " :now)",
                n=number,
                now=now,
            )

        async def operation(
            order_id: int, number: int, kind: str, status: str, means: str, pan: str | None
        ) -> None:
            await insert(
                "INSERT INTO operations (order_id, number, kind, status, amount_minor,"
                " currency, means, masked_pan, client_ip, approval_code, created_at) VALUES"
                " (:order, :number, :kind, :status, 500, 'RUB', :means, :pan, '', '', :now)",
                order=order_id, number=number, kind=kind, status=status, means=means, pan=pan,
                now=now,
            )  # fmt: skip

        retried = await order("1")
        await operation(retried, 1, "100", "declined", "wallet", None)
        await operation(retried, 2, "100", "success", "card", "411111****1234")
        await operation(retried, 3, "200", "success", "wallet", "999999****9999")
        by_wallet = await order("2")
        await operation(by_wallet, 1, "100", "success", "wallet", None)
        short_card = await order("3")
        await operation(short_card, 1, "100", "declined", "card", "****0019")
        never = await order("4")
    await migrate(engine, "head")
    async with engine.connect() as conn:
        found = {
            row.id: (row.payment_means, row.masked_pan, row.card_last4)
            for row in await conn.execute(
                select(
                    orders.c.id, orders.c.payment_means, orders.c.masked_pan, orders.c.card_last4
                )
            )
        }
    assert found == {
        retried: ("card", "411111****1234", "1234"),
        by_wallet: ("wallet", None, None),
        short_card: ("card", "****0019", "0019"),
        never: (None, None, None),
    }
    await migrate(engine, "0007", down=True)
    await migrate(engine, "head")
    await engine.dispose()
