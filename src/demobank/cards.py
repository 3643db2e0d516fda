"""The simulator's test cards (DESIGN.md, "Test cards of the simulator") and the issuer's rules.

Every card not listed here that passes the Luhn check behaves like 4111 1111 1111 1111.
4000 0000 0000 3220 takes part in 3-D Secure: the simulated ACS (``acs``) challenges it, and
its authorization is approved only with the CAVV of a passed challenge (else ``A3``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from demobank.money import Currency
from paywire.luhn import luhn_valid


class CardNumber(Protocol):
    """A card number kept out of logs (an acquirer's ``Pan``): its digits on ``reveal()``."""

    def reveal(self) -> str: ...


@dataclass(frozen=True)
class CardBehaviour:
    response: str = "00"
    """What the issuer answers before it looks at the money (field 39)."""
    opening_balance: int = 1_000_000
    """Whole units of any currency the card's account starts with."""
    answers: bool = True
    """False: the hold is recorded, but no answer is ever sent (a lost answer)."""
    three_d_secure: bool = False
    """True: the ACS challenges the card, and an authorization needs the CAVV it made."""


APPROVE = CardBehaviour()

TEST_CARDS: dict[str, CardBehaviour] = {
    "4111111111111111": APPROVE,
    "5555555555554444": APPROVE,
    "2200000000000004": APPROVE,
    "4000000000000002": CardBehaviour(response="05"),
    "4000000000009995": CardBehaviour(opening_balance=10),
    "4000000000000069": CardBehaviour(response="54"),
    "4000000000000127": CardBehaviour(response="82"),
    "4000000000000259": CardBehaviour(response="59"),
    "4000000000000119": CardBehaviour(answers=False),
    "4000000000003220": CardBehaviour(three_d_secure=True),
}


def behaviour(pan: str) -> CardBehaviour:
    return TEST_CARDS.get(pan, APPROVE)


def opening_balance(pan: str, currency: Currency) -> int:
    """The account's first balance in minor units of ``currency``."""
    return behaviour(pan).opening_balance * int(10**currency.exponent)


def issuer_decision(
    pan: str, expiry: str, cvc: str | None, today: date, *, stored_card: bool = False
) -> str:
    """The response code of the card checks: ``00`` when the money may be looked at.

    ``14`` for a mistyped number, ``54`` for an expiry (``YYMM``) that is past or not a month,
    ``N7`` for a missing or malformed CVC (none is asked for a card on file), else the card's
    own answer. (A card of 3-D Secure passes here: its CAVV is checked when it is held.)
    """
    if not luhn_valid(pan):
        return "14"
    year, month = 2000 + int(expiry[:2]), int(expiry[2:])
    if not 1 <= month <= 12 or (year, month) < (today.year, today.month):
        return "54"
    if not stored_card and (cvc is None or not re.fullmatch(r"[0-9]{3,4}", cvc)):
        return "N7"
    return behaviour(pan).response
