"""The test vectors of ASSIST-API.md."""

from __future__ import annotations

from ips.domain.checkvalue import answer_checkvalue, matches, payment_request_checkvalue


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
