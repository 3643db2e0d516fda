"""The audit trail's rules without a database: what an entry keeps of a change and how a page
shows it, who the command's actor is, and services writing their record in the unit of work
of the change — or nothing, when the change is refused."""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from ips.domain.acquirers import Acquirer
from ips.domain.audit import (
    CHANGED,
    ActorKind,
    AuditEntry,
    Change,
    Subject,
    changes,
    record,
    shown,
)
from ips.domain.books import Books
from ips.domain.cards import Secret
from ips.domain.errors import DomainError, NotFound
from ips.domain.merchants import Merchant
from ips.domain.money import Money, currency
from ips.domain.orders import Order
from ips.domain.states import OrderState
from ips.services import audit, merchant_settings
from ips.services.acquirers import AcquirerSettings, change_acquirer
from ips.services.operations import asked_value, order_values
from ips.services.unit_of_work import UnitOfWorkFactory
from tests.conftest import SETUP

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
RUB = currency("RUB")


def test_an_entry_keeps_only_what_changed_and_all_of_what_was_made_or_removed() -> None:
    changed = record(SETUP, "x.change", Subject("x", "1"), NOW,
                     before={"a": 1, "b": [1, 2], "c": "same"},
                     after={"a": 2, "b": [1, 2], "c": "same", "d": True})  # fmt: skip
    assert (changed.before, changed.after) == ({"a": 1, "d": None}, {"a": 2, "d": True})
    made = record(SETUP, "x.add", Subject("x", "1"), NOW, after={"a": 1, "b": 2})
    assert (made.before, made.after) == (None, {"a": 1, "b": 2})


def test_a_page_shows_amounts_lists_and_nothing_as_words() -> None:
    entry = AuditEntry(
        SETUP, "order.cancel", Subject("order", "1"), NOW,
        before={"cancelled": {"minor": 0, "currency": "RUB"}, "means": ["card"], "on": True,
                "asked": None},
        after={"cancelled": {"minor": 3050, "currency": "RUB"}, "means": [], "on": False,
               "asked": {"minor": 3050, "currency": "XXQ"}},
    )  # fmt: skip
    assert changes(entry) == [
        Change("cancelled", "0.00 RUB", "30.50 RUB"),
        Change("means", "card", "—"),
        Change("on", "yes", "no"),
        Change("asked", "—", "{'minor': 3050, 'currency': 'XXQ'}"),  # no such currency: as is
    ]
    assert shown({"minor": 5, "currency": "JPY"}) == "5 JPY"


def test_the_command_s_actor_is_the_user_who_ran_sudo_else_the_system_user_on_this_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUDO_USER", "maria")
    actor = audit.command_actor()
    assert (actor.kind, actor.name, actor.source) == (
        ActorKind.COMMAND, "maria", socket.gethostname()
    )  # fmt: skip
    monkeypatch.delenv("SUDO_USER")
    monkeypatch.setattr(getpass, "getuser", lambda: "ops")
    assert audit.command_actor().name == "ops"

    def nameless() -> str:
        raise OSError("no user name")

    monkeypatch.setattr(getpass, "getuser", nameless)
    assert audit.command_actor().name.startswith("uid ")


def test_an_order_s_values_are_its_state_and_its_amounts_with_their_currency() -> None:
    books = Books(RUB, held=10000, confirmed=4000, hold_cancelled=1000)
    order = Order("1", "111111", "A-1", Money(10000, RUB), NOW, books=books,
                  state=OrderState.PARTIAL_CANCELED)  # fmt: skip
    assert order_values(order) == {
        "state": "PartialCanceled",
        "paid": {"minor": 10000, "currency": "RUB"},
        "confirmed": {"minor": 4000, "currency": "RUB"},
        "cancelled": {"minor": 1000, "currency": "RUB"},
    }
    assert asked_value(None, books) == "all"
    assert asked_value(2500, books) == {"minor": 2500, "currency": "RUB"}


class FakeAudit:
    def __init__(self) -> None:
        self.added: list[AuditEntry] = []

    async def add(self, entry: AuditEntry) -> None:
        self.added.append(entry)


class FakeAcquirers:
    def __init__(self, *kept: Acquirer) -> None:
        self.kept = {a.name: a for a in kept}

    async def get(self, name: str, *, lock: bool = False) -> Acquirer | None:
        return self.kept.get(name)

    async def all(self) -> list[Acquirer]:
        return list(self.kept.values())

    async def save(self, acquirer: Acquirer) -> None:
        self.kept[acquirer.name] = acquirer


class FakeMerchants:
    def __init__(self, merchant: Merchant) -> None:
        self.merchant = merchant

    async def get(self, merchant_id: str, *, lock: bool = False) -> Merchant | None:
        return self.merchant if merchant_id == self.merchant.merchant_id else None

    async def save(self, merchant: Merchant) -> None:
        self.merchant = merchant


class FakeUnitOfWork:
    """The repositories these services use; what is written counts only once committed."""

    def __init__(self, **repositories: Any) -> None:
        self.audit = FakeAudit()
        self.committed: list[AuditEntry] = []
        for name, repository in repositories.items():
            setattr(self, name, repository)

    def __call__(self, *, readonly: bool = False) -> FakeUnitOfWork:
        return self

    async def __aenter__(self) -> FakeUnitOfWork:
        self.audit.added = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.audit.added = []

    async def commit(self) -> None:
        self.committed += self.audit.added


def shop() -> Merchant:
    return Merchant("111111", "Shop", "shop", "hash", Secret("salt"), RUB, NOW)


def factory(uow: FakeUnitOfWork) -> UnitOfWorkFactory:
    return cast(UnitOfWorkFactory, uow)


@pytest.mark.parametrize(
    ("settings", "action", "before", "after"),
    [
        (AcquirerSettings(disabled=True), "acquirer.disable", {"disabled": False},
         {"disabled": True}),
        (AcquirerSettings(disabled=False), "acquirer.enable", {}, {}),
        (AcquirerSettings(require_3ds=True, disabled=True), "acquirer.change",
         {"require_3ds": False, "disabled": False}, {"require_3ds": True, "disabled": True}),
    ],
)  # fmt: skip
async def test_an_acquirer_disabled_or_enabled_alone_is_named_so_any_other_change_a_change(
    settings: AcquirerSettings, action: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    uow = FakeUnitOfWork(acquirers=FakeAcquirers(Acquirer("BANK-B", "bank-b:8583")))
    await change_acquirer("BANK-B", settings, factory(uow), lambda: NOW, actor=SETUP)
    [entry] = uow.committed
    assert (entry.actor, entry.action, entry.subject.key, entry.at) == (
        SETUP, action, "BANK-B", NOW
    )  # fmt: skip
    assert (entry.before, entry.after) == (before, after)


async def test_a_refused_change_writes_no_record() -> None:
    uow = FakeUnitOfWork(acquirers=FakeAcquirers())
    with pytest.raises(NotFound):
        await change_acquirer("BANK-Z", AcquirerSettings(disabled=True), factory(uow), actor=SETUP)
    merchant = shop()
    uow = FakeUnitOfWork(merchants=FakeMerchants(merchant))
    with pytest.raises(DomainError):
        await merchant_settings.change_ws_addresses(
            "111111", ["not an address"], factory(uow), actor=SETUP
        )
    assert uow.committed == []


async def test_a_secret_is_written_as_changed_and_a_change_without_an_actor_not_at_all() -> None:
    merchant = shop()
    uow = FakeUnitOfWork(merchants=FakeMerchants(merchant))
    await merchant_settings.change_ws_password(
        "111111", "a new password", factory(uow), actor=SETUP, clock=lambda: NOW
    )
    [entry] = uow.committed
    assert (entry.action, entry.before, entry.after) == (
        "merchant.ws_password", None, {"ws_password": CHANGED}
    )  # fmt: skip
    assert "a new password" not in repr(entry) and merchant.password_hash not in repr(entry)

    await merchant_settings.change_ws_addresses("111111", ["192.0.2.1"], factory(uow))
    assert len(uow.committed) == 1
