"""Changing merchants on real storage (both databases): double-stage switched off over a real
hold, which is still confirmed; two edits over the same settings at once, of which one is
refused whole; merchants found by id, name or login; and every change in the audit trail."""

from __future__ import annotations

import asyncio

import pytest

from ips.domain.audit import CHANGED, Actor, ActorKind
from ips.domain.errors import Conflict, Refused
from ips.domain.merchants import Merchant, version
from ips.domain.states import OrderState
from ips.services.audit import trail
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchant_files import find_merchants, merchant_file
from ips.services.merchants import (
    STALE,
    AddMerchant,
    ChangeMerchant,
    SignedIn,
    add_merchant,
    change_merchant,
)
from ips.services.orders import CreateOrder, create_order
from ips.storage.unit_of_work import Database
from tests.integration.test_money_operations import paid_order

ALICE = Actor(ActorKind.OPERATOR, "alice", "10.0.0.7")
BOB = Actor(ActorKind.OPERATOR, "bob", "10.0.0.8")


async def test_double_stage_off_with_a_hold_open_leaves_the_hold_to_be_confirmed(
    gateway: Gateway, database: Database, merchant: Merchant
) -> None:
    held = await paid_order(gateway, delay=True)
    assert (await merchant_file("111111", database)).holds_open == 1

    changed = await change_merchant(
        "111111", ChangeMerchant(double_stage=False), database, actor=ALICE
    )

    assert changed.notice == (
        "double-stage is off for new orders; 1 hold stays open until confirmed or released"
    )
    with pytest.raises(Refused, match="double-stage payments are not enabled"):
        await create_order(CreateOrder("111111", "D-NEW", "5.00", delay=True), gateway)
    confirmed = await confirm(Confirm(held.billnumber), SignedIn("111111"), gateway)
    assert confirmed.order.state is OrderState.APPROVED
    assert (await merchant_file("111111", database)).holds_open == 0
    [entry, _] = await trail(database, merchant_id="111111")
    assert (entry.action, entry.actor) == ("merchant.change", ALICE)
    assert (entry.before, entry.after) == ({"double_stage": True}, {"double_stage": False})


async def test_of_two_edits_over_the_same_settings_at_once_one_is_refused_whole(
    database: Database, merchant: Merchant
) -> None:
    seen = version(merchant)
    alice = ChangeMerchant(name="Alice's", payment_attempts=5, seen=seen)
    bob = ChangeMerchant(name="Bob's", points_share=20, seen=seen)

    results = await asyncio.gather(
        change_merchant("111111", alice, database, actor=ALICE),
        change_merchant("111111", bob, database, actor=BOB),
        return_exceptions=True,
    )

    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict)
    assert refused[0].message == STALE
    now = (await merchant_file("111111", database)).merchant
    if now.name == "Alice's":
        assert (now.payment_attempts, now.points_share) == (5, 50)
    else:
        assert (now.name, now.payment_attempts, now.points_share) == ("Bob's", 3, 20)
    changes = [e for e in await trail(database, merchant_id="111111") if e.action != "merchant.add"]
    assert len(changes) == 1 and changes[0].after is not None
    assert changes[0].after["name"] == now.name


async def test_a_merchant_added_twice_at_once_is_added_once(database: Database) -> None:
    shop = AddMerchant("333333", "Twice", "twice", "twice-password", "salt")
    results = await asyncio.gather(
        add_merchant(shop, database, actor=ALICE),
        add_merchant(shop, database, actor=BOB),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Conflict) for r in results) == 1
    [added] = await trail(database, merchant_id="333333")
    assert added.action == "merchant.add" and added.after is not None
    assert added.after["password"] == added.after["secret_word"] == CHANGED
    assert "twice-password" not in str(added.after) and "salt" not in str(added.after)


async def test_merchants_are_found_by_id_name_or_login_a_page_at_a_time(
    database: Database,
) -> None:
    for merchant_id, name, login in [
        ("100001", "Книжная Лавка", "books"),
        ("100002", "Flower Shop", "flowers"),
        ("200003", "100% Tea", "tea_house"),
        ("200004", "Teapots", "pots"),
    ]:
        shop = AddMerchant(merchant_id, name, login, "a-password", "salt")
        await add_merchant(shop, database, actor=ALICE)

    async def ids(text: str, after: str | None = None, limit: int = 50) -> list[str]:
        page = await find_merchants(text, database, after=after, limit=limit)
        return [m.merchant_id for m in page.merchants]

    assert await ids("1000") == ["100001", "100002"]
    assert await ids("flower") == ["100002"]
    assert await ids("TEA") == ["200003", "200004"]
    assert await ids("100%") == ["200003"]  # a % is the character, not any text
    assert await ids("a_h") == ["200003"]  # nor is _ any character
    assert await ids("Лавка") == ["100001"]
    assert await ids("") == ["100001", "100002", "200003", "200004"]
    first = await find_merchants("", database, limit=3)
    assert first.next_after == "200003"
    assert await ids("", after=first.next_after, limit=3) == ["200004"]
