"""The Demo Points program's books (``simulator/loyalty``) on a store of their own: holds that
never take more than an account has free, idempotency by reference, give-back and reversal
limits, locked PINs, and the comparison of IPS's daily report."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from demobank.ledger import Ledger
from demobank.loyalty import (
    AccrualRequest,
    AccrualReversal,
    Difference,
    Line,
    LoyaltyBooks,
    OperationKind,
    PointsAccount,
    ReferenceConflict,
    RefusalReason,
    RepeatedLine,
    ReservationStatus,
    ReserveRequest,
    rate,
)
from ips.domain.money import currency
from tests.fakes import ManualClock

RICH, POOR, BLOCKED = "7000000001", "7000000002", "7000000003"
PINS = {RICH: "1111", POOR: "2222", BLOCKED: "3333"}
MERCHANT = "111111"
DAY = date(2025, 3, 6)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 3, 6, 12, 0, tzinfo=UTC))


@pytest.fixture
async def ledger(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Ledger]:
    async with await Ledger.open(tmp_path / "bank.sqlite3", clock=clock) as opened:
        yield opened


@pytest.fixture
def books(ledger: Ledger) -> LoyaltyBooks:
    return ledger.loyalty


def asked(
    reference: str = "ips-1",
    points: int = 300,
    account: str = RICH,
    pin: str | None = None,
    merchant_id: str = MERCHANT,
) -> ReserveRequest:
    return ReserveRequest(
        reference, account, PINS.get(account, "0000") if pin is None else pin, points,
        merchant_id, "Order 7",
    )  # fmt: skip


async def spent(books: LoyaltyBooks, reference: str = "ips-1", points: int = 300) -> None:
    assert (await books.reserve(asked(reference, points))).status is ReservationStatus.RESERVED
    reservation = await books.spend(reference)
    assert reservation is not None
    assert reservation.status is ReservationStatus.SPENT


def test_a_reservation_request_keeps_its_pin_out_of_logs() -> None:
    shown = repr(asked(pin="9876"))
    assert "9876" not in shown
    assert "7000000001" in shown


def test_one_point_is_a_ruble_or_a_cent() -> None:
    assert [rate(currency(code)) for code in ("RUB", "USD", "EUR", "JPY", "KZT")] == [
        100, 1, 1, None, None,
    ]  # fmt: skip


async def test_the_test_accounts_open_with_their_points(books: LoyaltyBooks) -> None:
    assert await books.account(RICH) == PointsAccount(RICH, 100_000, 0, blocked=False)
    assert await books.account(POOR) == PointsAccount(POOR, 50, 0, blocked=False)
    assert await books.account(BLOCKED) == PointsAccount(BLOCKED, 0, 0, blocked=True)
    with pytest.raises(LookupError):
        await books.account("7000000009")


async def test_a_reservation_holds_points_until_spent(books: LoyaltyBooks) -> None:
    reservation = await books.reserve(asked(points=300))

    assert (reservation.status, reservation.points, reservation.reason) == (
        ReservationStatus.RESERVED,
        300,
        None,
    )
    held = await books.account(RICH)
    assert (held.balance, held.reserved, held.free) == (100_000, 300, 99_700)

    after = await books.spend("ips-1")

    assert after is not None
    assert after.status is ReservationStatus.SPENT
    assert await books.account(RICH) == PointsAccount(RICH, 99_700, 0, blocked=False)


async def test_a_released_reservation_frees_its_points_and_is_never_spent(
    books: LoyaltyBooks,
) -> None:
    await books.reserve(asked(points=300))

    released = await books.release("ips-1")
    late = await books.spend("ips-1")

    assert released is not None and late is not None
    assert (released.status, late.status) == (ReservationStatus.RELEASED,) * 2
    assert await books.account(RICH) == PointsAccount(RICH, 100_000, 0, blocked=False)


async def test_a_spent_reservation_stays_spent_when_released(books: LoyaltyBooks) -> None:
    await spent(books)

    after = await books.release("ips-1")

    assert after is not None and after.status is ReservationStatus.SPENT
    assert await books.account(RICH) == PointsAccount(RICH, 99_700, 0, blocked=False)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (asked(account="7000000009"), RefusalReason.UNKNOWN_ACCOUNT),
        (asked(account=BLOCKED), RefusalReason.BLOCKED),
        (asked(pin="1112"), RefusalReason.WRONG_PIN),
        (asked(pin=""), RefusalReason.WRONG_PIN),
        (asked(pin=PINS[POOR]), RefusalReason.WRONG_PIN),
        (asked(account=POOR, points=51), RefusalReason.INSUFFICIENT_POINTS),
        (asked(points=100_001), RefusalReason.INSUFFICIENT_POINTS),
    ],
    ids=["unknown", "blocked", "wrong pin", "no pin", "another's pin", "poor", "too many"],
)
async def test_refusals_hold_nothing_and_are_final_for_their_reference(
    books: LoyaltyBooks, request_: ReserveRequest, reason: RefusalReason
) -> None:
    refused = await books.reserve(request_)

    assert (refused.status, refused.reason, refused.points) == (
        ReservationStatus.REFUSED,
        reason,
        request_.points,
    )
    assert (await books.account(RICH)).reserved == 0
    assert (await books.account(POOR)).reserved == 0
    again = await books.reserve(request_)
    assert again == refused
    spend = await books.spend(request_.reference)
    assert spend is not None and spend.status is ReservationStatus.REFUSED
    assert await books.give_back(request_.reference, 1, "gb-1") is False


async def test_a_poor_account_gives_all_it_has_and_no_more(books: LoyaltyBooks) -> None:
    first = await books.reserve(asked("ips-1", 30, POOR))
    second = await books.reserve(asked("ips-2", 21, POOR))
    third = await books.reserve(asked("ips-3", 20, POOR))

    assert [r.status for r in (first, second, third)] == [
        ReservationStatus.RESERVED,
        ReservationStatus.REFUSED,
        ReservationStatus.RESERVED,
    ]
    assert await books.account(POOR) == PointsAccount(POOR, 50, 50, blocked=False)


async def test_the_same_reference_answers_the_same_reservation(books: LoyaltyBooks) -> None:
    first = await books.reserve(asked())
    again = await books.reserve(asked())
    await books.spend("ips-1")
    after_spend = await books.reserve(asked())

    assert again == first
    assert after_spend.status is ReservationStatus.SPENT
    assert len(await books.reservations()) == 1
    assert await books.account(RICH) == PointsAccount(RICH, 99_700, 0, blocked=False)


@pytest.mark.parametrize(
    "other",
    [asked(points=301), asked(account=POOR), asked(merchant_id="222222")],
    ids=["points", "account", "merchant"],
)
async def test_a_reference_reused_for_another_reservation_is_refused(
    books: LoyaltyBooks, other: ReserveRequest
) -> None:
    await books.reserve(asked())

    with pytest.raises(ReferenceConflict):
        await books.reserve(other)
    assert len(await books.reservations()) == 1
    assert (await books.account(RICH)).reserved == 300


async def test_an_unknown_reference_released_is_closed_for_a_late_reservation(
    books: LoyaltyBooks,
) -> None:
    assert await books.release("ips-1") is None
    assert await books.spend("ips-1") is None

    late = await books.reserve(asked())

    assert (late.status, late.points) == (ReservationStatus.RELEASED, 0)
    assert await books.reservation("ips-1") is None
    assert await books.reservations() == []
    assert await books.account(RICH) == PointsAccount(RICH, 100_000, 0, blocked=False)


async def test_two_reservations_racing_for_one_balance_take_it_once(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Two stores on one file, as two simulator processes would open it: each reservation
    runs in its own write transaction, and only one finds the 50 points free."""
    async with (
        await Ledger.open(tmp_path / "shared.sqlite3", clock=clock) as one,
        await Ledger.open(tmp_path / "shared.sqlite3", clock=clock) as two,
    ):
        results = await asyncio.gather(
            *(
                books.reserve(asked(f"ips-{n}", 40, POOR))
                for n, books in enumerate([one.loyalty, two.loyalty] * 3)
            )
        )

        assert sorted(r.status for r in results) == [ReservationStatus.REFUSED] * 5 + [
            ReservationStatus.RESERVED
        ]
        assert await one.loyalty.account(POOR) == PointsAccount(POOR, 50, 40, blocked=False)


async def test_the_store_refuses_reserving_more_than_the_balance(
    books: LoyaltyBooks, tmp_path: Path
) -> None:
    await books.reserve(asked(account=POOR, points=50))

    db = sqlite3.connect(tmp_path / "bank.sqlite3")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "UPDATE loyalty_accounts SET reserved = reserved + 1 WHERE number = ?", (POOR,)
            )
    finally:
        db.close()


async def test_ten_wrong_pins_lock_the_account_for_thirty_minutes(
    books: LoyaltyBooks, clock: ManualClock
) -> None:
    answers = [await books.reserve(asked(f"guess-{n}", pin=f"{n:04d}")) for n in range(11)]

    assert [a.reason for a in answers] == [RefusalReason.WRONG_PIN] * 9 + [RefusalReason.LOCKED] * 2
    assert (await books.reserve(asked("right"))).reason is RefusalReason.LOCKED
    clock.advance(minutes=29, seconds=59)
    assert (await books.reserve(asked("still"))).reason is RefusalReason.LOCKED
    clock.advance(seconds=1)
    assert (await books.reserve(asked("at-last"))).status is ReservationStatus.RESERVED


async def test_a_right_pin_clears_the_count_of_wrong_ones(books: LoyaltyBooks) -> None:
    for round_ in range(2):
        for n in range(9):
            await books.reserve(asked(f"guess-{round_}-{n}", pin="0000"))
        assert (await books.reserve(asked(f"ok-{round_}", 1))).status is ReservationStatus.RESERVED

    assert (await books.reserve(asked("wrong", pin="0000"))).reason is RefusalReason.WRONG_PIN


async def test_give_backs_return_at_most_what_was_spent(books: LoyaltyBooks) -> None:
    await spent(books, points=100)

    assert await books.give_back("ips-1", 30, "gb-1") is True
    assert await books.give_back("ips-1", 71, "gb-2") is False
    assert await books.give_back("ips-1", 30, "gb-1") is True
    assert await books.give_back("ips-1", 50, "gb-1") is True
    assert await books.give_back("ips-1", 70, "gb-3") is True
    assert await books.give_back("ips-1", 1, "gb-4") is False

    assert [(g.reference, g.reservation, g.points) for g in await books.give_backs()] == [
        ("gb-1", "ips-1", 30),
        ("gb-3", "ips-1", 70),
    ]
    reservation = await books.reservation("ips-1")
    assert reservation is not None
    assert (reservation.status, reservation.given_back) == (ReservationStatus.SPENT, 100)
    assert await books.account(RICH) == PointsAccount(RICH, 100_000, 0, blocked=False)


async def test_only_spent_points_are_given_back(books: LoyaltyBooks) -> None:
    await books.reserve(asked("held"))
    await books.reserve(asked("freed"))
    await books.release("freed")

    for reference in ("held", "freed", "unknown"):
        assert await books.give_back(reference, 1, f"gb-{reference}") is False
    assert await books.give_backs() == []
    assert await books.account(RICH) == PointsAccount(RICH, 100_000, 300, blocked=False)


async def test_a_give_back_reference_names_one_give_back(books: LoyaltyBooks) -> None:
    await spent(books, "ips-1")
    await spent(books, "ips-2")
    await books.give_back("ips-1", 10, "gb-1")

    with pytest.raises(ReferenceConflict):
        await books.give_back("ips-2", 10, "gb-1")
    assert len(await books.give_backs()) == 1


async def test_an_accrual_credits_points_once(books: LoyaltyBooks) -> None:
    request = AccrualRequest("acc-1", POOR, 25, MERCHANT)

    assert await books.accrue(request) is True
    assert await books.accrue(request) is True

    assert await books.account(POOR) == PointsAccount(POOR, 75, 0, blocked=False)
    [accrual] = await books.accruals()
    assert (accrual.reference, accrual.account, accrual.points, accrual.taken_back) == (
        "acc-1",
        POOR,
        25,
        None,
    )
    with pytest.raises(ReferenceConflict):
        await books.accrue(AccrualRequest("acc-1", POOR, 26, MERCHANT))


async def test_no_accrual_to_an_unknown_or_blocked_account(books: LoyaltyBooks) -> None:
    assert await books.accrue(AccrualRequest("acc-1", "7000000009", 25, MERCHANT)) is False
    assert await books.accrue(AccrualRequest("acc-2", BLOCKED, 25, MERCHANT)) is False

    assert await books.accruals() == []
    assert (await books.account(BLOCKED)).balance == 0
    assert await books.reverse_accrual("acc-2") == AccrualReversal(reversed=False, points=0)


async def test_a_reversal_takes_the_points_back_once(books: LoyaltyBooks) -> None:
    await books.accrue(AccrualRequest("acc-1", POOR, 25, MERCHANT))

    assert await books.reverse_accrual("acc-1") == AccrualReversal(reversed=True, points=25)
    assert await books.reverse_accrual("acc-1") == AccrualReversal(reversed=True, points=25)

    assert await books.account(POOR) == PointsAccount(POOR, 50, 0, blocked=False)


async def test_a_reversal_takes_back_only_what_the_buyer_has_not_spent_or_reserved(
    books: LoyaltyBooks,
) -> None:
    await books.accrue(AccrualRequest("acc-1", POOR, 25, MERCHANT))
    await books.reserve(asked("spent", 40, POOR))
    await books.spend("spent")
    await books.reserve(asked("held", 20, POOR))

    reversal = await books.reverse_accrual("acc-1")

    assert reversal == AccrualReversal(reversed=True, points=15)
    assert await books.account(POOR) == PointsAccount(POOR, 20, 20, blocked=False)
    [accrual] = await books.accruals()
    assert accrual.taken_back == 15
    assert await books.reverse_accrual("acc-1") == AccrualReversal(reversed=True, points=15)


async def test_an_unknown_accrual_reversed_is_closed_for_a_late_accrual(
    books: LoyaltyBooks,
) -> None:
    assert await books.reverse_accrual("acc-1") == AccrualReversal(reversed=False, points=0)

    assert await books.accrue(AccrualRequest("acc-1", POOR, 25, MERCHANT)) is False
    assert await books.accruals() == []
    assert (await books.account(POOR)).balance == 50


async def a_day_of_operations(books: LoyaltyBooks) -> None:
    """On ``DAY``: 300 points spent (ips-1) and 100 of them given back (gb-1); 25 accrued
    (acc-1) and taken back; 10 accrued (acc-2). A reservation only held, one released, and
    another merchant's spend, none of which is in the report."""
    await spent(books, "ips-1", 300)
    await books.give_back("ips-1", 100, "gb-1")
    await books.accrue(AccrualRequest("acc-1", POOR, 25, MERCHANT))
    await books.reverse_accrual("acc-1")
    await books.accrue(AccrualRequest("acc-2", RICH, 10, MERCHANT))
    await books.reserve(asked("held"))
    await books.reserve(asked("freed"))
    await books.release("freed")
    await books.reserve(asked("other", merchant_id="222222"))
    await books.spend("other")


DAY_LINES = [
    Line("ips-1", OperationKind.SPEND, 300),
    Line("gb-1", OperationKind.GIVE_BACK, 100),
    Line("acc-1", OperationKind.ACCRUAL, 25),
    Line("acc-2", OperationKind.ACCRUAL, 10),
    Line("acc-1", OperationKind.ACCRUAL_REVERSAL, 25),
]


async def test_a_report_that_agrees_has_no_differences(books: LoyaltyBooks) -> None:
    await a_day_of_operations(books)

    assert await books.day(DAY, MERCHANT) == DAY_LINES
    assert await books.compare(DAY, MERCHANT, list(reversed(DAY_LINES))) == []
    [report] = await books.reports()
    assert (report.merchant_id, report.day, report.lines, report.differences) == (
        MERCHANT,
        DAY,
        5,
        0,
    )


async def test_a_report_that_disagrees_is_answered_with_each_difference(
    books: LoyaltyBooks,
) -> None:
    await a_day_of_operations(books)
    lines = [
        Line("ips-1", OperationKind.SPEND, 299),
        Line("acc-1", OperationKind.ACCRUAL, 25),
        Line("acc-1", OperationKind.ACCRUAL_REVERSAL, 25),
        Line("acc-2", OperationKind.ACCRUAL, 10),
        Line("held", OperationKind.SPEND, 300),
        Line("other", OperationKind.SPEND, 300),
    ]

    differences = await books.compare(DAY, MERCHANT, lines)

    assert differences == [
        Difference("held", OperationKind.SPEND, 300, None),
        Difference("ips-1", OperationKind.SPEND, 299, 300),
        Difference("other", OperationKind.SPEND, 300, None),
        Difference("gb-1", OperationKind.GIVE_BACK, None, 100),
    ]
    assert (await books.reports())[-1].differences == 4


async def test_a_report_compares_the_day_it_names(books: LoyaltyBooks, clock: ManualClock) -> None:
    clock.now = datetime(2025, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)
    await spent(books, "before")
    clock.now = datetime(2025, 3, 6, 0, 0, tzinfo=UTC)
    await spent(books, "first")
    clock.now = datetime(2025, 3, 6, 23, 59, 59, 999999, tzinfo=UTC)
    await spent(books, "last")
    clock.now = datetime(2025, 3, 7, 0, 0, tzinfo=UTC)
    await spent(books, "after")

    assert [line.reference for line in await books.day(DAY, MERCHANT)] == ["first", "last"]
    assert await books.compare(DAY, MERCHANT, []) == [
        Difference("first", OperationKind.SPEND, None, 300),
        Difference("last", OperationKind.SPEND, None, 300),
    ]


async def test_a_report_naming_an_operation_twice_is_refused(books: LoyaltyBooks) -> None:
    with pytest.raises(RepeatedLine):
        await books.compare(DAY, MERCHANT, [DAY_LINES[0], DAY_LINES[0]])
    assert await books.reports() == []


async def test_the_books_outlive_the_store(tmp_path: Path, clock: ManualClock) -> None:
    async with await Ledger.open(tmp_path / "kept.sqlite3", clock=clock) as ledger:
        books = ledger.loyalty
        await spent(books, points=300)
        await books.give_back("ips-1", 100, "gb-1")
        await books.accrue(AccrualRequest("acc-1", POOR, 25, MERCHANT))
        await books.release("never-sent")
        for n in range(9):
            await books.reserve(asked(f"guess-{n}", pin="0000"))

    async with await Ledger.open(tmp_path / "kept.sqlite3", clock=clock) as reopened:
        books = reopened.loyalty
        assert await books.account(RICH) == PointsAccount(RICH, 99_800, 0, blocked=False)
        assert (await books.account(POOR)).balance == 75
        assert len(await books.reservations()) == 10
        assert (await books.reserve(asked("late", pin="0000"))).reason is RefusalReason.LOCKED
        assert (await books.reserve(asked("never-sent"))).points == 0
