from __future__ import annotations

import pytest

from ips.domain.errors import InvalidAmount, UnknownCurrency
from ips.domain.money import Money, currency, currency_by_numeric

RUB, JPY, BHD = currency("RUB"), currency("jpy"), currency("BHD")


@pytest.mark.parametrize(
    ("text", "cur", "minor"),
    [
        ("100", RUB, 10000),
        ("100.0", RUB, 10000),
        ("100.00", RUB, 10000),
        ("0.01", RUB, 1),
        ("1.230", RUB, 123),
        (" 7.5 ", RUB, 750),
        ("100", JPY, 100),
        ("1.234", BHD, 1234),
        ("999999999999999", RUB, 99999999999999900),
        ("0000012.5", RUB, 1250),
    ],
)
def test_parse_reads_exact_minor_units(text: str, cur: object, minor: int) -> None:
    assert isinstance(cur, type(RUB))
    assert Money.parse(text, cur).minor == minor


@pytest.mark.parametrize(
    ("text", "cur", "reason"),
    [
        ("abc", RUB, "decimal"),
        ("-5", RUB, "decimal"),
        ("1,50", RUB, "decimal"),
        ("1e3", RUB, "decimal"),
        ("", RUB, "decimal"),
        ("1.234", RUB, "decimals"),
        ("1.5", JPY, "decimals"),
        ("1234567890123456", RUB, "15 digits"),
        ("12345678901234.56", RUB, "15 digits"),
        ("0", RUB, "greater than zero"),
        ("0.00", RUB, "greater than zero"),
        ("NaN", RUB, "decimal"),
        ("١٠٠", RUB, "decimal"),
        ("1²", RUB, "decimal"),
    ],
)
def test_parse_refuses_what_is_not_an_exact_amount(text: str, cur: object, reason: str) -> None:
    assert isinstance(cur, type(RUB))
    with pytest.raises(InvalidAmount, match=reason):
        Money.parse(text, cur)


def test_format_writes_the_currency_exponent() -> None:
    assert Money(10000, RUB).format() == "100.00"
    assert Money(5, RUB).format() == "0.05"
    assert Money(100, JPY).format() == "100"
    assert Money(1000, BHD).format() == "1.000"
    assert str(Money(1, RUB)) == "0.01 RUB"


def test_arithmetic_stays_in_one_currency() -> None:
    assert Money(150, RUB) - Money(50, RUB) == Money(100, RUB)
    assert Money(150, RUB) + Money(50, RUB) == Money(200, RUB)
    with pytest.raises(ValueError, match="cannot mix"):
        Money(1, RUB) + Money(1, JPY)
    with pytest.raises(ValueError, match="negative"):
        Money(1, RUB) - Money(2, RUB)


def test_currencies_by_code_and_numeric() -> None:
    assert currency_by_numeric("643") is RUB
    assert currency("RUR") is RUB and currency(" rur ") is RUB  # the ruble's old code
    assert currency("usd").numeric == "840"
    with pytest.raises(UnknownCurrency):
        currency("XXX")
    with pytest.raises(UnknownCurrency):
        currency_by_numeric("000")
