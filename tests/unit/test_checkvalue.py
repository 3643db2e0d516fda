"""The test vectors of ASSIST-API.md and of the client study (docs/research, §9)."""

from __future__ import annotations

import pytest

from ips.domain.checkvalue import answer_checkvalue, checkvalue, matches
from ips.domain.signed_fields import payment_request_checkvalue


def test_payment_request_vector_without_currency() -> None:
    fields = {"merchant_id": "111111", "ordernumber": "100", "orderamount": "100.0"}
    assert payment_request_checkvalue("secret", fields) == "DBE8D1AB4F19A27D161999DC53293881"


def test_payment_request_takes_the_fields_in_protocol_order() -> None:
    ordered = {"merchant_id": "1", "ordernumber": "2", "orderamount": "3", "ordercurrency": "RUB"}
    shuffled = dict(reversed(list(ordered.items())))
    assert payment_request_checkvalue("s", ordered) == payment_request_checkvalue("s", shuffled)
    assert payment_request_checkvalue("s", ordered) != payment_request_checkvalue(
        "s", {**ordered, "ordercurrency": "USD"}
    )


def test_answer_vector() -> None:
    value = answer_checkvalue("secret", "111111", "ok", "4.00", "RUB", "Canceled")
    assert value == "74DEB154081757F1E8097DDFAC35FC5C"


def test_matches_ignores_case_and_spaces_only() -> None:
    assert matches("74DEB154081757F1E8097DDFAC35FC5C", " 74deb154081757f1e8097ddfac35fc5c ")
    assert not matches("74DEB154081757F1E8097DDFAC35FC5C", "74DEB154081757F1E8097DDFAC35FC5D")
    assert not matches("74DEB154081757F1E8097DDFAC35FC5C", "²" * 32)


@pytest.mark.parametrize(
    ("x", "value"),
    [
        ("111111;100;100.0", "DBE8D1AB4F19A27D161999DC53293881"),
        ("111111100100.0", "581FEBB07B941C41CEF377CBB52E46EC"),
        ("111111;100;100.00;RUB", "21B462C919BF7F39829939E9B088CB81"),
        ("111111100100.00RUB", "252275D8A2C6808B84C937A6638C9C1D"),
        ("111111ok4.00RUBCanceled", "74DEB154081757F1E8097DDFAC35FC5C"),
    ],
)
def test_vectors(x: str, value: str) -> None:
    assert checkvalue("secret", x) == value
