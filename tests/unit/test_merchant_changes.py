"""Changing a merchant, against a fake unit of work: each change made whole or not at all,
over the settings the operator saw, and written in the audit trail with exactly what it
changed — secrets as CHANGED, never their value or hash."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, cast

import pytest

from ips.crypto.passwords import verify_password
from ips.domain.acquirers import Route, read_routes
from ips.domain.audit import CHANGED, Actor, ActorKind, AuditEntry
from ips.domain.cards import Brand
from ips.domain.errors import Conflict, InvalidInput, NotFound
from ips.domain.merchants import Merchant, settings_of, version
from ips.domain.money import currency
from ips.domain.users import Role, User
from ips.services.merchant_files import find_merchants, merchant_file
from ips.services.merchants import (
    STALE,
    AddMerchant,
    ChangeMerchant,
    add_merchant,
    change_merchant,
    reset_ws_password,
    set_disabled,
)
from ips.services.unit_of_work import UnitOfWorkFactory

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
ALICE = Actor(ActorKind.OPERATOR, "alice", "10.0.0.7")
SHOP = AddMerchant("111111", "Test Shop", "shop", "shop-password", "secret", double_stage=True)


class Store:
    """What the fake units of work share: the committed rows, as the database would."""

    def __init__(self) -> None:
        self.merchants: dict[str, Merchant] = {}
        self.audit: list[AuditEntry] = []
        self.holds: dict[str, int] = {}
        self.acquirers: set[str] = {"BANK-A"}
        self.users: dict[str, list[User]] = {}
        self.commits = 0


class FakeMerchants:
    def __init__(self, rows: dict[str, Merchant]) -> None:
        self.rows = rows

    async def get(self, merchant_id: str, *, lock: bool = False) -> Merchant | None:
        found = self.rows.get(merchant_id)
        return copy.deepcopy(found)

    async def add(self, merchant: Merchant) -> bool:
        if merchant.merchant_id in self.rows:
            return False
        self.rows[merchant.merchant_id] = copy.deepcopy(merchant)
        return True

    async def save(self, merchant: Merchant) -> None:
        self.rows[merchant.merchant_id] = copy.deepcopy(merchant)

    async def search(self, text: str, after: str | None, limit: int) -> list[Merchant]:
        found = [
            m
            for _, m in sorted(self.rows.items())
            if (after is None or m.merchant_id > after)
            and (m.merchant_id.startswith(text) or text.lower() in (m.name + m.login).lower())
        ]
        return found[:limit]


class FakeOrders:
    def __init__(self, holds: dict[str, int]) -> None:
        self.holds = holds

    async def holds_open(self, merchant_id: str) -> int:
        return self.holds.get(merchant_id, 0)


class FakeAcquirers:
    def __init__(self, names: set[str]) -> None:
        self.names = names

    async def get(self, name: str, *, lock: bool = False) -> object | None:
        return object() if name in self.names else None


class FakeAudit:
    def __init__(self, entries: list[AuditEntry]) -> None:
        self.entries = entries

    async def add(self, entry: AuditEntry) -> None:
        self.entries.append(dataclasses.replace(entry, id=len(self.entries) + 1))

    async def latest(self, limit: int, *, merchant_id: str | None = None) -> list[AuditEntry]:
        mine = [e for e in self.entries if e.subject.merchant_id == merchant_id]
        return mine[::-1][:limit]


class FakeUsers:
    def __init__(self, users: dict[str, list[User]]) -> None:
        self.users = users

    async def of_merchant(self, merchant_id: str) -> list[User]:
        return self.users.get(merchant_id, [])


class FakeUnitOfWork:
    """Works on copies of the store's rows, put back only by ``commit``: leaving without
    it leaves the store as it was, as a rolled-back transaction does."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.merchants = FakeMerchants(copy.deepcopy(store.merchants))
        self.audit = FakeAudit(list(store.audit))
        self.orders = FakeOrders(store.holds)
        self.acquirers = FakeAcquirers(store.acquirers)
        self.users = FakeUsers(store.users)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    async def commit(self) -> None:
        self.store.merchants = self.merchants.rows
        self.store.audit = self.audit.entries
        self.store.commits += 1


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def uows(store: Store) -> UnitOfWorkFactory:
    def factory(*, readonly: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(store)

    return cast(UnitOfWorkFactory, factory)


@pytest.fixture
async def shop(store: Store, uows: UnitOfWorkFactory) -> Merchant:
    return await add_merchant(SHOP, uows, lambda: NOW, actor=ALICE)


def entries(store: Store) -> Iterator[tuple[str, Any, Any]]:
    for entry in store.audit:
        yield entry.action, entry.before, entry.after


async def test_a_merchant_added_is_in_the_trail_with_its_secrets_as_changed(
    store: Store, shop: Merchant
) -> None:
    [entry] = store.audit
    assert (entry.action, entry.actor, entry.at, entry.before) == ("merchant.add", ALICE, NOW, None)
    assert entry.subject.merchant_id == "111111" and entry.subject.key == "111111"
    assert entry.after is not None
    assert entry.after["login"] == "shop" and entry.after["double_stage"] is True
    assert entry.after["password"] == entry.after["secret_word"] == CHANGED
    assert "shop-password" not in repr(entry) and shop.password_hash not in repr(entry)
    assert "secret" not in repr(entry).replace("secret_word", "")


async def test_a_merchant_id_taken_is_refused_and_nothing_written(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant
) -> None:
    with pytest.raises(Conflict, match="already exists"):
        await add_merchant(dataclasses.replace(SHOP, name="Other"), uows, actor=ALICE)
    assert store.merchants["111111"].name == "Test Shop" and len(store.audit) == 1


async def test_a_change_writes_exactly_what_it_changed(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant
) -> None:
    wanted = ChangeMerchant(
        name="Renamed Shop",
        default_currency="RUB",  # as it was: not in the entry
        payment_attempts=5,
        secret_word="new-secret",
        routes=read_routes("USD:*=BANK-A"),
        seen=version(shop),
    )
    changed = await change_merchant("111111", wanted, uows, lambda: NOW, actor=ALICE)

    assert changed.fields == ("name", "payment_attempts", "routes", "secret_word")
    assert changed.notice == ""
    [_, (action, before, after)] = entries(store)
    assert action == "merchant.change"
    assert before == {"name": "Test Shop", "payment_attempts": 3, "routes": [], "secret_word": None}
    assert after == {
        "name": "Renamed Shop",
        "payment_attempts": 5,
        "routes": ["USD:*=BANK-A"],
        "secret_word": CHANGED,
    }
    kept = store.merchants["111111"]
    assert kept.secret_word.reveal() == "new-secret" and kept.name == "Renamed Shop"
    assert kept.routes == (Route("BANK-A", currency("USD")),)


async def test_a_change_over_settings_changed_since_is_refused_whole(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant
) -> None:
    seen = version(shop)
    await change_merchant("111111", ChangeMerchant(name="Someone Else's"), uows, actor=ALICE)

    with pytest.raises(Conflict) as refused:
        await change_merchant(
            "111111", ChangeMerchant(name="Mine", payment_attempts=7, seen=seen), uows, actor=ALICE
        )
    assert refused.value.message == STALE
    kept = store.merchants["111111"]
    assert (kept.name, kept.payment_attempts) == ("Someone Else's", 3)
    assert [action for action, _, _ in entries(store)] == ["merchant.add", "merchant.change"]


async def test_a_secret_changed_meanwhile_does_not_make_the_form_stale(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant
) -> None:
    """The form shows no secret: a new password or secret word is no change of what it
    was filled in over."""
    seen = version(shop)
    await reset_ws_password("111111", uows, actor=ALICE)
    await change_merchant("111111", ChangeMerchant(name="Mine", seen=seen), uows, actor=ALICE)
    assert store.merchants["111111"].name == "Mine"


@pytest.mark.parametrize(
    ("wanted", "field"),
    [
        (ChangeMerchant(name="Fine", payment_attempts=0), "payment_attempts"),
        (ChangeMerchant(name="Fine", means=frozenset()), "means"),
        (ChangeMerchant(name="Fine", callback_url="ftp://shop.example/"), "callback_url"),
        (ChangeMerchant(name="x" * 201), "name"),
        (ChangeMerchant(name="Fine", routes=(Route("NO-SUCH"),)), "acquirer"),
        (ChangeMerchant(name="Fine", route=Route("NO-SUCH", brand=Brand.MIR)), "acquirer"),
    ],
    ids=["attempts", "no-means", "callback", "long-name", "routes", "route"],
)
async def test_a_change_with_one_wrong_setting_changes_nothing(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant, wanted: ChangeMerchant, field: str
) -> None:
    with pytest.raises((InvalidInput, NotFound)) as refused:
        await change_merchant("111111", wanted, uows, actor=ALICE)
    assert refused.value.field == field
    assert store.merchants["111111"].name == "Test Shop" and len(store.audit) == 1


async def test_a_change_to_what_is_already_there_writes_nothing(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant
) -> None:
    same = ChangeMerchant(name="Test Shop", double_stage=True, secret_word="secret")
    changed = await change_merchant("111111", same, uows, actor=ALICE)
    assert changed.fields == () and store.commits == 1  # the add's only


@pytest.mark.parametrize(
    ("holds", "notice"),
    [
        (0, "double-stage is off for new orders"),
        (1, "double-stage is off for new orders; 1 hold stays open until confirmed or released"),
        (3, "double-stage is off for new orders; 3 holds stay open until confirmed or released"),
    ],
)
async def test_double_stage_switched_off_says_how_many_holds_stay_open(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant, holds: int, notice: str
) -> None:
    store.holds["111111"] = holds
    changed = await change_merchant("111111", ChangeMerchant(double_stage=False), uows, actor=ALICE)
    assert (changed.holds_open, changed.notice) == (holds, notice)
    assert store.merchants["111111"].double_stage is False
    on = await change_merchant("111111", ChangeMerchant(double_stage=True), uows, actor=ALICE)
    assert on.notice == ""


async def test_disable_and_enable_are_actions_of_their_own(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant
) -> None:
    await set_disabled("111111", True, uows, actor=ALICE)
    again = await set_disabled("111111", True, uows, actor=ALICE)
    await set_disabled("111111", False, uows, actor=ALICE)

    assert again.fields == ()
    assert list(entries(store))[1:] == [
        ("merchant.disable", {"disabled": False}, {"disabled": True}),
        ("merchant.enable", {"disabled": True}, {"disabled": False}),
    ]
    with pytest.raises(NotFound):
        await set_disabled("999999", True, uows, actor=ALICE)


async def test_a_reset_password_is_shown_once_and_only_its_hash_kept(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant
) -> None:
    store.merchants["111111"].credential_mac = "remembered"
    reset = await reset_ws_password("111111", uows, actor=ALICE)

    kept = store.merchants["111111"]
    assert len(reset.password) == 24 and reset.password not in repr(reset)
    assert await verify_password(kept.password_hash, reset.password)
    assert not await verify_password(kept.password_hash, "shop-password")
    assert kept.credential_mac == ""
    [_, (action, before, after)] = entries(store)
    assert (action, before, after) == ("merchant.reset_ws_password", {"password": None},
                                       {"password": CHANGED})  # fmt: skip


async def test_the_console_finds_merchants_a_page_at_a_time(
    store: Store, uows: UnitOfWorkFactory
) -> None:
    for number in range(1, 6):
        await add_merchant(
            AddMerchant(f"10000{number}", f"Shop {number}", f"login{number}", "password-1", "s"),
            uows,
            actor=ALICE,
        )
    first = await find_merchants("", uows, limit=2)
    second = await find_merchants("", uows, after=first.next_after, limit=2)
    last = await find_merchants("", uows, after=second.next_after, limit=2)

    assert [m.merchant_id for m in first.merchants + second.merchants + last.merchants] == [
        "100001", "100002", "100003", "100004", "100005",
    ]  # fmt: skip
    assert last.next_after is None
    assert [m.name for m in (await find_merchants(" LOGIN3 ", uows)).merchants] == ["Shop 3"]
    with pytest.raises(InvalidInput):
        await find_merchants("x" * 101, uows)


async def test_a_merchant_s_file_has_its_users_holds_and_latest_changes(
    store: Store, uows: UnitOfWorkFactory, shop: Merchant
) -> None:
    store.holds["111111"] = 2
    store.users["111111"] = [User("111111", "anna", "hash", Role.ADMIN, NOW, id=1)]
    await set_disabled("111111", True, uows, actor=ALICE)

    file = await merchant_file("111111", uows)

    assert file.version == version(store.merchants["111111"]) != version(shop)
    assert file.holds_open == 2 and [u.login for u in file.users] == ["anna"]
    assert [e.action for e in file.trail] == ["merchant.disable", "merchant.add"]
    with pytest.raises(NotFound):
        await merchant_file("999999", uows)


def test_the_version_is_of_the_settings_not_of_secrets_nor_remembered_credentials(
    shop: Merchant,
) -> None:
    other = dataclasses.replace(shop, credential_mac="x", password_hash="y")
    assert version(other) == version(shop)
    assert version(dataclasses.replace(shop, points_share=10)) != version(shop)
    assert set(settings_of(shop)) >= {"name", "double_stage", "routes", "disabled", "means"}


@pytest.mark.parametrize(
    ("typed", "routes"),
    [
        ("", ()),
        ("BANK-A", (Route("BANK-A"),)),
        ("*:*=BANK-A usd:*=BANK-B *:mir=BANK-C", (
            Route("BANK-A"), Route("BANK-C", brand=Brand.MIR),
            Route("BANK-B", currency("USD")),
        )),
        ("*:*=default", ()),
        ("USD:*=BANK-A, USD:*=BANK-B", (Route("BANK-B", currency("USD")),)),
    ],
)  # fmt: skip
def test_routes_are_read_as_the_operator_types_them(typed: str, routes: tuple[Route]) -> None:
    assert read_routes(typed) == routes


@pytest.mark.parametrize("typed", ["XXX:*=BANK-A", "*:ACME=BANK-A", "*:*=", "*:*=bad name!"])
def test_a_wrong_route_is_refused_naming_it(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_routes(typed)
    assert refused.value.field == "routes" and "the route" in refused.value.message
