"""Card ranges of a 3-D Secure directory, and a client's cache of them.

A directory server publishes the ranges of card numbers that take part in 3-D Secure (EMV
3-D Secure's PReq/PRes "card range data"), with a serial that changes whenever the ranges
do. A 3-D Secure server keeps them and asks the ACS to enroll only a card inside one; a card
outside every range is not enrolled, known without a call.

A range is two card numbers of the same length, 12 to 19 ASCII digits, ``start <= end``; a
card is inside it when its number has that length and lies between the two, both included.

``RangeCache`` keeps the last ranges its loader read: it loads them when first asked, and
again when asked ``refresh`` seconds after the last load (lazily: no task runs in the
background; payments arriving meanwhile wait for the one load under way). A load that fails
leaves no ranges at all — ``None``: the caller must then ask about every card, so that no
enrolled card skips 3-D Secure — and is tried again when asked ``RETRY_AFTER`` seconds later
(at most ``refresh``). A range the directory stops publishing is not trusted after the next
load. Range bounds are card numbers: they are never logged, only how many there are.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from ips.domain.text import is_digits
from ips.processing.port import NoAnswer

log = logging.getLogger(__name__)

RETRY_AFTER = 30.0
"""Seconds after a failed load before the next is tried."""


@dataclass(frozen=True, order=True)
class CardRange:
    start: str
    end: str

    def __post_init__(self) -> None:
        if not (
            is_digits(self.start)
            and is_digits(self.end)
            and 12 <= len(self.start) <= 19
            and len(self.start) == len(self.end)
        ):
            raise ValueError("a card range is two card numbers of 12 to 19 digits, equally long")
        if self.start > self.end:
            raise ValueError("a card range starts before it ends")

    def covers(self, pan: str) -> bool:
        return len(pan) == len(self.start) and self.start <= pan <= self.end


class CardRanges:
    """Ranges, looked up by bisection: overlapping ones are merged, by card number length."""

    def __init__(self, ranges: Iterable[CardRange]) -> None:
        self._ranges = tuple(sorted(set(ranges)))
        merged: dict[int, list[CardRange]] = {}
        for found in self._ranges:
            kept = merged.setdefault(len(found.start), [])
            if kept and found.start <= kept[-1].end:
                kept[-1] = CardRange(kept[-1].start, max(kept[-1].end, found.end))
            else:
                kept.append(found)
        self._starts = {n: [r.start for r in kept] for n, kept in merged.items()}
        self._ends = {n: [r.end for r in kept] for n, kept in merged.items()}

    def covers(self, pan: str) -> bool:
        """Whether the card is inside a range."""
        starts = self._starts.get(len(pan))
        if starts is None:
            return False
        at = bisect.bisect_right(starts, pan) - 1
        return at >= 0 and pan <= self._ends[len(pan)][at]

    def __iter__(self) -> Iterator[CardRange]:
        return iter(self._ranges)

    def __len__(self) -> int:
        return len(self._ranges)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CardRanges) and self._ranges == other._ranges

    def __hash__(self) -> int:
        return hash(self._ranges)


@dataclass(frozen=True)
class Published:
    """What a directory answered: its serial, and its ranges — ``None`` when they are
    unchanged since the serial the client sent."""

    serial: str
    ranges: CardRanges | None


Loader = Callable[[str | None], Awaitable[Published]]
"""Reads the directory's ranges, sending the serial of those the client holds (``None``:
none); raises ``NoAnswer`` when they cannot be read."""


class RangeCache:
    """The directory's ranges as last loaded; ``refresh`` 0 never loads (``None`` always)."""

    def __init__(
        self,
        load: Loader,
        refresh: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._refresh = refresh
        self._retry = min(refresh, RETRY_AFTER)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._published: Published | None = None
        self._due = -math.inf

    async def ranges(self) -> CardRanges | None:
        """The ranges to trust now, loaded first when due; ``None``: unknown, ask every card."""
        if self._refresh <= 0:
            return None
        if self._clock() >= self._due:
            async with self._lock:
                if self._clock() >= self._due:
                    await self._reload()
        return None if self._published is None else self._published.ranges

    async def _reload(self) -> None:
        held = self._published
        try:
            found = await self._load(None if held is None else held.serial)
        except NoAnswer as exc:
            self._published, self._due = None, self._clock() + self._retry
            log.warning(
                "3-D Secure card ranges cannot be loaded (%s): every card is asked about", exc
            )
            return
        if found.ranges is None:
            if held is None or found.serial != held.serial:
                self._published, self._due = None, self._clock() + self._retry
                log.warning("3-D Secure card ranges came without ranges: every card is asked about")
                return
        else:
            self._published = found
            if held is None or found.serial != held.serial:
                log.info("3-D Secure card ranges: %d, serial %s", len(found.ranges), found.serial)
        self._due = self._clock() + self._refresh
