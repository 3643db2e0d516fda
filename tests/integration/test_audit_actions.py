"""Every action a person takes writes its audit record (issue 16 item 2): each of the operator
console's and of the Personal Account's, through the app as a browser sends it, and each of the
``ips`` command's, run as an operator runs it (typer's runner, in this process) — exactly one
new record, naming who, from where, what, on what, and the values before and after; and an
action refused (a role that may not, settings changed meanwhile, bad input) writes nothing and
changes nothing.

The table is ``CASES``: a case is an async function of the ``World`` that sets up what it
needs, calls ``world.mark()``, takes the action, and returns the record it expects (``None``
for a refused action). Register one with ``@case("…")``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from demobank import Simulator
from ips.callbacks import HttpCallbackSender
from ips.cli import app as ips_app
from ips.config import Settings
from ips.domain.api_keys import Scope
from ips.domain.audit import CHANGED, Actor, ActorKind, AuditEntry, Subject, Values
from ips.domain.merchants import Merchant, settings_of
from ips.domain.orders import Order, PaymentMeans, TransactionKind
from ips.domain.settlement import BatchStatus
from ips.domain.webhooks import DeliveryStatus
from ips.processing.bank_report import read_report
from ips.processing.iso8583.client import Iso8583ProcessingCenter
from ips.processing.loyalty_http import HttpLoyalty
from ips.services import settlement, webhooks
from ips.services.acquirers import AcquirerSettings, add_acquirer, change_acquirer
from ips.services.api_keys import create_api_key
from ips.services.audit import command_actor
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchants import (
    AddMerchant,
    ChangeMerchant,
    SignedIn,
    add_merchant,
    change_merchant,
    set_disabled,
)
from ips.services.notifications import Delivery, deliver_due
from ips.services.operators import disable_operator
from ips.storage import tables
from ips.storage.keys import bind_keyring
from ips.storage.unit_of_work import Database
from tests.banks import ACQUIRER_ID, handed_in_report
from tests.cabinet import PASSWORD, Cabinet, csrf_of, hidden, open_cabinet, paid_order
from tests.conftest import MERCHANT, SETUP, make_client
from tests.console import Console, open_console
from tests.console import csrf_of as console_csrf
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_console_merchants import NEW, edit_form
from tests.integration.test_notifications import SHOP_ID as NOTIFIED_SHOP
from tests.integration.test_notifications import delivery, notified_shop
from tests.integration.test_notifications import paid as notified_payment
from tests.integration.test_points import order_page, pay
from tests.shop import Shop

BROWSER = "203.0.113.7"
"""Where ``make_client``'s requests come from."""
SHOP = "111111"
POINTS_SHOP = "555555"


def rub(minor: int) -> dict[str, Any]:
    return {"minor": minor, "currency": "RUB"}


@dataclass(frozen=True)
class Expected:
    actor: Actor
    action: str
    subject: Subject
    before: Values | None = None
    after: Values | None = None


@dataclass
class World:
    """Merchants 111111 (``anna`` operator, ``vera`` viewer, ``adam`` admin; a held order of
    100.00 RUB) and 222222, paid at the simulator over TCP; the console's staff (``vika``
    viewer, ``otto`` operator, ``ada`` admin); the command pointed at the same database, key
    file and simulator."""

    cabinet: Cabinet
    console: Console
    sender: HttpCallbackSender
    database: Database
    simulator: Simulator
    clock: ManualClock
    env: dict[str, str]
    tmp_path: Path
    since: int = 0
    rows: dict[str, list[str]] = field(default_factory=dict)

    @property
    def gateway(self) -> Gateway:
        return self.cabinet.gateway

    @property
    def held(self) -> Order:
        return self.cabinet.held

    async def mark(self) -> None:
        """From here on the case acts: the records and the rows are compared with these."""
        self.since = max((e.id or 0 for e in await self.entries(0)), default=0)
        self.rows = await self.snapshot()

    async def entries(self, since: int) -> list[AuditEntry]:
        async with self.database(readonly=True) as uow:
            found = await uow.audit.latest(1000)
        return [e for e in reversed(found) if (e.id or 0) > since]

    async def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table but those a sign-in writes (sessions, login guards)."""
        rows = {}
        async with self.database.engine.connect() as conn:
            for table in tables.metadata.sorted_tables:
                if table.name not in ("sessions", "login_guards"):
                    found = await conn.execute(select(table))
                    rows[table.name] = sorted(repr(tuple(row)) for row in found)
        return rows

    def user(self, login: str, merchant_id: str = SHOP) -> Actor:
        return Actor(ActorKind.USER, login, BROWSER, merchant_id)

    def operator(self, login: str) -> Actor:
        return Actor(ActorKind.OPERATOR, login, BROWSER)

    def signed_in(self, login: str) -> Any:
        return self.cabinet.signed_in(login)

    async def ips(self, *args: str, status: int = 0) -> str:
        """``ips ARGS…`` on this world's database; its output, once it ended with ``status``."""
        done = await asyncio.to_thread(
            CliRunner().invoke, ips_app, list(args), env=self.env, catch_exceptions=False
        )
        assert done.exit_code == status, done.output
        return done.output

    async def merchant(self, merchant_id: str = SHOP) -> Merchant:
        async with self.database(readonly=True) as uow:
            found = await uow.merchants.get(merchant_id)
        assert found is not None
        return found

    async def user_id(self, login: str) -> int:
        async with self.database(readonly=True) as uow:
            user = await uow.users.by_login(login)
        assert user is not None and user.id is not None
        return user.id


Case = Callable[[World], Awaitable[Expected | None]]
CASES: list[pytest.ParameterSet] = []


def case(name: str) -> Callable[[Case], Case]:
    def register(act: Case) -> Case:
        CASES.append(pytest.param(act, id=name))
        return act

    return register


def order_subject(order: Order) -> Subject:
    return Subject("order", order.billnumber, SHOP, order.billnumber)


async def step_and_send(
    http: httpx.AsyncClient, bill: str, action: str, **data: str
) -> httpx.Response:
    """The confirmation step of ``action``, and its form sent with ``data``."""
    step = await http.get(f"/cabinet/orders/{bill}/{action}")
    assert step.status_code == 200, step.text
    form = {name: hidden(step.text, name) for name in ("csrf", "seen", "once")} | data
    return await http.post(f"/cabinet/orders/{bill}/{action}", data=form)


# --- The operator console ------------------------------------------------------------------


async def post(http: httpx.AsyncClient, url: str, **form: Any) -> httpx.Response:
    """The console's form at ``url`` as a browser sends it, with the session's token."""
    return await http.post(url, data={"csrf": await console_csrf(http)} | form)


@case("console: add a merchant")
async def console_add_merchant(w: World) -> Expected:
    async with w.console.signed_in("ada") as ada:
        await w.mark()
        made = await post(ada, "/admin/merchants/new", **NEW)
    assert made.status_code == 200, made.text
    added = {"login": "newshop", **settings_of(await w.merchant("333333"))}
    return Expected(
        w.operator("ada"), "merchant.add", Subject("merchant", "333333", "333333"),
        after=added | {"password": CHANGED, "secret_word": CHANGED},
    )  # fmt: skip


@case("console: change a merchant's settings")
async def console_change_merchant(w: World) -> Expected:
    async with w.console.signed_in("ada") as ada:
        await w.mark()
        form = await edit_form(ada, w.database, SHOP, name="Renamed Shop", payment_attempts="5",
                               secret_word="a new word")  # fmt: skip
        changed = await ada.post(f"/admin/merchants/{SHOP}", data=form)
    assert changed.status_code == 303, changed.text
    return Expected(
        w.operator("ada"), "merchant.change", Subject("merchant", SHOP, SHOP),
        before={"name": "Test Shop", "payment_attempts": 3, "secret_word": None},
        after={"name": "Renamed Shop", "payment_attempts": 5, "secret_word": CHANGED},
    )  # fmt: skip


@case("console: change a merchant's settings changed meanwhile, refused")
async def console_change_stale(w: World) -> None:
    async with w.console.signed_in("ada") as ada:
        form = await edit_form(ada, w.database, SHOP, name="Ada's Name")
        await change_merchant(SHOP, ChangeMerchant(name="Someone Else's"), w.database,
                              actor=SETUP)  # fmt: skip
        await w.mark()
        refused = await ada.post(f"/admin/merchants/{SHOP}", data=form)
    assert refused.status_code == 409 and "changed by someone else" in refused.text


@case("console: disable a merchant")
async def console_disable_merchant(w: World) -> Expected:
    async with w.console.signed_in("ada") as ada:
        await w.mark()
        done = await post(ada, f"/admin/merchants/{SHOP}/disable")
    assert done.status_code == 303, done.text
    return Expected(
        w.operator("ada"), "merchant.disable", Subject("merchant", SHOP, SHOP),
        before={"disabled": False}, after={"disabled": True},
    )  # fmt: skip


@case("console: disable a merchant as an operator, refused")
async def console_disable_by_operator(w: World) -> None:
    async with w.console.signed_in("otto") as otto:
        await w.mark()
        refused = await post(otto, f"/admin/merchants/{SHOP}/disable")
    assert refused.status_code == 403, refused.text


@case("console: enable a merchant")
async def console_enable_merchant(w: World) -> Expected:
    await set_disabled(SHOP, True, w.database, w.clock, actor=SETUP)
    async with w.console.signed_in("ada") as ada:
        await w.mark()
        done = await post(ada, f"/admin/merchants/{SHOP}/enable")
    assert done.status_code == 303, done.text
    return Expected(
        w.operator("ada"), "merchant.enable", Subject("merchant", SHOP, SHOP),
        before={"disabled": True}, after={"disabled": False},
    )  # fmt: skip


@case("console: reset a merchant's web-service password")
async def console_reset_ws_password(w: World) -> Expected:
    async with w.console.signed_in("ada") as ada:
        await w.mark()
        reset = await post(ada, f"/admin/merchants/{SHOP}/ws-password")
    assert reset.status_code == 200, reset.text
    return Expected(
        w.operator("ada"), "merchant.reset_ws_password", Subject("merchant", SHOP, SHOP),
        before={"password": None}, after={"password": CHANGED},
    )  # fmt: skip


@case("console: send a notification given up again")
async def console_notification_again(w: World) -> Expected:
    shop = Shop()  # down
    await notified_shop(w.gateway, shop)
    order = await notified_payment(w.gateway)
    shipment = delivery(w.gateway, w.sender, shop)
    for _ in range(8):
        await deliver_due(shipment)
        w.clock.advance(hours=2)
    async with w.database(readonly=True) as uow:
        [notification] = await uow.notifications.of_order(order.id or 0)
    async with w.console.signed_in("otto") as otto:
        await w.mark()
        sent = await post(otto, f"/admin/notifications/{notification.id}/send-again")
    assert sent.status_code == 303, sent.text
    return Expected(
        w.operator("otto"), "notification.send_again",
        Subject("notification", str(notification.id), NOTIFIED_SHOP, order.billnumber),
        before={"status": "gave_up"}, after={"status": "pending"},
    )  # fmt: skip


async def webhook_given_up(w: World) -> tuple[int, Order]:
    """A delivery of a payment of 111111 that found its endpoint down for three days."""
    shop = Shop()  # down
    ports = frozenset({shop.port})
    await webhooks.add_endpoint(SHOP, shop.webhook_url, "payment.succeeded", w.database,
                                w.clock, ports)  # fmt: skip
    order = await paid_order(w.gateway, SHOP, "W-1", delay=False)
    shipping = Delivery(w.database, w.sender, w.clock, ports)
    await webhooks.deliver_due(shipping)
    w.clock.advance(days=3)
    await webhooks.deliver_due(shipping)
    [given_up] = await webhooks.deliveries_of(SHOP, w.database)
    assert given_up.id is not None and given_up.status is DeliveryStatus.FAILED
    return given_up.id, order


@case("console: send a webhook given up again")
async def console_webhook_again(w: World) -> Expected:
    delivery_id, order = await webhook_given_up(w)
    async with w.console.signed_in("otto") as otto:
        await w.mark()
        sent = await post(otto, f"/admin/webhooks/{delivery_id}/send-again")
    assert sent.status_code == 303, sent.text
    return Expected(
        w.operator("otto"), "webhook.send_again",
        Subject("webhook_delivery", str(delivery_id), SHOP, order.billnumber),
        before={"status": "failed"}, after={"status": "pending"},
    )  # fmt: skip


@case("console: send a webhook again as a viewer, refused")
async def console_webhook_again_by_viewer(w: World) -> None:
    delivery_id, _ = await webhook_given_up(w)
    async with w.console.signed_in("vika") as vika:
        await w.mark()
        refused = await post(vika, f"/admin/webhooks/{delivery_id}/send-again")
    assert refused.status_code == 403, refused.text


@case("console: send a batch out of balance again")
async def console_batch_again(w: World) -> Expected:
    await paid_order(w.gateway, SHOP, "B-1", delay=False)
    # the simulator balances what it was sent: a processing center that answers 95 to the
    # close and to each of its repeats, over the same database, leaves the batch out of balance
    refusing = FakeProcessingCenter(unbalanced_closes=settlement.RESENDS + 1)
    unbalanced = replace(w.gateway, processing=refusing)
    [report] = await settlement.settle(unbalanced)
    assert report.batch.status is BatchStatus.OUT_OF_BALANCE
    async with w.console.signed_in("otto") as otto:
        await w.mark()
        sent = await post(otto, f"/admin/settlement/{report.batch.id}/resend")
    assert sent.status_code == 303, sent.text
    return Expected(
        w.operator("otto"), "batch.send_again", Subject("batch", str(report.batch.id)),
        before={"status": "out_of_balance"}, after={"status": "closing"},
    )  # fmt: skip


# --- The Personal Account --------------------------------------------------------------------


@case("cabinet: confirm")
async def cabinet_confirm(w: World) -> Expected:
    async with w.signed_in("anna") as anna:
        await w.mark()
        done = await step_and_send(anna, w.held.billnumber, "confirm", amount="40.00")
    assert done.status_code == 303, done.text
    return Expected(
        w.user("anna"), "order.confirm", order_subject(w.held),
        before={"state": "Delayed", "confirmed": rub(0), "asked": None, "release_rest": None},
        after={"state": "PartialDelayed", "confirmed": rub(4000), "asked": rub(4000),
               "release_rest": False},
    )  # fmt: skip


@case("cabinet: cancel")
async def cabinet_cancel(w: World) -> Expected:
    async with w.signed_in("anna") as anna:
        await w.mark()
        done = await step_and_send(anna, w.held.billnumber, "cancel", amount="30.00", reason="2")
    assert done.status_code == 303, done.text
    return Expected(
        w.user("anna"), "order.cancel", order_subject(w.held),
        before={"state": "Delayed", "cancelled": rub(0), "asked": None, "reason": None},
        after={"state": "PartialCanceled", "cancelled": rub(3000), "asked": rub(3000),
               "reason": "customer"},
    )  # fmt: skip


@case("cabinet: cancel more than was paid, refused")
async def cabinet_cancel_too_much(w: World) -> None:
    async with w.signed_in("anna") as anna:
        await w.mark()
        done = await step_and_send(anna, w.held.billnumber, "cancel", amount="100.01")
    assert done.status_code == 400 and "can be cancelled" in done.text, done.text


@case("cabinet: notifications and ways to pay")
async def cabinet_notifications(w: World) -> Expected:
    async with w.signed_in("adam") as adam:
        await w.mark()
        saved = await adam.post(
            "/cabinet/settings/notifications",
            data={"csrf": await csrf_of(adam), "callback_url": "https://shop.example/notify",
                  "kind": ["100", "300"], "answer": "plain", "means": ["card", "points"]},
        )  # fmt: skip
    assert saved.status_code == 303, saved.text
    return Expected(
        w.user("adam"), "merchant.notifications", Subject("merchant", SHOP, SHOP),
        before={"callback_url": "", "notify": ["payment"], "notify_answer": "pushpaymentresult",
                "means": ["card", "wallet"]},
        after={"callback_url": "https://shop.example/notify", "notify": ["cancel", "payment"],
               "notify_answer": "plain", "means": ["card", "points"]},
    )  # fmt: skip


@case("cabinet: web-service password")
async def cabinet_ws_password(w: World) -> Expected:
    async with w.signed_in("adam") as adam:
        await w.mark()
        saved = await adam.post(
            "/cabinet/settings/password",
            data={"csrf": await csrf_of(adam), "password": "new-ws-pass", "repeat": "new-ws-pass"},
        )
    assert saved.status_code == 303, saved.text
    return Expected(
        w.user("adam"),
        "merchant.ws_password",
        Subject("merchant", SHOP, SHOP),
        after={"ws_password": CHANGED},
    )


@case("cabinet: web-service addresses")
async def cabinet_ws_addresses(w: World) -> Expected:
    async with w.signed_in("adam") as adam:
        await w.mark()
        saved = await adam.post(
            "/cabinet/settings/addresses",
            data={"csrf": await csrf_of(adam), "addresses": "192.0.2.0/24, 198.51.100.7"},
        )
    assert saved.status_code == 303, saved.text
    return Expected(
        w.user("adam"),
        "merchant.ws_addresses",
        Subject("merchant", SHOP, SHOP),
        before={"ws_addresses": []},
        after={"ws_addresses": ["192.0.2.0/24", "198.51.100.7/32"]},
    )


@case("cabinet: secret word")
async def cabinet_secret_word(w: World) -> Expected:
    async with w.signed_in("adam") as adam:
        await w.mark()
        saved = await adam.post(
            "/cabinet/settings/secret",
            data={"csrf": await csrf_of(adam), "secret_word": "a new word", "grace": "24"},
        )
    assert saved.status_code == 303, saved.text
    until = (w.clock() + timedelta(hours=24)).isoformat()
    return Expected(
        w.user("adam"),
        "merchant.secret_word",
        Subject("merchant", SHOP, SHOP),
        before={"previous_accepted_until": None, "secret_word": None},
        after={"previous_accepted_until": until, "secret_word": CHANGED},
    )


@case("cabinet: add a user")
async def cabinet_add_user(w: World) -> Expected:
    async with w.signed_in("adam") as adam:
        await w.mark()
        added = await adam.post(
            "/cabinet/users",
            data={"csrf": await csrf_of(adam), "login": "nina", "password": PASSWORD,
                  "role": "viewer"},
        )  # fmt: skip
    assert added.status_code == 303, added.text
    return Expected(
        w.user("adam"),
        "user.add",
        Subject("user", "nina", SHOP),
        after={"role": "viewer", "password": CHANGED},
    )


@case("cabinet: add a user whose login is taken, refused")
async def cabinet_add_taken_user(w: World) -> None:
    async with w.signed_in("adam") as adam:
        await w.mark()
        added = await adam.post(
            "/cabinet/users",
            data={"csrf": await csrf_of(adam), "login": "anna", "password": PASSWORD,
                  "role": "admin"},
        )  # fmt: skip
    assert added.status_code == 400 and "taken" in added.text


@case("cabinet: change a user's role")
async def cabinet_change_role(w: World) -> Expected:
    vera = await w.user_id("vera")
    async with w.signed_in("adam") as adam:
        await w.mark()
        changed = await adam.post(
            f"/cabinet/users/{vera}", data={"csrf": await csrf_of(adam), "role": "operator"}
        )
    assert changed.status_code == 303, changed.text
    return Expected(
        w.user("adam"), "user.role", Subject("user", "vera", SHOP),
        before={"role": "viewer"}, after={"role": "operator"},
    )  # fmt: skip


@case("cabinet: remove a user")
async def cabinet_remove_user(w: World) -> Expected:
    vera = await w.user_id("vera")
    async with w.signed_in("adam") as adam:
        await w.mark()
        removed = await adam.post(
            f"/cabinet/users/{vera}", data={"csrf": await csrf_of(adam), "role": "none"}
        )
    assert removed.status_code == 303, removed.text
    return Expected(
        w.user("adam"), "user.remove", Subject("user", "vera", SHOP), before={"role": "viewer"}
    )


@case("cabinet: own password")
async def cabinet_own_password(w: World) -> Expected:
    async with w.signed_in("anna") as anna:
        await w.mark()
        changed = await anna.post(
            "/cabinet/password",
            data={"csrf": await csrf_of(anna), "current": PASSWORD, "new": "a brand new one",
                  "repeat": "a brand new one"},
        )  # fmt: skip
    assert changed.status_code == 200 and "changed" in changed.text, changed.text
    return Expected(
        w.user("anna"),
        "user.password",
        Subject("user", "anna", SHOP),
        after={"password": CHANGED},
    )


@case("cabinet: own password with a wrong current one, refused")
async def cabinet_wrong_password(w: World) -> None:
    async with w.signed_in("anna") as anna:
        await w.mark()
        refused = await anna.post(
            "/cabinet/password",
            data={"csrf": await csrf_of(anna), "current": "not my password",
                  "new": "a brand new one", "repeat": "a brand new one"},
        )  # fmt: skip
    assert refused.status_code == 400 and "wrong" in refused.text


@case("cabinet: make an API key")
async def cabinet_api_key(w: World) -> Expected:
    async with w.signed_in("adam") as adam:
        await w.mark()
        made = await adam.post(
            "/cabinet/api-keys",
            data={"csrf": await csrf_of(adam), "name": "shop server", "scope": "read"},
        )
    assert made.status_code == 200, made.text
    async with w.database(readonly=True) as uow:
        [key] = await uow.api_keys.of_merchant(SHOP)
    return Expected(
        w.user("adam"),
        "api_key.create",
        Subject("api_key", key.key_id, SHOP),
        after={"name": "shop server", "scope": "read"},
    )


@case("cabinet: revoke an API key")
async def cabinet_revoke_key(w: World) -> Expected:
    key, _ = await create_api_key(SHOP, "old", Scope.WRITE, w.database, w.clock, actor=SETUP)
    async with w.signed_in("adam") as adam:
        await w.mark()
        revoked = await adam.post(
            f"/cabinet/api-keys/{key.key_id}/revoke", data={"csrf": await csrf_of(adam)}
        )
    assert revoked.status_code == 303, revoked.text
    return Expected(
        w.user("adam"), "api_key.revoke", Subject("api_key", key.key_id, SHOP),
        before={"state": "active"}, after={"state": "revoked"},
    )  # fmt: skip


@case("cabinet: send a webhook again")
async def cabinet_send_again(w: World) -> Expected:
    await webhooks.add_endpoint(SHOP, "https://shop.example/hooks", "", w.database, w.clock)
    await confirm(Confirm(w.held.billnumber), SignedIn(SHOP), w.gateway)
    [delivery, *_] = await webhooks.deliveries_of(SHOP, w.database)  # pending: stays so
    async with w.signed_in("anna") as anna:
        await w.mark()
        again = await anna.post(
            f"/cabinet/webhooks/deliveries/{delivery.id}/again", data={"csrf": await csrf_of(anna)}
        )
    assert again.status_code == 303, again.text
    subject = Subject("webhook_delivery", str(delivery.id), SHOP, w.held.billnumber)
    return Expected(w.user("anna"), "webhook.send_again", subject, before={}, after={})


# --- The ips command -------------------------------------------------------------------------


@case("ips user add")
async def command_user_add(w: World) -> Expected:
    await w.mark()
    await w.ips("user", "add", "--merchant-id", SHOP, "--login", "nina", "--password", PASSWORD,
                "--role", "admin")  # fmt: skip
    return Expected(
        command_actor(), "user.add", Subject("user", "nina", SHOP),
        after={"role": "admin", "password": CHANGED},
    )  # fmt: skip


@case("ips user add of a login taken, refused")
async def command_user_add_taken(w: World) -> None:
    await w.mark()
    await w.ips("user", "add", "--merchant-id", SHOP, "--login", "adam", "--password", PASSWORD,
                status=1)  # fmt: skip


@case("ips apikey create")
async def command_apikey_create(w: World) -> Expected:
    await w.mark()
    said = await w.ips("apikey", "create", "--merchant-id", SHOP, "--name", "erp")
    key_id = re.search(r"key (\S+) of merchant", said)
    assert key_id, said
    return Expected(
        command_actor(), "api_key.create", Subject("api_key", key_id.group(1), SHOP),
        after={"name": "erp", "scope": "write"},
    )  # fmt: skip


@case("ips apikey revoke")
async def command_apikey_revoke(w: World) -> Expected:
    key, _ = await create_api_key(SHOP, "old", Scope.WRITE, w.database, w.clock, actor=SETUP)
    await w.mark()
    await w.ips("apikey", "revoke", "--merchant-id", SHOP, key.key_id)
    return Expected(
        command_actor(), "api_key.revoke", Subject("api_key", key.key_id, SHOP),
        before={"state": "active"}, after={"state": "revoked"},
    )  # fmt: skip


@case("ips apikey revoke of a key unknown, refused")
async def command_apikey_revoke_unknown(w: World) -> None:
    await w.mark()
    await w.ips("apikey", "revoke", "--merchant-id", SHOP, "ak_unknown", status=1)


@case("ips webhook add")
async def command_webhook_add(w: World) -> Expected:
    await w.mark()
    said = await w.ips("webhook", "add", "--merchant-id", SHOP, "--url",
                       "https://shop.example/hooks", "--events", "order.approved")  # fmt: skip
    endpoint_id = re.search(r"endpoint (\S+) of merchant", said)
    assert endpoint_id and "whsec_" in said, said
    return Expected(
        command_actor(), "webhook.add", Subject("webhook_endpoint", endpoint_id.group(1), SHOP),
        after={"url": "https://shop.example/hooks", "events": ["order.approved"],
               "secret": CHANGED},
    )  # fmt: skip


async def endpoint(w: World) -> str:
    made, _ = await webhooks.add_endpoint(SHOP, "https://shop.example/h", "", w.database, w.clock)
    return made.endpoint_id


@case("ips webhook roll")
async def command_webhook_roll(w: World) -> Expected:
    endpoint_id = await endpoint(w)
    await w.mark()
    await w.ips("webhook", "roll", "--merchant-id", SHOP, endpoint_id)
    return Expected(
        command_actor(),
        "webhook.roll",
        Subject("webhook_endpoint", endpoint_id, SHOP),
        after={"secret": CHANGED},
    )


@case("ips webhook remove")
async def command_webhook_remove(w: World) -> Expected:
    endpoint_id = await endpoint(w)
    await w.mark()
    await w.ips("webhook", "remove", "--merchant-id", SHOP, endpoint_id)
    return Expected(
        command_actor(),
        "webhook.remove",
        Subject("webhook_endpoint", endpoint_id, SHOP),
        before={"url": "https://shop.example/h", "events": []},
    )


BANK_B = {
    "processing": "127.0.0.1:9583", "processing_http": "", "terminal_ids": ["IPSA0001"],
    "acquirer_id": "10000000001", "currencies": [], "double_stage": True,
    "stored_card_double_stage": True, "card_on_file": False, "require_3ds": False,
    "settlement_cutoff": "23:00", "disabled": False,
}  # fmt: skip


@case("ips acquirer add")
async def command_acquirer_add(w: World) -> Expected:
    await w.mark()
    await w.ips("acquirer", "add", "BANK-B", "--processing", "127.0.0.1:9583")
    return Expected(command_actor(), "acquirer.add", Subject("acquirer", "BANK-B"), after=BANK_B)


async def bank_b(w: World, *, disabled: bool = False) -> None:
    settings = AcquirerSettings(processing="127.0.0.1:9583")
    await add_acquirer("BANK-B", settings, w.database, actor=SETUP)
    if disabled:
        await change_acquirer("BANK-B", AcquirerSettings(disabled=True), w.database, actor=SETUP)


@case("ips acquirer set")
async def command_acquirer_set(w: World) -> Expected:
    await bank_b(w)
    await w.mark()
    await w.ips("acquirer", "set", "BANK-B", "--no-double-stage", "--settlement-cutoff", "21:30")
    return Expected(
        command_actor(), "acquirer.change", Subject("acquirer", "BANK-B"),
        before={"double_stage": True, "settlement_cutoff": "23:00"},
        after={"double_stage": False, "settlement_cutoff": "21:30"},
    )  # fmt: skip


@case("ips acquirer set of an acquirer unknown, refused")
async def command_acquirer_set_unknown(w: World) -> None:
    await w.mark()
    await w.ips("acquirer", "set", "BANK-Z", "--no-double-stage", status=1)


@case("ips acquirer disable")
async def command_acquirer_disable(w: World) -> Expected:
    await bank_b(w)
    await w.mark()
    await w.ips("acquirer", "disable", "BANK-B")
    return Expected(
        command_actor(), "acquirer.disable", Subject("acquirer", "BANK-B"),
        before={"disabled": False}, after={"disabled": True},
    )  # fmt: skip


@case("ips acquirer enable")
async def command_acquirer_enable(w: World) -> Expected:
    await bank_b(w, disabled=True)
    await w.mark()
    await w.ips("acquirer", "enable", "BANK-B")
    return Expected(
        command_actor(), "acquirer.enable", Subject("acquirer", "BANK-B"),
        before={"disabled": True}, after={"disabled": False},
    )  # fmt: skip


@case("ips rate set")
async def command_rate_set(w: World) -> Expected:
    await w.mark()
    await w.ips("rate", "set", "USD", "RUB", "92.5")
    return Expected(
        command_actor(), "rate.set", Subject("rate", "USD/RUB"),
        before={"rate": None}, after={"rate": "92.5"},
    )  # fmt: skip


@case("ips rate set from a currency to itself, refused")
async def command_rate_set_itself(w: World) -> None:
    await w.mark()
    await w.ips("rate", "set", "RUB", "RUB", "1", status=1)


@case("ips settle")
async def command_settle(w: World) -> Expected:
    order = await paid_order(w.gateway, SHOP, "single-1", delay=False)
    await w.mark()
    await w.ips("settle")
    async with w.database(readonly=True) as uow:
        assert order.id is not None
        [financial] = [
            t
            for t in await uow.transactions.of_order(order.id)
            if t.kind is TransactionKind.FINANCIAL
        ]
    return Expected(
        command_actor(), "settlement.close", Subject("batch", str(financial.batch_id)),
        after={"acquirer": "default", "status": "closing", "debits": 1,
               "debit_total": rub(10000), "credits": 0, "credit_total": rub(0)},
    )  # fmt: skip


@case("ips reconcile")
async def command_reconcile(w: World) -> Expected:
    report = handed_in_report(w.simulator.store_path, w.tmp_path / "report.json")
    day = read_report(report.read_bytes(), ACQUIRER_ID).day
    await w.mark()
    await w.ips("reconcile", "--report", str(report))
    return Expected(
        command_actor(), "reconciliation.run", Subject("acquirer", "default"),
        after={"day": day.isoformat() if day else None, "open_before": 0, "new": 0,
               "resolved": 0, "open": 0},
    )  # fmt: skip


@case("ips points report")
async def command_points_report(w: World) -> Expected:
    await add_merchant(
        AddMerchant(
            POINTS_SHOP, "Points Shop", "points", "points-password", "salt",
            means=frozenset({PaymentMeans.CARD, PaymentMeans.POINTS}),
            return_hosts=("shop.example",),
        ),
        w.database, w.clock, actor=SETUP,
    )  # fmt: skip
    async with make_client(w.gateway) as http:
        paid = await pay(http, await order_page(http))
    assert paid.status_code == 303, paid.text
    day = w.clock().date().isoformat()
    await w.mark()
    await w.ips("points", "report", "--day", day)
    return Expected(
        command_actor(),
        "points.report",
        Subject("merchant", POINTS_SHOP, POINTS_SHOP),
        after={"day": day, "operations": 1, "differences": 0},
    )


@case("ips merchant add")
async def command_merchant_add(w: World) -> Expected:
    await w.mark()
    await w.ips("merchant", "add", "--merchant-id", "333333", "--name", "Third Shop", "--login",
                "third", "--password", "third-password", "--secret-word", "salt")  # fmt: skip
    made = {"login": "third", **settings_of(await w.merchant("333333"))}
    return Expected(
        command_actor(), "merchant.add", Subject("merchant", "333333", "333333"),
        after=made | {"password": CHANGED, "secret_word": CHANGED},
    )  # fmt: skip


@case("ips merchant set")
async def command_merchant_set(w: World) -> Expected:
    await w.mark()
    await w.ips("merchant", "set", "--merchant-id", SHOP, "--name", "Renamed Shop",
                "--secret-word", "another salt")  # fmt: skip
    return Expected(
        command_actor(), "merchant.change", Subject("merchant", SHOP, SHOP),
        before={"name": "Test Shop", "secret_word": None},
        after={"name": "Renamed Shop", "secret_word": CHANGED},
    )  # fmt: skip


@case("ips merchant set of a merchant unknown, refused")
async def command_merchant_set_unknown(w: World) -> None:
    await w.mark()
    await w.ips("merchant", "set", "--merchant-id", "999999", "--name", "Nobody", status=1)


@case("ips merchant disable")
async def command_merchant_disable(w: World) -> Expected:
    await w.mark()
    await w.ips("merchant", "disable", "--merchant-id", SHOP)
    return Expected(
        command_actor(), "merchant.disable", Subject("merchant", SHOP, SHOP),
        before={"disabled": False}, after={"disabled": True},
    )  # fmt: skip


@case("ips merchant enable")
async def command_merchant_enable(w: World) -> Expected:
    await set_disabled(SHOP, True, w.database, w.clock, actor=SETUP)
    await w.mark()
    await w.ips("merchant", "enable", "--merchant-id", SHOP)
    return Expected(
        command_actor(), "merchant.enable", Subject("merchant", SHOP, SHOP),
        before={"disabled": True}, after={"disabled": False},
    )  # fmt: skip


@case("ips operator add")
async def command_operator_add(w: World) -> Expected:
    await w.mark()
    await w.ips("operator", "add", "--login", "nick", "--password", PASSWORD, "--role", "viewer")
    return Expected(
        command_actor(), "operator.add", Subject("operator", "nick"),
        after={"role": "viewer", "password": CHANGED},
    )  # fmt: skip


@case("ips operator disable")
async def command_operator_disable(w: World) -> Expected:
    await w.mark()
    await w.ips("operator", "disable", "--login", "vika")
    return Expected(
        command_actor(), "operator.disable", Subject("operator", "vika"),
        before={"state": "active"}, after={"state": "disabled"},
    )  # fmt: skip


@case("ips operator enable")
async def command_operator_enable(w: World) -> Expected:
    await disable_operator("vika", w.database, w.clock, actor=SETUP)
    await w.mark()
    await w.ips("operator", "enable", "--login", "vika")
    return Expected(
        command_actor(), "operator.enable", Subject("operator", "vika"),
        before={"state": "disabled"}, after={"state": "active"},
    )  # fmt: skip


@case("ips operator reset-totp")
async def command_operator_reset_totp(w: World) -> Expected:
    await w.mark()
    said = await w.ips("operator", "reset-totp", "--login", "ada")
    assert "otpauth://" in said, said
    return Expected(
        command_actor(), "operator.reset_totp", Subject("operator", "ada"),
        after={"totp_secret": CHANGED},
    )  # fmt: skip


# --- The test --------------------------------------------------------------------------------


@pytest.fixture
async def world(
    database: Database,
    database_url: str,
    clock: ManualClock,
    simulator: Simulator,
    sender: HttpCallbackSender,
    tmp_path: Path,
) -> AsyncIterator[World]:
    settings = Settings()
    processing = Iso8583ProcessingCenter(
        "127.0.0.1", simulator.port, terminal_id=settings.terminal_id,
        acquirer_id=settings.acquirer_id, timeout=5.0,
    )  # fmt: skip
    await processing.start()
    loyalty = HttpLoyalty(simulator.http_url, timeout=5.0)
    gateway = Gateway(database, processing, database.keyring, clock=clock, loyalty=loyalty)
    await add_merchant(MERCHANT, database, clock, actor=SETUP)
    env = {
        "IPS_DATABASE_URL": database_url,
        "IPS_KEY_FILE": str(tmp_path / "ips.key"),
        "IPS_PROCESSING": f"127.0.0.1:{simulator.port}",
        "IPS_LOYALTY_URL": simulator.http_url,
        "IPS_PROCESSING_TIMEOUT": "5",
    }
    world = World(
        await open_cabinet(gateway, database, clock), await open_console(gateway, database, clock),
        sender, database, simulator, clock, env, tmp_path,
    )  # fmt: skip
    await bind_keyring(database.engine, tmp_path / "ips.key")  # as the command would, once
    try:
        yield world
    finally:
        await loyalty.close()
        await processing.close()


@pytest.mark.parametrize("act", CASES)
async def test_every_action_writes_its_audit_record(world: World, act: Case) -> None:
    await world.mark()
    expected = await act(world)

    written = await world.entries(world.since)
    if expected is None:
        assert written == []
        assert await world.snapshot() == world.rows, "a refused action changed something"
        return
    assert [(e.actor, e.action, e.subject, e.before, e.after) for e in written] == [
        (expected.actor, expected.action, expected.subject, expected.before, expected.after)
    ]


@pytest.mark.usefixtures("merchant")
async def test_the_order_s_page_shows_who_changed_it_from_where_and_the_values(
    cabinet: Cabinet,
) -> None:
    bill = cabinet.held.billnumber
    async with cabinet.signed_in("anna") as anna:
        before = (await anna.get(f"/cabinet/orders/{bill}")).text
        assert "Nobody has confirmed or cancelled the order by hand." in before
        done = await step_and_send(anna, bill, "confirm", amount="40.00")
        page = (await anna.get(done.headers["location"])).text
    history = page.split("<h2>History</h2>", 1)[1]
    assert "anna (shop user)" in history and BROWSER in history and "order.confirm" in history
    assert "state: Delayed → PartialDelayed" in history
    assert "confirmed: 0.00 RUB → 40.00 RUB" in history and "asked: — → 40.00 RUB" in history
    async with cabinet.signed_in("olga") as olga:  # another merchant's order: not this trail
        theirs = (await olga.get(f"/cabinet/orders/{cabinet.theirs.billnumber}")).text
    assert "order.confirm" not in theirs
