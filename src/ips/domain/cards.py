"""Bank cards: the number (PAN), its brand, expiry and the CVC.

``Pan`` and ``Secret`` keep their values out of logs and tracebacks: their ``repr`` and
``str`` never show the clear value. Read it with ``.reveal()``, only where it has to go out
(the authorization message, the encryption of the stored PAN).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date

from ips.domain.errors import InvalidCard
from ips.domain.text import is_digits
from paywire.luhn import luhn_valid


class Brand(enum.Enum):
    VISA = "VISA"
    MASTERCARD = "MasterCard"
    MIR = "Mir"
    MAESTRO = "Maestro"
    AMEX = "American Express"
    JCB = "JCB"
    UNIONPAY = "UnionPay"
    UNKNOWN = "Card"


# (range of the first `width` digits, width, brand); checked in order, so narrower ranges first.
_BIN_RANGES: list[tuple[range, int, Brand]] = [
    (range(2200, 2205), 4, Brand.MIR),
    (range(2221, 2721), 4, Brand.MASTERCARD),
    (range(51, 56), 2, Brand.MASTERCARD),
    (range(3528, 3590), 4, Brand.JCB),
    (range(34, 35), 2, Brand.AMEX),
    (range(37, 38), 2, Brand.AMEX),
    (range(62, 63), 2, Brand.UNIONPAY),
    (range(50, 51), 2, Brand.MAESTRO),
    (range(56, 60), 2, Brand.MAESTRO),
    (range(63, 70), 2, Brand.MAESTRO),
    (range(4, 5), 1, Brand.VISA),
]


def brand_of(digits: str) -> Brand:
    """The brand of a card number (or of its first digits), by BIN range."""
    for numbers, width, brand in _BIN_RANGES:
        if len(digits) >= width and int(digits[:width]) in numbers:
            return brand
    return Brand.UNKNOWN


@dataclass(frozen=True)
class Pan:
    """A card number that has passed the Luhn check. Masked wherever it is printed."""

    _digits: str = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> Pan:
        digits = re.sub(r"[\s-]", "", text)
        if not is_digits(digits) or not 12 <= len(digits) <= 19:
            raise InvalidCard("a card number has 12 to 19 digits", field="card_number")
        if not luhn_valid(digits):
            raise InvalidCard("the card number is mistyped", field="card_number")
        return cls(digits)

    def reveal(self) -> str:
        return self._digits

    @property
    def masked(self) -> str:
        """First six and last four digits, as Assist shows them: ``411111****1111``; only the
        last four of a number shorter than 15 digits, where ten would say too much."""
        head = self._digits[:6] if len(self._digits) >= 15 else ""
        return f"{head}****{self._digits[-4:]}"

    @property
    def brand(self) -> Brand:
        return brand_of(self._digits)

    def __repr__(self) -> str:
        return f"Pan({self.masked})"

    __str__ = __repr__


@dataclass(frozen=True)
class Secret:
    """A value that must never be printed (the CVC). Never stored either."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class Expiry:
    month: int
    year: int

    @classmethod
    def parse(cls, month: str, year: str) -> Expiry:
        if not (is_digits(month.strip()) and is_digits(year.strip())):
            raise InvalidCard("the expiry date is month and year in digits", field="expiry")
        m, y = int(month), int(year)
        if y < 100:
            y += 2000
        if not 1 <= m <= 12 or not 2000 <= y <= 2099:
            raise InvalidCard("the expiry date is not a valid month", field="expiry")
        return cls(m, y)

    def is_expired(self, today: date) -> bool:
        """A card is valid through the last day of its expiry month."""
        return today >= self.ends

    @property
    def ends(self) -> date:
        """The first day the card is no longer valid: the one after its expiry month."""
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    @property
    def yymm(self) -> str:
        return f"{self.year % 100:02d}{self.month:02d}"

    def __str__(self) -> str:
        return f"{self.month:02d}/{self.year}"


@dataclass(frozen=True)
class Card:
    """What the buyer typed into the card form, checked — or a stored card (no CVC) that
    the merchant charges for a recurring payment."""

    pan: Pan
    expiry: Expiry
    cvc: Secret | None
    holder: str

    @classmethod
    def parse(
        cls, *, number: str, month: str, year: str, cvc: str, holder: str, today: date
    ) -> Card:
        pan = Pan.parse(number)
        expiry = Expiry.parse(month, year)
        if expiry.is_expired(today):
            raise InvalidCard("the card has expired", field="expiry")
        if not re.fullmatch(r"[0-9]{3,4}", cvc.strip()):
            raise InvalidCard("the CVC is the 3 or 4 digits on the back of the card", field="cvc")
        holder = " ".join(holder.split()).upper()
        if len(holder) > 26 or not re.fullmatch(r"[A-Z .'\-]*", holder):
            raise InvalidCard(
                "the cardholder's name is up to 26 Latin letters, as on the card",
                field="cardholder",
            )
        return cls(pan, expiry, Secret(cvc.strip()), holder)
