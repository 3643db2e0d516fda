"""The Demo Points program over real HTTP: ``HttpLoyalty`` against the running simulator (its
rates, reservations, give-backs, accruals and reports, each idempotent by IPS's reference),
reservations racing for one balance, bad requests, and the client's own failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from demobank import Ledger, Simulator
from demobank.loyalty import PointsAccount
from ips.domain.money import currency
from ips.processing.loyalty import (
    AccrualReversal,
    Difference,
    PointsOperation,
    RefusalReason,
    ReportLine,
    Reservation,
    ReservationStatus,
)
from ips.processing.loyalty_http import HttpLoyalty
from ips.processing.port import NoAnswer
from tests.fakes import ManualClock
from tests.parties import answering, never_answering

RICH, POOR, BLOCKED = "7000000001", "7000000002", "7000000003"
PINS = {RICH: "1111", POOR: "2222", BLOCKED: "3333"}
MERCHANT = "111111"
DAY = date(2025, 3, 6)

RESERVED, SPENT, RELEASED, REFUSED, UNKNOWN = (
    ReservationStatus.RESERVED,
    ReservationStatus.SPENT,
    ReservationStatus.RELEASED,
    ReservationStatus.REFUSED,
    ReservationStatus.UNKNOWN,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 3, 6, 12, 0, tzinfo=UTC))


@pytest.fixture
async def loyalty(simulator: Simulator) -> AsyncIterator[HttpLoyalty]:
    client = HttpLoyalty(simulator.http_url, timeout=2.0)
    yield client
    await client.close()


@pytest.fixture
async def http(simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator.http_url, timeout=2.0) as client:
        yield client


async def reserve(
    loyalty: HttpLoyalty,
    reference: str = "ips-1",
    points: int = 300,
    account: str = RICH,
    pin: str | None = None,
    merchant_id: str = MERCHANT,
) -> Reservation:
    return await loyalty.reserve(
        reference, account, PINS.get(account, "0000") if pin is None else pin, points,
        merchant_id, "Order 7: two books",
    )  # fmt: skip


async def points_of(simulator: Simulator, account: str) -> PointsAccount:
    return await simulator.ledger.loyalty.account(account)


async def test_the_rates_of_the_program(loyalty: HttpLoyalty) -> None:
    assert await loyalty.rate(currency("RUB")) == 100
    assert await loyalty.rate(currency("USD")) == 1
    assert await loyalty.rate(currency("EUR")) == 1
    assert await loyalty.rate(currency("JPY")) is None


async def test_reserved_points_are_spent(loyalty: HttpLoyalty, simulator: Simulator) -> None:
    reservation = await reserve(loyalty, points=300)

    assert reservation == Reservation(RESERVED, 300)
    assert await loyalty.status("ips-1") is RESERVED
    assert await points_of(simulator, RICH) == PointsAccount(RICH, 100_000, 300, blocked=False)

    assert await loyalty.spend("ips-1") is SPENT

    assert await loyalty.status("ips-1") is SPENT
    assert await points_of(simulator, RICH) == PointsAccount(RICH, 99_700, 0, blocked=False)
    [kept] = await simulator.ledger.loyalty.reservations()
    assert (kept.reference, kept.account, kept.merchant_id, kept.description) == (
        "ips-1",
        RICH,
        MERCHANT,
        "Order 7: two books",
    )


async def test_released_points_are_free_again_and_never_spent(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    await reserve(loyalty)

    assert await loyalty.release("ips-1") is RELEASED
    assert await loyalty.release("ips-1") is RELEASED
    assert await loyalty.spend("ips-1") is RELEASED
    assert await points_of(simulator, RICH) == PointsAccount(RICH, 100_000, 0, blocked=False)


async def test_a_spent_reservation_is_not_released(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    await reserve(loyalty)
    await loyalty.spend("ips-1")

    assert await loyalty.release("ips-1") is SPENT
    assert await loyalty.spend("ips-1") is SPENT
    assert await points_of(simulator, RICH) == PointsAccount(RICH, 99_700, 0, blocked=False)


@pytest.mark.parametrize(
    ("account", "pin", "points", "reason"),
    [
        ("7000000009", "1111", 1, RefusalReason.UNKNOWN_ACCOUNT),
        (BLOCKED, PINS[BLOCKED], 1, RefusalReason.BLOCKED),
        (RICH, "1112", 1, RefusalReason.WRONG_PIN),
        (POOR, PINS[POOR], 51, RefusalReason.INSUFFICIENT_POINTS),
    ],
    ids=["unknown account", "blocked", "wrong pin", "too few points"],
)
async def test_a_refusal_is_an_answer_that_holds_nothing(
    loyalty: HttpLoyalty,
    simulator: Simulator,
    account: str,
    pin: str,
    points: int,
    reason: RefusalReason,
) -> None:
    refused = await reserve(loyalty, points=points, account=account, pin=pin)

    assert refused == Reservation(REFUSED, points, reason)
    assert await loyalty.status("ips-1") is REFUSED
    assert await reserve(loyalty, points=points, account=account, pin=pin) == refused
    assert await loyalty.spend("ips-1") is REFUSED
    assert await loyalty.release("ips-1") is REFUSED
    for number in (RICH, POOR):
        assert (await points_of(simulator, number)).reserved == 0


async def test_a_poor_account_gives_its_fifty_points_and_no_more(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    assert (await reserve(loyalty, "ips-1", 50, POOR)).status is RESERVED
    assert await reserve(loyalty, "ips-2", 1, POOR) == Reservation(
        REFUSED, 1, RefusalReason.INSUFFICIENT_POINTS
    )
    await loyalty.release("ips-1")
    assert (await reserve(loyalty, "ips-3", 1, POOR)).status is RESERVED


async def test_ten_wrong_pins_lock_the_account(
    loyalty: HttpLoyalty, simulator: Simulator, clock: ManualClock
) -> None:
    answers = [await reserve(loyalty, f"guess-{n}", pin=f"{n:04d}") for n in range(10)]

    assert [a.reason for a in answers] == [RefusalReason.WRONG_PIN] * 9 + [RefusalReason.LOCKED]
    assert (await reserve(loyalty, "right")).reason is RefusalReason.LOCKED
    clock.advance(minutes=30)
    assert (await reserve(loyalty, "later")).status is RESERVED


async def test_the_same_reference_reserves_once(loyalty: HttpLoyalty, simulator: Simulator) -> None:
    answers = await asyncio.gather(*(reserve(loyalty) for _ in range(5)))

    assert set(answers) == {Reservation(RESERVED, 300)}
    assert len(await simulator.ledger.loyalty.reservations()) == 1
    assert (await points_of(simulator, RICH)).reserved == 300
    await loyalty.spend("ips-1")
    assert await reserve(loyalty) == Reservation(SPENT, 300)


@pytest.mark.parametrize(
    ("points", "account", "merchant_id"),
    [(301, RICH, MERCHANT), (300, POOR, MERCHANT), (300, RICH, "222222")],
    ids=["points", "account", "merchant"],
)
async def test_a_reference_reused_for_another_reservation_is_no_answer(
    loyalty: HttpLoyalty, simulator: Simulator, points: int, account: str, merchant_id: str
) -> None:
    await reserve(loyalty)

    with pytest.raises(NoAnswer, match="409"):
        await reserve(loyalty, "ips-1", points, account, merchant_id=merchant_id)
    assert len(await simulator.ledger.loyalty.reservations()) == 1
    assert (await points_of(simulator, RICH)).reserved == 300


async def test_ips_ends_a_reservation_the_program_never_got(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    """After a crash IPS releases by its own reference: nothing was held, and the
    reservation that arrives late (delayed on the way) holds nothing either."""
    assert await loyalty.status("ips-1") is UNKNOWN
    assert await loyalty.spend("ips-1") is UNKNOWN

    assert await loyalty.release("ips-1") is UNKNOWN

    assert await reserve(loyalty) == Reservation(RELEASED, 0)
    assert await loyalty.status("ips-1") is UNKNOWN
    assert await points_of(simulator, RICH) == PointsAccount(RICH, 100_000, 0, blocked=False)


async def test_two_reservations_racing_for_one_balance_take_it_once(
    simulator: Simulator,
) -> None:
    """Concurrent requests, each on a connection of its own, for 40 of the poor account's 50
    points: one is held, the others are refused."""
    clients = [HttpLoyalty(simulator.http_url, timeout=5.0) for _ in range(6)]
    try:
        answers = await asyncio.gather(
            *(reserve(client, f"ips-{n}", 40, POOR) for n, client in enumerate(clients))
        )
    finally:
        for client in clients:
            await client.close()

    assert sorted(a.status.value for a in answers) == ["refused"] * 5 + ["reserved"]
    assert {a.reason for a in answers if a.status is REFUSED} == {RefusalReason.INSUFFICIENT_POINTS}
    assert await points_of(simulator, POOR) == PointsAccount(POOR, 50, 40, blocked=False)


async def test_two_simulators_on_one_store_reserve_a_balance_once(tmp_path: Path) -> None:
    """Two servers on one store, as two processes of the bank would run: the store, not a
    lock of one process, keeps the balance."""
    store = tmp_path / "shared.sqlite3"
    async with Simulator(store) as one, Simulator(store) as two:
        clients = [HttpLoyalty(s.http_url, timeout=10.0) for s in (one, two) * 4]
        try:
            answers = await asyncio.gather(
                *(reserve(client, f"ips-{n}", 30, POOR) for n, client in enumerate(clients))
            )
        finally:
            for client in clients:
                await client.close()

        assert [a.status for a in answers].count(RESERVED) == 1
        assert await one.ledger.loyalty.account(POOR) == PointsAccount(POOR, 50, 30, blocked=False)


async def test_give_backs_return_at_most_what_was_spent(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    await reserve(loyalty, points=100)
    await loyalty.spend("ips-1")

    assert await loyalty.give_back("ips-1", 30, "gb-1") is True
    assert await loyalty.give_back("ips-1", 71, "gb-2") is False
    assert await loyalty.give_back("ips-1", 30, "gb-1") is True
    assert await loyalty.give_back("ips-1", 70, "gb-3") is True
    assert await loyalty.give_back("ips-1", 1, "gb-4") is False

    given = await simulator.ledger.loyalty.give_backs()
    assert [(g.reference, g.points) for g in given] == [("gb-1", 30), ("gb-3", 70)]
    assert await points_of(simulator, RICH) == PointsAccount(RICH, 100_000, 0, blocked=False)
    assert await loyalty.status("ips-1") is SPENT


async def test_a_repeated_give_back_gives_nothing_more_even_with_other_points(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    await reserve(loyalty, points=100)
    await loyalty.spend("ips-1")

    results = await asyncio.gather(
        *(loyalty.give_back("ips-1", 10, "same") for _ in range(5)),
        loyalty.give_back("ips-1", 50, "same"),
    )

    assert results == [True] * 6
    assert [g.points for g in await simulator.ledger.loyalty.give_backs()] == [10]
    assert (await points_of(simulator, RICH)).balance == 99_910


async def test_only_spent_points_are_given_back(loyalty: HttpLoyalty, simulator: Simulator) -> None:
    await reserve(loyalty, "held")
    await reserve(loyalty, "freed")
    await loyalty.release("freed")
    await reserve(loyalty, "refused", account=BLOCKED)

    for reference in ("held", "freed", "refused", "never"):
        assert await loyalty.give_back(reference, 1, f"gb-{reference}") is False
    assert await simulator.ledger.loyalty.give_backs() == []


async def test_a_give_back_reference_of_another_reservation_is_no_answer(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    for reference in ("ips-1", "ips-2"):
        await reserve(loyalty, reference)
        await loyalty.spend(reference)
    await loyalty.give_back("ips-1", 10, "gb-1")

    with pytest.raises(NoAnswer, match="409"):
        await loyalty.give_back("ips-2", 10, "gb-1")
    assert len(await simulator.ledger.loyalty.give_backs()) == 1


async def test_points_accrued_and_reversed_once(loyalty: HttpLoyalty, simulator: Simulator) -> None:
    assert await loyalty.accrue("acc-1", POOR, 25, MERCHANT) is True
    assert await loyalty.accrue("acc-1", POOR, 25, MERCHANT) is True
    assert (await points_of(simulator, POOR)).balance == 75

    assert await loyalty.reverse_accrual("acc-1") == AccrualReversal(True, 25)
    assert await loyalty.reverse_accrual("acc-1") == AccrualReversal(True, 25)
    assert (await points_of(simulator, POOR)).balance == 50
    with pytest.raises(NoAnswer, match="409"):
        await loyalty.accrue("acc-1", RICH, 25, MERCHANT)


async def test_no_points_accrue_to_an_unknown_or_blocked_account(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    assert await loyalty.accrue("acc-1", "7000000009", 25, MERCHANT) is False
    assert await loyalty.accrue("acc-2", BLOCKED, 25, MERCHANT) is False
    assert await simulator.ledger.loyalty.accruals() == []


async def test_a_reversal_takes_back_what_the_buyer_has_not_spent(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    await loyalty.accrue("acc-1", POOR, 25, MERCHANT)
    await reserve(loyalty, "ips-1", 60, POOR)
    await loyalty.spend("ips-1")

    assert await loyalty.reverse_accrual("acc-1") == AccrualReversal(True, 15)
    assert await points_of(simulator, POOR) == PointsAccount(POOR, 0, 0, blocked=False)


async def test_ips_ends_an_accrual_the_program_never_got(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    assert await loyalty.reverse_accrual("acc-1") == AccrualReversal(False, 0)

    assert await loyalty.accrue("acc-1", POOR, 25, MERCHANT) is False
    assert (await points_of(simulator, POOR)).balance == 50


async def test_a_report_is_compared_with_the_program_s_books(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    await reserve(loyalty, "ips-1", 300)
    await loyalty.spend("ips-1")
    await loyalty.give_back("ips-1", 100, "gb-1")
    await loyalty.accrue("acc-1", POOR, 25, MERCHANT)
    await loyalty.reverse_accrual("acc-1")
    await reserve(loyalty, "held", 10)
    agreeing = [
        ReportLine("ips-1", PointsOperation.SPEND, 300),
        ReportLine("gb-1", PointsOperation.GIVE_BACK, 100),
        ReportLine("acc-1", PointsOperation.ACCRUAL, 25),
        ReportLine("acc-1", PointsOperation.ACCRUAL_REVERSAL, 25),
    ]

    assert await loyalty.report(DAY, MERCHANT, agreeing) == []
    disagreeing = [*agreeing[1:3], ReportLine("held", PointsOperation.SPEND, 10)]
    assert await loyalty.report(DAY, MERCHANT, disagreeing) == [
        Difference("held", PointsOperation.SPEND, 10, None),
        Difference("ips-1", PointsOperation.SPEND, None, 300),
        Difference("acc-1", PointsOperation.ACCRUAL_REVERSAL, None, 25),
    ]
    assert await loyalty.report(date(2025, 3, 7), MERCHANT, []) == []
    assert await loyalty.report(DAY, "222222", []) == []
    reports = await simulator.ledger.loyalty.reports()
    assert [(r.day, r.merchant_id, r.lines, r.differences) for r in reports] == [
        (DAY, MERCHANT, 4, 0),
        (DAY, MERCHANT, 3, 3),
        (date(2025, 3, 7), MERCHANT, 0, 0),
        (DAY, "222222", 0, 0),
    ]


async def test_a_report_naming_an_operation_twice_is_no_answer(loyalty: HttpLoyalty) -> None:
    line = ReportLine("ips-1", PointsOperation.SPEND, 300)

    with pytest.raises(NoAnswer, match="400"):
        await loyalty.report(DAY, MERCHANT, [line, line])


async def test_the_books_outlive_the_simulator(
    loyalty: HttpLoyalty, simulator: Simulator, tmp_path: Path
) -> None:
    await reserve(loyalty, "ips-1", 300)
    await loyalty.spend("ips-1")
    await reserve(loyalty, "ips-2", 20)
    await loyalty.accrue("acc-1", POOR, 25, MERCHANT)
    await simulator.stop()

    async with await Ledger.open(tmp_path / "bank.sqlite3") as books:
        assert await books.loyalty.account(RICH) == PointsAccount(RICH, 99_700, 20, blocked=False)
        assert (await books.loyalty.account(POOR)).balance == 75

    await simulator.start()
    assert await loyalty.status("ips-2") is RESERVED


# Bad requests: refused 400 with a JSON reason, nothing changed.


def reservation_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "reference": "ips-1",
        "account": RICH,
        "pin": "1111",
        "points": 300,
        "merchant_id": MERCHANT,
        "description": "Order 7",
    }
    return {key: value for key, value in (body | changes).items() if value is not None}


@pytest.mark.parametrize(
    "body",
    [
        reservation_body(reference=None),
        reservation_body(reference=""),
        reservation_body(reference="with space"),
        reservation_body(reference="x" * 65),
        reservation_body(account=None),
        reservation_body(account=7000000001),
        reservation_body(pin=None),
        reservation_body(pin=""),
        reservation_body(pin=1111),
        reservation_body(pin="11\n11"),
        reservation_body(points=0),
        reservation_body(points=-1),
        reservation_body(points=1.5),
        reservation_body(points="300"),
        reservation_body(points=True),
        reservation_body(points=10**12),
        reservation_body(merchant_id=None),
        reservation_body(merchant_id="x" * 16),
        reservation_body(description="x" * 513),
        reservation_body(description="two\nlines"),
    ],
)
async def test_bad_reservations_are_refused_with_a_reason(
    http: httpx.AsyncClient, simulator: Simulator, body: dict[str, object]
) -> None:
    answer = await http.post("/loyalty/reservations", json=body)

    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}
    assert await simulator.ledger.loyalty.reservations() == []
    assert (await points_of(simulator, RICH)).reserved == 0


@pytest.mark.parametrize(
    "body",
    [
        {"reference": "acc-1", "account": POOR, "points": 0, "merchant_id": MERCHANT},
        {"reference": "acc-1", "account": POOR, "points": 5},
        {"account": POOR, "points": 5, "merchant_id": MERCHANT},
        {"reference": "acc-1", "account": "", "points": 5, "merchant_id": MERCHANT},
        [],
    ],
)
async def test_bad_accruals_are_refused_with_a_reason(
    http: httpx.AsyncClient, simulator: Simulator, body: object
) -> None:
    answer = await http.post("/loyalty/accruals", json=body)

    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}
    assert await simulator.ledger.loyalty.accruals() == []


@pytest.mark.parametrize(
    "body",
    [{"points": 0, "reference": "r"}, {"points": 1}, {"points": "1", "reference": "r"}],
)
async def test_bad_give_backs_are_refused_with_a_reason(
    loyalty: HttpLoyalty, http: httpx.AsyncClient, simulator: Simulator, body: object
) -> None:
    await reserve(loyalty)
    await loyalty.spend("ips-1")

    answer = await http.post("/loyalty/reservations/ips-1/give-backs", json=body)

    assert answer.status_code == 400
    assert "error" in answer.json()
    assert await simulator.ledger.loyalty.give_backs() == []


def report_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "day": "2025-03-06",
        "merchant_id": MERCHANT,
        "lines": [{"reference": "ips-1", "kind": "spend", "points": 300}],
    }
    return {key: value for key, value in (body | changes).items() if value is not None}


@pytest.mark.parametrize(
    "body",
    [
        report_body(day=None),
        report_body(day="06.03.2025"),
        report_body(day="2025-02-30"),
        report_body(day="2025-3-6"),
        report_body(day="9999-12-31"),
        report_body(day=20250306),
        report_body(merchant_id=None),
        report_body(lines=None),
        report_body(lines={"reference": "ips-1"}),
        report_body(lines=["ips-1"]),
        report_body(lines=[{"reference": "ips-1", "kind": "refund", "points": 1}]),
        report_body(lines=[{"reference": "ips-1", "kind": ["spend"], "points": 1}]),
        report_body(lines=[{"reference": "ips-1", "kind": "spend", "points": -1}]),
        report_body(lines=[{"reference": "", "kind": "spend", "points": 1}]),
        report_body(lines=[{"kind": "spend", "points": 1}]),
        report_body(lines=[{"reference": "r", "kind": "spend", "points": 1}] * 2),
        report_body(
            lines=[{"reference": f"r{n}", "kind": "spend", "points": 1} for n in range(10_001)]
        ),
    ],
)
async def test_bad_reports_are_refused_with_a_reason(
    http: httpx.AsyncClient, simulator: Simulator, body: dict[str, object]
) -> None:
    answer = await http.post("/loyalty/reports", json=body)

    assert answer.status_code in (400, 413)
    assert set(answer.json()) == {"error"}
    assert await simulator.ledger.loyalty.reports() == []


async def test_a_report_of_a_busy_day_is_taken(http: httpx.AsyncClient) -> None:
    lines = [{"reference": f"ips-{n:06d}", "kind": "spend", "points": 1} for n in range(5_000)]

    answer = await http.post("/loyalty/reports", json=report_body(lines=lines))

    assert answer.status_code == 200
    assert len(answer.json()["differences"]) == 5_000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/loyalty/rates/rub"),
        ("GET", "/loyalty/rates/RUBL"),
        ("GET", "/loyalty/reservations/with%20space"),
        ("POST", "/loyalty/reservations/with%20space/release"),
        ("POST", f"/loyalty/reservations/{'x' * 65}/spend"),
        ("POST", "/loyalty/accruals/%00/reverse"),
    ],
)
async def test_bad_paths_are_refused_with_a_reason(
    http: httpx.AsyncClient, simulator: Simulator, method: str, path: str
) -> None:
    answer = await http.request(method, path)

    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}
    assert await simulator.ledger.loyalty.reservations() == []


async def test_a_reference_is_one_segment_of_the_path(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    """IPS's references may hold what a URL would read otherwise: they reach the program
    whole."""
    reference = "12345.2?x=1#y%20"

    assert (await reserve(loyalty, reference)).status is RESERVED
    assert await loyalty.spend(reference) is SPENT
    assert await loyalty.give_back(reference, 1, "a/b?c") is True
    assert await loyalty.accrue(reference, POOR, 1, MERCHANT) is True
    assert await loyalty.reverse_accrual(reference) == AccrualReversal(True, 1)
    [kept] = await simulator.ledger.loyalty.reservations()
    assert kept.reference == reference
    [given] = await simulator.ledger.loyalty.give_backs()
    assert given.reference == "a/b?c"


async def test_a_reference_with_a_slash_is_refused(
    loyalty: HttpLoyalty, simulator: Simulator
) -> None:
    with pytest.raises(NoAnswer, match="400"):
        await reserve(loyalty, "12345/2")
    with pytest.raises(NoAnswer, match="400"):
        await loyalty.accrue("12345/2", POOR, 1, MERCHANT)
    with pytest.raises(NoAnswer):
        await loyalty.release("12345/2")
    assert await simulator.ledger.loyalty.reservations() == []
    assert await simulator.ledger.loyalty.accruals() == []


# The client's own failures: a program that is down, silent, or answers what cannot be read.


async def test_a_program_that_is_down_is_no_answer(tmp_path: Path) -> None:
    async with Simulator(tmp_path / "bank.sqlite3") as running:
        url = running.http_url
    client = HttpLoyalty(url, timeout=1.0)
    try:
        with pytest.raises(NoAnswer):
            await client.rate(currency("RUB"))
        with pytest.raises(NoAnswer):
            await reserve(client)
        with pytest.raises(NoAnswer):
            await client.release("ips-1")
        with pytest.raises(NoAnswer):
            await client.report(DAY, MERCHANT, [])
    finally:
        await client.close()


async def test_a_program_that_never_answers_is_no_answer() -> None:
    async with never_answering() as url:
        client = HttpLoyalty(url, timeout=0.2)
        try:
            with pytest.raises(NoAnswer, match="Timeout"):
                await client.status("ips-1")
        finally:
            await client.close()


def mocked(status: int, content: bytes) -> HttpLoyalty:
    transport = httpx.MockTransport(answering(status, content))
    return HttpLoyalty("http://points.test", timeout=1.0, transport=transport)


Call = Callable[[HttpLoyalty], Awaitable[object]]


async def no_answer_to(call: Call, status: int, content: bytes) -> None:
    client = mocked(status, content)
    try:
        with pytest.raises(NoAnswer):
            await call(client)
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (503, b'{"currency": "RUB", "minor_per_point": 100}'),
        (303, b""),
        (200, b"not json"),
        (200, b"[]"),
        (200, b"{}"),
        (200, b'{"currency": "USD", "minor_per_point": 100}'),
        (200, b'{"currency": "RUB", "minor_per_point": "100"}'),
        (200, b'{"currency": "RUB", "minor_per_point": 1.5}'),
        (200, b'{"currency": "RUB", "minor_per_point": true}'),
        (200, b'{"currency": "RUB", "minor_per_point": 0}'),
        (200, b'{"currency": "RUB", "minor_per_point": -100}'),
    ],
)
async def test_an_unreadable_rate_is_no_answer(status: int, content: bytes) -> None:
    await no_answer_to(lambda client: client.rate(currency("RUB")), status, content)


RESERVATIONS = [
    b'{"reference": "ips-1", "status": "held", "points": 300, "reason": null}',
    b'{"reference": "ips-1", "status": "reserved", "points": "300", "reason": null}',
    b'{"reference": "ips-1", "status": "reserved", "points": -1, "reason": null}',
    b'{"reference": "ips-1", "status": "reserved", "points": true, "reason": null}',
    b'{"reference": "ips-1", "status": "reserved", "reason": null}',
    b'{"reference": "ips-2", "status": "reserved", "points": 300, "reason": null}',
    b'{"status": "reserved", "points": 300, "reason": null}',
    b'{"reference": "ips-1", "status": "refused", "points": 300, "reason": null}',
    b'{"reference": "ips-1", "status": "refused", "points": 300, "reason": "rude"}',
    b'{"reference": "ips-1", "status": "refused", "points": 300, "reason": ["wrong_pin"]}',
    b'{"reference": "ips-1", "status": "reserved", "points": 300, "reason": "wrong_pin"}',
    b'{"reference": "ips-1", "status": ["reserved"], "points": 300}',
]


@pytest.mark.parametrize("content", RESERVATIONS)
@pytest.mark.parametrize("call", ["reserve", "status", "spend", "release"])
async def test_an_unreadable_reservation_is_no_answer(call: str, content: bytes) -> None:
    calls: dict[str, Call] = {
        "reserve": lambda client: reserve(client),
        "status": lambda client: client.status("ips-1"),
        "spend": lambda client: client.spend("ips-1"),
        "release": lambda client: client.release("ips-1"),
    }
    await no_answer_to(calls[call], 200, content)


async def test_a_reservation_answered_unknown_is_no_answer() -> None:
    content = b'{"reference": "ips-1", "status": "unknown", "points": 0, "reason": null}'
    await no_answer_to(lambda client: reserve(client), 200, content)


async def test_a_readable_refusal_is_read() -> None:
    client = mocked(
        200, b'{"reference": "ips-1", "status": "refused", "points": 3, "reason": "locked"}'
    )
    try:
        assert await reserve(client) == Reservation(REFUSED, 3, RefusalReason.LOCKED)
    finally:
        await client.close()


@pytest.mark.parametrize(
    "content", [b"{}", b'{"given_back": "yes"}', b'{"given_back": 1}', b'{"refunded": true}']
)
async def test_an_unreadable_give_back_is_no_answer(content: bytes) -> None:
    await no_answer_to(lambda client: client.give_back("ips-1", 1, "gb-1"), 200, content)


@pytest.mark.parametrize("content", [b"{}", b'{"accrued": "true"}', b'{"accrued": null}'])
async def test_an_unreadable_accrual_is_no_answer(content: bytes) -> None:
    await no_answer_to(lambda client: client.accrue("acc-1", POOR, 1, MERCHANT), 200, content)


@pytest.mark.parametrize(
    "content",
    [
        b"{}",
        b'{"reversed": true}',
        b'{"reversed": "true", "points": 1}',
        b'{"reversed": true, "points": -1}',
        b'{"reversed": true, "points": "1"}',
        b'{"reversed": false, "points": 5}',
    ],
)
async def test_an_unreadable_reversal_is_no_answer(content: bytes) -> None:
    await no_answer_to(lambda client: client.reverse_accrual("acc-1"), 200, content)


@pytest.mark.parametrize(
    "content",
    [
        b"{}",
        b'{"differences": {}}',
        b'{"differences": ["ips-1"]}',
        b'{"differences": [{"reference": "ips-1", "kind": "refund", "ips_points": 1,'
        b' "program_points": null}]}',
        b'{"differences": [{"reference": 1, "kind": "spend", "ips_points": 1,'
        b' "program_points": null}]}',
        b'{"differences": [{"reference": "ips-1", "kind": "spend", "ips_points": "1",'
        b' "program_points": null}]}',
        b'{"differences": [{"reference": "ips-1", "kind": "spend", "ips_points": 1,'
        b' "program_points": 1}]}',
        b'{"differences": [{"reference": "ips-1", "kind": "spend"}]}',
    ],
)
async def test_an_unreadable_report_answer_is_no_answer(content: bytes) -> None:
    await no_answer_to(lambda client: client.report(DAY, MERCHANT, []), 200, content)
