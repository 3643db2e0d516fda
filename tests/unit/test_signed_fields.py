"""What a payment request's checkvalue binds: each value to its field, or the request is
refused (``domain/signed_fields.py``)."""

from __future__ import annotations

import pytest

from ips.domain.errors import AuthenticationFailed, InvalidInput
from ips.domain.money import Money, currency
from ips.domain.signed_fields import (
    Ambiguous,
    check_formats,
    payment_request_checkvalue,
    verify,
)

RUB, USD = currency("RUB"), currency("USD")
SHOP = {"merchant_id": "111111", "ordernumber": "CV-1", "orderamount": "15.00"}


def signed_by_shop(values: dict[str, str], separator: str = ";") -> str:
    return payment_request_checkvalue("secret", values, separator)


def test_a_checkvalue_proves_the_fields_it_was_made_over() -> None:
    values = SHOP | {"ordercurrency": "USD"}
    terms = verify(values, signed_by_shop(values), ["secret"], RUB)
    assert (terms.ordernumber, terms.amount, terms.disable_3ds) == ("CV-1", Money(1500, USD), False)


def test_a_currency_moved_into_the_points_is_refused_by_their_format() -> None:
    """The first replay of the issue: the shop signs ``111111;CV-1;15.00;USD``; the buyer
    drops OrderCurrency and sends ``OrderMaxPoints=USD``, for 15.00 in the default currency."""
    with pytest.raises(InvalidInput, match="OrderMaxPoints"):
        check_formats(SHOP | {"ordermaxpoints": "USD"})


def test_a_currency_moved_into_a_field_of_any_text_is_refused() -> None:
    checkvalue = signed_by_shop(SHOP | {"ordercurrency": "USD"})
    replayed = SHOP | {"customernumber": "USD"}
    check_formats(replayed)
    with pytest.raises(Ambiguous, match="OrderCurrency=USD"):
        verify(replayed, checkvalue, ["secret"], RUB)


def test_a_currency_in_the_shops_default_may_sit_anywhere_it_means_the_same() -> None:
    values = SHOP | {"customernumber": "RUB"}
    assert verify(values, signed_by_shop(values), ["secret"], RUB).amount == Money(1500, RUB)


def test_values_moved_between_ordernumber_and_amount_without_separators_are_refused() -> None:
    """The second replay: ``111111``+``12``+``1500.00``+``RUB`` is also ``121``+``500.00``."""
    shop = {"merchant_id": "111111", "ordernumber": "12", "orderamount": "1500.00"}
    checkvalue = signed_by_shop(shop | {"ordercurrency": "RUB"}, separator="")
    replayed = {"merchant_id": "111111", "ordernumber": "121", "orderamount": "500.00"}
    with pytest.raises(AuthenticationFailed, match="without separators"):
        verify(replayed | {"ordercurrency": "RUB"}, checkvalue, ["secret"], RUB)


def test_the_form_without_separators_is_accepted_from_a_shop_that_opted_in() -> None:
    values = SHOP | {"ordercurrency": "RUB"}
    checkvalue = signed_by_shop(values, separator="")
    terms = verify(values, checkvalue, ["secret"], RUB, legacy_concat=True)
    assert terms.amount == Money(1500, RUB)


def test_a_signed_ordernumber_may_not_hold_the_separator() -> None:
    """Else ``111111;A;5;10`` is OrderNumber ``A;5`` and 10.00 — or OrderNumber ``A``, 5.00
    and OrderMaxPoints 10: two payments, one checkvalue."""
    values = {"merchant_id": "111111", "ordernumber": "A;5", "orderamount": "10"}
    with pytest.raises(InvalidInput, match="OrderNumber"):
        verify(values, signed_by_shop(values), ["secret"], RUB)


@pytest.mark.parametrize(
    ("extra", "skipped"),
    [
        ({"disable3ds": "1"}, False),  # …;RUB;1 is OrderMaxPoints, CustomerNumber or Prepayment too
        (
            {"disable3ds": "1", "prepayment": "1"},
            False,
        ),  # …;1;1 is OrderMaxPoints=1;CustomerNumber=1
        (
            {"ordermaxpoints": "5", "customernumber": "c-9", "disable3ds": "1", "prepayment": "0"},
            True,
        ),
    ],
)
def test_3ds_is_skipped_only_when_every_reading_says_so(
    extra: dict[str, str], skipped: bool
) -> None:
    values = SHOP | {"ordercurrency": "RUB"} | extra
    assert verify(values, signed_by_shop(values), ["secret"], RUB).disable_3ds is skipped


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ordermaxpoints", "USD"),
        ("ordermaxpoints", "1.5"),
        ("ordermaxpoints", "²"),
        ("ordercurrency", "XXX"),
        ("ordercurrency", "US"),
        ("customernumber", "a;b"),
        ("customernumber", "x" * 65),
        ("disable3ds", "yes"),
        ("prepayment", "2"),
        ("orderamount", "1e3"),
        ("orderamount", "-5"),
    ],
)
def test_each_field_is_read_to_its_own_format(field: str, value: str) -> None:
    with pytest.raises(InvalidInput):
        check_formats(SHOP | {field: value})


def test_optional_fields_may_be_sent_empty() -> None:
    values = SHOP | {"ordercurrency": "", "customernumber": "", "disable3ds": ""}
    check_formats(values)
    assert verify(values, signed_by_shop(values), ["secret"], USD).amount == Money(1500, USD)


def test_the_previous_secret_word_still_verifies() -> None:
    values = SHOP | {"ordercurrency": "RUB"}
    assert verify(values, signed_by_shop(values), ["new", "secret"], RUB)


def test_a_wrong_checkvalue_is_refused() -> None:
    with pytest.raises(AuthenticationFailed, match="does not match"):
        verify(SHOP, "0" * 32, ["secret"], RUB)


@pytest.mark.parametrize(
    ("extra", "customer"),
    [
        ({"ordermaxpoints": "5", "customernumber": "C-1", "disable3ds": "0"}, "C-1"),
        ({"customernumber": "C-1"}, "C-1"),  # …;RUB;C-1 reads as a customer number alone
        ({"customernumber": "7"}, ""),  # …;RUB;7 is OrderMaxPoints=7 too
    ],
)
def test_the_customer_is_proved_only_when_every_reading_names_it(
    extra: dict[str, str], customer: str
) -> None:
    values = SHOP | {"ordercurrency": "RUB"} | extra
    assert verify(values, signed_by_shop(values), ["secret"], RUB).customer_number == customer


def test_the_form_without_separators_proves_no_customer() -> None:
    values = SHOP | {"ordercurrency": "RUB", "customernumber": "C-1"}
    checkvalue = signed_by_shop(values, separator="")
    assert verify(values, checkvalue, ["secret"], RUB, legacy_concat=True).customer_number == ""
