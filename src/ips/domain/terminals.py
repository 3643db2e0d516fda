"""Terminals: the ids (ISO 8583 field 41) the nodes of IPS sign on as, leased from a pool.

Each running node holds a lease on one terminal id, renewed while it lives; a lease not
renewed in time ends, and another node may take the id over. A node asks for the id it was
given (``IPS_TERMINAL_ID``); when another node holds that one, it takes the first free id of
the pool, and when the pool has none free and the operator did not fix it, the pool grows by
the next id of the same form (``IPS00001`` → ``IPS00002``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

MAX_LENGTH = 8
"""Field 41 holds eight characters."""


@dataclass(frozen=True)
class Lease:
    terminal_id: str
    owner: str | None = None
    """Who holds it: the node's name for itself; ``None`` when nobody ever did, or released."""
    until: datetime | None = None

    def held_at(self, now: datetime) -> bool:
        return self.owner is not None and self.until is not None and self.until > now


def valid_terminal_id(text: str) -> bool:
    """Whether ``text`` may be a terminal id: 1 to ``MAX_LENGTH`` printable ASCII characters."""
    return 0 < len(text) <= MAX_LENGTH and text.isascii() and text.isprintable()


def next_terminal_id(like: str, taken: Iterable[str]) -> str:
    """The id after the highest of ``taken`` that has the form of ``like`` (its letters, then
    as many digits): ``IPS00001`` and ``IPS00004`` taken → ``IPS00005``."""
    match = re.fullmatch(r"(.*?)(\d*)", like)
    assert match is not None
    prefix, digits = match.group(1), match.group(2)
    width = max(len(digits), 1)
    same_form = re.compile(re.escape(prefix) + rf"(\d{{{width}}})")
    numbers = [int(m.group(1)) for t in taken if (m := same_form.fullmatch(t))]
    following = str(max(numbers, default=int(digits or 0)) + 1).zfill(width)
    if len(prefix + following) > MAX_LENGTH:
        raise ValueError(f"no terminal id follows {like!r} in {MAX_LENGTH} characters")
    return prefix + following
