"""Checks of text from outside. ``str.isdigit`` and ``\\d`` accept digits of every script
(``²``, ``٤``); the protocol and the card networks take ASCII digits only."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")


def is_digits(text: str) -> bool:
    return _DIGITS.fullmatch(text) is not None
