"""Each day's points operations reported to the points program (issue 13 item 3), against the
simulator's Demo Points over HTTP: the books agree after points plus card and a partial
cancel; a spend the program books otherwise, a stray give-back in IPS's books or a spend IPS
never saw answered is a difference, kept and printed until the books agree again; a day is a
UTC day on both sides; ``ips points report`` as a process."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, insert, select, update

from demobank import Simulator
from ips.domain.errors import Refused
from ips.domain.orders import TransactionKind
from ips.domain.states import TransactionStatus
from ips.processing.loyalty import Difference, PointsOperation
from ips.processing.loyalty_http import HttpLoyalty
from ips.services.cancellations import Cancel, cancel
from ips.services.gateway import Gateway
from ips.services.merchants import SignedIn
from ips.services.points_report import KeptDifference, MerchantReport, report_points
from ips.storage.tables import transactions
from ips.storage.unit_of_work import Database
from tests.conftest import make_client
from tests.fakes import ManualClock
from tests.integration.conftest import POINTS_SHOP
from tests.integration.test_points import order_page, pay
from tests.processes import free_port

SHOP = POINTS_SHOP
START = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
DAY = START.date()
NEXT = DAY + timedelta(days=1)


@pytest.fixture
def clock() -> ManualClock:
    """IPS's and the program's clock, at 10:00 UTC of ``DAY``."""
    return ManualClock(START)


@pytest.fixture
async def client(points_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(points_gateway) as http:
        yield http


@dataclasses.dataclass(frozen=True)
class Paid:
    billnumber: str
    spend: str
    """The reference of the spend: the reservation's."""
    give_back: str


async def paid_and_part_cancelled(
    client: httpx.AsyncClient, gateway: Gateway, currency: str = "RUB"
) -> Paid:
    """300.00 paid as 100 points and the rest by card (in RUB: 200.00); 150.50 of it
    cancelled, which gives back some of the points (in RUB: 50)."""
    page = await order_page(client, OrderCurrency=currency)
    paid = await pay(client, page)
    assert paid.status_code == 303, paid.text
    billnumber = page.rsplit("/", 1)[1]
    await cancel(Cancel(billnumber, "150.50", currency), SignedIn(SHOP), gateway)
    async with gateway.uow_factory(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
        assert order is not None and order.id is not None
        exchanges = await uow.transactions.of_order(order.id)
    spend, give_back = (
        next(t for t in exchanges if t.kind is kind and t.status is TransactionStatus.APPROVED)
        for kind in (TransactionKind.POINTS_SPEND, TransactionKind.POINTS_GIVE_BACK)
    )
    return Paid(billnumber, spend.reference, give_back.reference)


async def kept(database: Database, day: date = DAY) -> list[KeptDifference]:
    async with database(readonly=True) as uow:
        return await uow.points.differences(day)


def booked_by_the_program(simulator: Simulator, reference: str, points: int) -> None:
    """The program's books say the reservation ``reference`` held ``points`` (edited by hand)."""
    with sqlite3.connect(simulator.store_path) as books:
        changed = books.execute(
            "UPDATE loyalty_reservations SET points = ? WHERE reference = ?", (points, reference)
        )
        assert changed.rowcount == 1
    books.close()


async def test_a_day_of_points_and_card_and_a_partial_cancel_agrees_with_the_program(
    client: httpx.AsyncClient,
    points_gateway: Gateway,
    simulator: Simulator,
    database: Database,
    clock: ManualClock,
) -> None:
    paid = await paid_and_part_cancelled(client, points_gateway)
    clock.advance(days=1)
    await cancel(Cancel(paid.billnumber), SignedIn(SHOP), points_gateway)  # 50 more, tomorrow

    today = await report_points(DAY, points_gateway)
    tomorrow = await report_points(NEXT, points_gateway)

    assert today.merchants == [MerchantReport(SHOP, 2, [])] and today.agreed
    assert tomorrow.merchants == [MerchantReport(SHOP, 1, [])] and tomorrow.agreed
    received = await simulator.ledger.loyalty.reports()
    assert [(r.merchant_id, r.day, r.lines, r.differences) for r in received] == [
        (SHOP, DAY, 2, 0),
        (SHOP, NEXT, 1, 0),
    ]
    assert await kept(database) == [] and await kept(database, NEXT) == []
    nothing = await report_points(NEXT + timedelta(days=1), points_gateway)
    assert nothing.merchants == [] and nothing.agreed


async def test_a_spend_the_program_booked_otherwise_is_kept_until_the_books_agree(
    client: httpx.AsyncClient,
    points_gateway: Gateway,
    simulator: Simulator,
    database: Database,
    clock: ManualClock,
) -> None:
    paid = await paid_and_part_cancelled(client, points_gateway)
    booked_by_the_program(simulator, paid.spend, 90)

    differing = await report_points(DAY, points_gateway)

    spend = Difference(paid.spend, PointsOperation.SPEND, ips_points=100, program_points=90)
    assert differing.merchants == [MerchantReport(SHOP, 2, [spend])]
    assert not differing.agreed
    assert await kept(database) == [KeptDifference(DAY, SHOP, spend, START)]

    clock.advance(minutes=5)
    again = await report_points(DAY, points_gateway)  # the same answer, kept once
    assert again.merchants == [MerchantReport(SHOP, 2, [spend])]
    assert await kept(database) == [KeptDifference(DAY, SHOP, spend, clock.now)]

    booked_by_the_program(simulator, paid.spend, 100)
    agreed = await report_points(DAY, points_gateway)
    assert agreed.merchants == [MerchantReport(SHOP, 2, [])] and agreed.agreed
    assert await kept(database) == []


async def test_a_stray_give_back_in_ips_books_is_a_difference_until_it_goes(
    client: httpx.AsyncClient,
    points_gateway: Gateway,
    database: Database,
    clock: ManualClock,
) -> None:
    """A stray on a day with nothing else: the merchant is asked again while a difference of
    that day is kept, so it goes once the books agree."""
    paid = await paid_and_part_cancelled(client, points_gateway)
    clock.advance(days=1)
    async with database.engine.begin() as conn:
        cancelled = (
            await conn.execute(
                select(transactions.c.order_id, transactions.c.operation_id).where(
                    transactions.c.reference == paid.give_back
                )
            )
        ).one()
        await conn.execute(
            insert(transactions).values(
                order_id=cancelled.order_id, operation_id=cancelled.operation_id,
                kind="points_give_back", status="approved", amount_minor=2000, currency="RUB",
                reference="ips-stray", response="", approval_code="", attempts=1,
                created_at=clock.now, updated_at=clock.now,
            )
        )  # fmt: skip

    stray = Difference("ips-stray", PointsOperation.GIVE_BACK, ips_points=20, program_points=None)
    assert (await report_points(NEXT, points_gateway)).merchants == [
        MerchantReport(SHOP, 1, [stray])
    ]
    the_day_before = await report_points(DAY, points_gateway)
    assert the_day_before.merchants == [MerchantReport(SHOP, 2, [])]
    assert [k.difference for k in await kept(database, NEXT)] == [stray]
    assert await kept(database) == []

    async with database.engine.begin() as conn:
        await conn.execute(delete(transactions).where(transactions.c.reference == "ips-stray"))
    fixed = await report_points(NEXT, points_gateway)

    assert fixed.merchants == [MerchantReport(SHOP, 0, [])] and fixed.agreed
    assert await kept(database, NEXT) == []
    assert (await report_points(NEXT, points_gateway)).merchants == []  # nothing left to ask


async def test_exchanges_ips_has_not_seen_answered_are_reported_missing(
    client: httpx.AsyncClient, points_gateway: Gateway, database: Database
) -> None:
    """The program spent the points and gave some back; IPS still waits for both answers
    (the janitor repeats them): the merchant, with nothing approved that day, is asked all
    the same, and the program names both."""
    paid = await paid_and_part_cancelled(client, points_gateway)
    async with database.engine.begin() as conn:
        await conn.execute(
            update(transactions)
            .where(transactions.c.reference.in_([paid.spend, paid.give_back]))
            .where(transactions.c.kind.in_(["points_spend", "points_give_back"]))
            .values(status="sent")
        )

    result = await report_points(DAY, points_gateway)

    missing = [
        Difference(paid.spend, PointsOperation.SPEND, ips_points=None, program_points=100),
        Difference(paid.give_back, PointsOperation.GIVE_BACK, ips_points=None, program_points=50),
    ]
    assert result.merchants == [MerchantReport(SHOP, 0, missing)]
    assert [k.difference for k in await kept(database)] == missing


async def test_a_spend_answered_after_midnight_is_ips_s_of_the_next_day(
    client: httpx.AsyncClient, points_gateway: Gateway, database: Database
) -> None:
    """IPS books an exchange on the day the program's answer came, the program on the day
    it took it: across midnight, both days show the difference."""
    paid = await paid_and_part_cancelled(client, points_gateway)
    after_midnight = datetime.combine(NEXT, datetime.min.time(), UTC) + timedelta(seconds=5)
    async with database.engine.begin() as conn:
        await conn.execute(
            update(transactions)
            .where(transactions.c.reference == paid.spend, transactions.c.kind == "points_spend")
            .values(updated_at=after_midnight)
        )

    today = await report_points(DAY, points_gateway)
    tomorrow = await report_points(NEXT, points_gateway)

    assert today.merchants == [
        MerchantReport(SHOP, 1, [Difference(paid.spend, PointsOperation.SPEND, None, 100)])
    ]
    assert tomorrow.merchants == [
        MerchantReport(SHOP, 1, [Difference(paid.spend, PointsOperation.SPEND, 100, None)])
    ]


async def test_points_are_counted_at_the_worth_of_a_point_of_their_order(
    client: httpx.AsyncClient, points_gateway: Gateway, simulator: Simulator, database: Database
) -> None:
    """A point of an order in USD is worth 0.01: 100 points pay 1.00 of 300.00, and a
    give-back's points are its money over 0.01."""
    paid = await paid_and_part_cancelled(client, points_gateway, "USD")
    async with database(readonly=True) as uow:
        start = datetime.combine(DAY, datetime.min.time(), UTC)
        exchanges = await uow.points.exchanges(start, start + timedelta(days=1))
    [given] = await simulator.ledger.loyalty.give_backs()

    assert [(e.kind, e.reference, e.amount_minor, e.points) for e in exchanges] == [
        (TransactionKind.POINTS_SPEND, paid.spend, 100, 100),
        (TransactionKind.POINTS_GIVE_BACK, paid.give_back, given.points, given.points),
    ]
    assert (await report_points(DAY, points_gateway)).merchants == [MerchantReport(SHOP, 2, [])]


async def test_a_program_that_does_not_answer_leaves_the_kept_differences(
    client: httpx.AsyncClient, points_gateway: Gateway, database: Database
) -> None:
    await paid_and_part_cancelled(client, points_gateway)
    earlier = Difference("ips-earlier", PointsOperation.SPEND, ips_points=None, program_points=7)
    async with database() as uow:
        await uow.points.replace_differences(DAY, SHOP, [earlier], START)
        await uow.commit()
    silent = HttpLoyalty(f"http://127.0.0.1:{free_port()}", timeout=1.0)
    try:
        result = await report_points(DAY, dataclasses.replace(points_gateway, loyalty=silent))
    finally:
        await silent.close()

    assert result.merchants == [MerchantReport(SHOP, 2, None)] and not result.agreed
    assert await kept(database) == [KeptDifference(DAY, SHOP, earlier, START)]


async def test_without_a_points_program_nothing_is_reported(points_gateway: Gateway) -> None:
    with pytest.raises(Refused, match="no points program"):
        await report_points(DAY, dataclasses.replace(points_gateway, loyalty=None))


async def ips_points_report(
    tmp_path: Path, database_url: str, simulator: Simulator, loyalty_url: str | None = None
) -> tuple[int, str, str]:
    """``ips points report --day DAY`` as a process (the simulator keeps serving meanwhile)."""
    env = {
        **os.environ,
        "IPS_DATABASE_URL": database_url,
        "IPS_PROCESSING": f"127.0.0.1:{simulator.port}",
        "IPS_LOYALTY_URL": simulator.http_url if loyalty_url is None else loyalty_url,
        "IPS_PROCESSING_TIMEOUT": "2",
    }
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "ips", "points", "report", "--day", DAY.isoformat()),
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_ips_points_report_prints_the_differences_and_fails_on_them(
    client: httpx.AsyncClient,
    points_gateway: Gateway,
    simulator: Simulator,
    database: Database,
    database_url: str,
    tmp_path: Path,
) -> None:
    paid = await paid_and_part_cancelled(client, points_gateway)

    status, out, err = await ips_points_report(
        tmp_path, database_url, simulator, simulator.http_url
    )
    assert (status, out) == (0, f"{SHOP}: 2 operations reported, no differences\n"), err

    booked_by_the_program(simulator, paid.spend, 90)
    status, out, err = await ips_points_report(
        tmp_path, database_url, simulator, simulator.http_url
    )
    assert (status, out.splitlines()) == (
        1,
        [
            f"{SHOP}: 2 operations reported, 1 difference:",
            f"{SHOP}: spend {paid.spend}: IPS 100 points, program 90 points",
        ],
    ), err
    assert [k.difference.program_points for k in await kept(database)] == [90]

    dead = f"http://127.0.0.1:{free_port()}"
    status, out, err = await ips_points_report(tmp_path, database_url, simulator, dead)
    assert status == 1 and "the points program did not answer" in out
    assert f"error: the points program did not answer for {SHOP}" in err
    assert "Traceback" not in err
    assert [k.difference.program_points for k in await kept(database)] == [90]

    status, out, err = await ips_points_report(tmp_path, database_url, simulator, "")
    assert (status, out) == (1, "")
    assert "error: no points program is connected" in err and "Traceback" not in err
