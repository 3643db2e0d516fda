"""Card ranges of a 3-D Secure directory: which numbers a range holds, and the client's cache
of them (loaded once, again after ``refresh``, nothing trusted after a failed load)."""

from __future__ import annotations

import asyncio

import pytest

from ips.config import Settings
from ips.processing.card_ranges import RETRY_AFTER, CardRange, CardRanges, Published, RangeCache
from ips.processing.port import NoAnswer
from tests.fakes import Monotonic


class Directory:
    """A loader that answers what it is set to, and remembers the serials it was sent."""

    def __init__(self, *ranges: CardRange, serial: str = "1") -> None:
        self.published = Published(serial, CardRanges(ranges))
        self.asked: list[str | None] = []
        self.down = False
        self.gate: asyncio.Event | None = None

    def publish(self, *ranges: CardRange, serial: str) -> None:
        self.published = Published(serial, CardRanges(ranges))

    async def __call__(self, serial: str | None) -> Published:
        self.asked.append(serial)
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise NoAnswer("the directory is down")
        if serial == self.published.serial:
            return Published(serial, None)
        return self.published


THREEDS = CardRange("4000000000003000", "4000000000003999")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("4000000000003999", "4000000000003000"),
        ("400000000000300", "4000000000003999"),
        ("40000000000", "40000000009"),
        ("4" * 20, "4" * 20),
        ("40000000000030a0", "4000000000003999"),
        ("４０００００００００００３０００", "４０００００００００００３９９９"),
        ("", ""),
    ],
)
def test_a_range_is_two_card_numbers_of_one_length_in_order(start: str, end: str) -> None:
    with pytest.raises(ValueError, match="a card range"):
        CardRange(start, end)


@pytest.mark.parametrize(
    ("pan", "inside"),
    [
        ("4000000000003000", True),
        ("4000000000003220", True),
        ("4000000000003999", True),
        ("4000000000002999", False),
        ("4000000000004000", False),
        ("400000000000322", False),
        ("4000000000003220000", False),
        ("5555555555554444", True),
        ("5555555555554443", False),
        ("2200000000000004", False),
        ("6200000000000000", True),
        ("6299999999999999", True),
        ("6300000000000000", False),
        ("4111111111111", True),
    ],
)
def test_a_card_is_inside_a_range_of_its_own_length(pan: str, inside: bool) -> None:
    ranges = CardRanges(
        [
            THREEDS,
            CardRange("5555555555554444", "5555555555554444"),
            CardRange("6200000000000000", "6250000000000000"),
            CardRange("6240000000000000", "6299999999999999"),
            CardRange("6210000000000000", "6220000000000000"),
            CardRange("4111111111111", "4111111111111"),
        ]
    )

    assert ranges.covers(pan) is inside
    assert any(r.covers(pan) for r in ranges) is inside


def test_no_ranges_hold_no_card() -> None:
    assert not CardRanges([]).covers("4000000000003220")


async def test_the_ranges_are_loaded_once_and_trusted_until_the_refresh() -> None:
    clock, directory = Monotonic(), Directory(THREEDS)
    cache = RangeCache(directory, 300, clock=clock)

    first = await cache.ranges()
    clock.advance(299)
    again = await cache.ranges()

    assert first is not None and first.covers("4000000000003220")
    assert again is first
    assert directory.asked == [None]


async def test_unchanged_ranges_are_kept_and_changed_ones_replace_them() -> None:
    clock, directory = Monotonic(), Directory(THREEDS, serial="a")
    cache = RangeCache(directory, 300, clock=clock)
    first = await cache.ranges()

    clock.advance(300)
    unchanged = await cache.ranges()
    directory.publish(CardRange("5555555555554444", "5555555555554444"), serial="b")
    clock.advance(300)
    changed = await cache.ranges()

    assert unchanged is first
    assert changed is not None
    assert not changed.covers("4000000000003220")
    assert changed.covers("5555555555554444")
    assert directory.asked == [None, "a", "a"]


async def test_a_failed_load_trusts_no_ranges_and_is_tried_again_later() -> None:
    clock, directory = Monotonic(), Directory(THREEDS, serial="a")
    cache = RangeCache(directory, 300, clock=clock)
    assert await cache.ranges() is not None

    directory.down = True
    clock.advance(300)
    assert await cache.ranges() is None
    clock.advance(RETRY_AFTER - 1)
    assert await cache.ranges() is None
    assert directory.asked == [None, "a"]

    directory.down = False
    clock.advance(1)
    back = await cache.ranges()

    assert back is not None and back.covers("4000000000003220")
    assert directory.asked == [None, "a", None]


async def test_a_directory_down_at_start_is_tried_again_after_the_retry() -> None:
    clock, directory = Monotonic(), Directory(THREEDS)
    directory.down = True
    cache = RangeCache(directory, 300, clock=clock)

    assert await cache.ranges() is None
    directory.down = False
    assert await cache.ranges() is None
    clock.advance(RETRY_AFTER)

    assert await cache.ranges() is not None
    assert directory.asked == [None, None]


async def test_unchanged_without_ranges_held_is_no_answer() -> None:
    clock = Monotonic()

    async def unchanged(serial: str | None) -> Published:
        return Published("a", None)

    cache = RangeCache(unchanged, 300, clock=clock)

    assert await cache.ranges() is None


async def test_an_unchanged_answer_for_another_serial_drops_the_ranges() -> None:
    clock, served = Monotonic(), [Published("a", CardRanges([THREEDS])), Published("b", None)]

    async def load(serial: str | None) -> Published:
        return served.pop(0)

    cache = RangeCache(load, 300, clock=clock)
    assert await cache.ranges() is not None
    clock.advance(300)

    assert await cache.ranges() is None


async def test_payments_arriving_during_a_load_share_it() -> None:
    clock, directory = Monotonic(), Directory(THREEDS)
    directory.gate = asyncio.Event()
    cache = RangeCache(directory, 300, clock=clock)

    waiting = [asyncio.create_task(cache.ranges()) for _ in range(5)]
    await asyncio.sleep(0)
    directory.gate.set()
    found = await asyncio.gather(*waiting)

    assert directory.asked == [None]
    assert all(ranges is found[0] and ranges is not None for ranges in found)


async def test_a_caller_cancelled_during_the_load_leaves_it_to_the_next() -> None:
    clock, directory = Monotonic(), Directory(THREEDS)
    directory.gate = asyncio.Event()
    cache = RangeCache(directory, 300, clock=clock)
    first = asyncio.create_task(cache.ranges())
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    directory.gate.set()

    assert await cache.ranges() is not None
    assert directory.asked == [None, None]


async def test_refresh_zero_never_loads() -> None:
    directory = Directory(THREEDS)
    cache = RangeCache(directory, 0, clock=Monotonic())

    assert await cache.ranges() is None
    assert directory.asked == []


def test_the_refresh_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().threeds_ranges_refresh == 300
    monkeypatch.setenv("IPS_THREEDS_RANGES_REFRESH", "0")
    assert Settings().threeds_ranges_refresh == 0
    monkeypatch.setenv("IPS_THREEDS_RANGES_REFRESH", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings()
