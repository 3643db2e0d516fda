"""A bank's own rules (``demobank.rules``): what it refuses before looking at its books."""

from __future__ import annotations

import pytest

from demobank.rules import ANY_RULES, Rules, currency_list

AUTHORIZATION = {"t": "0100", "22": "812", "32": "10000000001", "49": "643"}
PRE = AUTHORIZATION | {"25": "06"}
STORED_PRE = PRE | {"22": "102"}


@pytest.mark.parametrize(
    ("rules", "request_", "code"),
    [
        (ANY_RULES, STORED_PRE | {"32": "1", "49": "840"}, None),
        (Rules(acquirer_id="10000000001"), AUTHORIZATION, None),
        (Rules(acquirer_id="20000000002"), AUTHORIZATION, "92"),
        (Rules(acquirer_id="20000000002"), {"t": "0400", "32": "10000000001"}, "92"),
        (Rules(acquirer_id="20000000002"), {"t": "0500"}, "92"),
        (Rules(acquirer_id="20000000002"), {"t": "0800", "70": "001"}, None),
        (Rules(double_stage=False), PRE, "58"),
        (Rules(double_stage=False), AUTHORIZATION, None),
        (Rules(double_stage=False), {"t": "0400", "25": "06"}, None),
        (Rules(stored_card_double_stage=False), PRE, None),
        (Rules(stored_card_double_stage=False), STORED_PRE, "58"),
        (Rules(stored_card_double_stage=False), AUTHORIZATION | {"22": "102"}, None),
        (Rules(currencies=frozenset({"RUB"})), AUTHORIZATION, None),
        (Rules(currencies=frozenset({"RUB"})), AUTHORIZATION | {"49": "840"}, "58"),
        (Rules(currencies=frozenset({"RUB"})), {"t": "0220", "49": "840"}, None),
    ],
)
def test_what_a_bank_refuses(rules: Rules, request_: dict[str, str], code: str | None) -> None:
    assert rules.refusal(request_) == code


def test_currencies_are_read_from_a_list() -> None:
    assert currency_list(" rub, USD ") == frozenset({"RUB", "USD"})
    assert currency_list("") is None
    with pytest.raises(ValueError, match="XYZ is not an ISO 4217 currency"):
        currency_list("RUB,XYZ")


@pytest.mark.parametrize(("name", "acquirer_id"), [("", None), ("B" * 33, None), ("A", "12a")])
def test_a_bank_needs_a_name_and_an_acquirer_id_it_can_send(
    name: str, acquirer_id: str | None
) -> None:
    with pytest.raises(ValueError, match=r"name|acquirer id"):
        Rules(name=name, acquirer_id=acquirer_id)
