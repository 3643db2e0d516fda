"""The Luhn check digit of card numbers (ISO/IEC 7812), which every card number passes."""

from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    """Whether ``digits`` (ASCII digits only) end with a right check digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
