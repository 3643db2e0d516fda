from __future__ import annotations

from datetime import date

import pytest

from ips.domain.cards import Brand, Card, Expiry, Pan, Secret, brand_of
from ips.domain.errors import InvalidCard
from paywire.luhn import luhn_valid

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("5555555555554444", True),
        ("2200000000000004", True),
        ("4000000000000119", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("79927398710", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", Brand.VISA),
        ("5555555555554444", Brand.MASTERCARD),
        ("2221000000000009", Brand.MASTERCARD),
        ("2200000000000004", Brand.MIR),
        ("2204999999999999", Brand.MIR),
        ("378282246310005", Brand.AMEX),
        ("3530111333300000", Brand.JCB),
        ("6200000000000005", Brand.UNIONPAY),
        ("6759649826438453", Brand.MAESTRO),
        ("9999999999999995", Brand.UNKNOWN),
    ],
)
def test_brand_by_bin(number: str, brand: Brand) -> None:
    assert brand_of(number) is brand


def test_pan_is_masked_wherever_it_is_printed() -> None:
    pan = Pan.parse("4111 1111-1111 1111")
    assert pan.masked == "411111****1111"
    assert "4111111111111111" not in repr(pan) + str(pan) + f"{pan}" + repr([pan])
    assert pan.reveal() == "4111111111111111"


def test_secret_never_prints() -> None:
    cvc = Secret("123")
    assert "123" not in repr(cvc) + str(cvc) + repr({"cvc": cvc})
    assert cvc.reveal() == "123"


def test_short_numbers_show_only_their_last_four() -> None:
    assert Pan.parse("500000000009").masked == "****0009"  # 12 digits
    assert Pan.parse("378282246310005").masked == "378282****0005"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("4111111111111112", "mistyped"),
        ("4111", "12 to 19"),
        ("4111x11111111111", "12 to 19"),
        ("٤١١١١١١١١١١١١١١١", "12 to 19"),  # Arabic-Indic digits: Luhn-valid, not ASCII
        ("411111111111111²", "12 to 19"),
    ],
)
def test_bad_numbers_are_refused(number: str, reason: str) -> None:
    with pytest.raises(InvalidCard, match=reason):
        Pan.parse(number)


def test_expiry_is_valid_through_its_last_month() -> None:
    assert not Expiry.parse("11", "26").is_expired(TODAY)
    assert Expiry.parse("10", "2026").is_expired(TODAY)
    assert Expiry.parse("1", "27").yymm == "2701"
    assert str(Expiry.parse("03", "2031")) == "03/2031"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"month": "10", "year": "2026"}, "expiry"),
        ({"month": "13"}, "expiry"),
        ({"year": "abc"}, "expiry"),
        ({"cvc": "12"}, "cvc"),
        ({"cvc": "12a"}, "cvc"),
        ({"cvc": "١٢٣"}, "cvc"),
        ({"month": "²"}, "expiry"),
        ({"holder": "Иван"}, "cardholder"),
        ({"holder": "A" * 27}, "cardholder"),
    ],
)
def test_card_parse_names_the_wrong_field(changes: dict[str, str], field: str) -> None:
    values = {"number": "4111111111111111", "month": "12", "year": "30", "cvc": "123",
              "holder": "ivan  petrov"} | changes  # fmt: skip
    with pytest.raises(InvalidCard) as caught:
        Card.parse(**values, today=TODAY)
    assert caught.value.field == field


def test_card_parse_normalises_the_holder() -> None:
    card = Card.parse(
        number="4111111111111111", month="12", year="30", cvc="123", holder=" ivan  petrov ",
        today=TODAY,
    )  # fmt: skip
    assert card.holder == "IVAN PETROV"
    assert "123" not in repr(card) and "4111111111111111" not in repr(card)
