"""How the console words an audit entry's change: a setting a line, made, removed or from
one value to another, lists and flags in words, secrets as the trail keeps them."""

from __future__ import annotations

from datetime import UTC, datetime

from ips.domain.audit import CHANGED, Actor, ActorKind, Subject, record
from ips.web.admin.trail import Change, changes

ADA = Actor(ActorKind.OPERATOR, "ada", "10.0.0.7")
SHOP = Subject("merchant", "111111", merchant_id="111111")
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def test_a_change_is_worded_setting_by_setting() -> None:
    entry = record(
        ADA, "merchant.change", SHOP, NOW,
        before={"name": "Shop", "means": ["card", "wallet"], "double_stage": True,
                "callback_url": "", "secret_word": None},
        after={"name": "Shop", "means": ["card"], "double_stage": False,
               "callback_url": "https://shop.example/n", "secret_word": CHANGED},
    )  # fmt: skip
    assert changes(entry) == [
        Change("means", "card, wallet", "card"),
        Change("double_stage", "yes", "no"),
        Change("callback_url", "—", "https://shop.example/n"),
        Change("secret_word", "—", CHANGED),
    ]


def test_what_was_made_or_removed_is_listed_without_its_empty_values() -> None:
    made = record(ADA, "merchant.add", SHOP, NOW, after={"name": "Shop", "routes": [], "x": 0})
    removed = record(ADA, "user.remove", SHOP, NOW, before={"login": "anna", "role": "admin"})
    assert changes(made) == [Change("name", None, "Shop"), Change("x", None, "0")]
    assert changes(removed) == [Change("login", "anna", None), Change("role", "admin", None)]
