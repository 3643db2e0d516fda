"""The console's merchants, acquirers and audit trail over HTTP (both databases): what each
role may read and do (viewer and operator read; an administrator changes), a merchant made,
edited, disabled and enabled and its web-service password reset — each in the audit trail
under the operator and its address —, an edit over settings changed since refused whole,
double-stage switched off over a hold that is still confirmed, and bad input answered."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from ips.crypto.passwords import verify_password
from ips.domain.audit import CHANGED, Actor, ActorKind
from ips.domain.merchants import settings_of
from ips.domain.states import OrderState
from ips.services.acquirers import AcquirerSettings, add_acquirer
from ips.services.audit import trail
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway, Link
from ips.services.merchant_files import merchant_file
from ips.services.merchants import ChangeMerchant, SignedIn, change_merchant
from ips.services.terminals import Terminal
from ips.storage.unit_of_work import Database
from tests.cabinet import Cabinet
from tests.conftest import SETUP
from tests.console import Console, csrf_of, hidden
from tests.fakes import FakeProcessingCenter

pytestmark = pytest.mark.usefixtures("merchant")
ADA = Actor(ActorKind.OPERATOR, "ada", "203.0.113.7")
"""The administrator, as the trail names it (the test client's address)."""
NEW = {
    "merchant_id": "333333", "login": "newshop", "name": "New Shop", "default_currency": "USD",
    "payment_attempts": "3", "points_share": "50", "points_accrual": "0", "means": ["card"],
    "notify_answer": "plain", "return_hosts": "new.example", "callback_url": "", "routes": "",
    "ws_addresses": "", "double_stage": "on",
}  # fmt: skip


async def edit_form(
    http: httpx.AsyncClient, database: Database, merchant_id: str = "111111", **changes: Any
) -> dict[str, Any]:
    """The settings form of the merchant's page as a browser sends it, with ``changes``; its
    version is the one the page shows."""
    page = await http.get(f"/admin/merchants/{merchant_id}")
    settings = settings_of((await merchant_file(merchant_id, database)).merchant)
    form: dict[str, Any] = {
        "csrf": hidden(page.text, "csrf"), "version": hidden(page.text, "version"),
        "secret_word": "",
    }  # fmt: skip
    for name, value in settings.items():
        if isinstance(value, bool):
            if value:
                form[name] = "on"
        elif name in ("notify_kinds", "means", "required_fields"):
            form[name] = value
        elif isinstance(value, list):
            form[name] = " ".join(value)
        else:
            form[name] = str(value)
    for name, value in changes.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    return form


@dataclass(frozen=True)
class Ask:
    method: str
    path: str
    answers: tuple[int, int, int]
    """Of vika (viewer), otto (operator), ada (admin)."""
    form: dict[str, Any] = field(default_factory=dict)


ASKS = [
    Ask("GET", "/admin/merchants", (200, 200, 200)),
    Ask("GET", "/admin/merchants?q=other&after=", (200, 200, 200)),
    Ask("GET", "/admin/merchants/new", (403, 403, 200)),
    Ask("POST", "/admin/merchants/new", (403, 403, 200), NEW),
    Ask("GET", "/admin/merchants/111111", (200, 200, 200)),
    Ask("GET", "/admin/merchants/999999", (404, 404, 404)),
    Ask("POST", "/admin/merchants/111111", (403, 403, 303), {"name": "Renamed"}),
    Ask("POST", "/admin/merchants/999999", (403, 403, 404), {"name": "Renamed"}),
    Ask("POST", "/admin/merchants/111111/disable", (403, 403, 303)),
    Ask("POST", "/admin/merchants/111111/enable", (403, 403, 303)),
    Ask("POST", "/admin/merchants/999999/disable", (403, 403, 404)),
    Ask("POST", "/admin/merchants/111111/ws-password", (403, 403, 200)),
    Ask("POST", "/admin/merchants/999999/ws-password", (403, 403, 404)),
    Ask("GET", "/admin/acquirers", (200, 200, 200)),
    Ask("GET", "/admin/acquirers/default", (200, 200, 200)),
    Ask("GET", "/admin/acquirers/BANK-A", (200, 200, 200)),
    Ask("GET", "/admin/acquirers/NO-SUCH", (404, 404, 404)),
    Ask("GET", "/admin/audit", (200, 200, 200)),
    Ask("GET", "/admin/audit?merchant=111111&actor=ada&action=merchant.change", (200, 200, 200)),
    Ask("GET", "/admin/audit?before=12", (200, 200, 200)),
]


@pytest.mark.parametrize("ask", ASKS, ids=[f"{a.method} {a.path}" for a in ASKS])
async def test_what_each_role_may_read_and_do(
    console: Console, cabinet: Cabinet, database: Database, ask: Ask
) -> None:
    await add_acquirer("BANK-A", AcquirerSettings(processing="127.0.0.1:9"), database)
    for login, expected in zip(("vika", "otto", "ada"), ask.answers, strict=True):
        async with console.signed_in(login) as http:
            if ask.method == "GET":
                answer = await http.get(ask.path)
            elif ask.path.count("/") == 3 and not ask.path.endswith("/new"):  # the edit form
                form = await edit_form(http, database, **ask.form) if expected == 303 else {
                    **ask.form, "csrf": await csrf_of(http)}  # fmt: skip
                answer = await http.post(ask.path, data=form)
            else:
                answer = await http.post(ask.path, data={**ask.form, "csrf": await csrf_of(http)})
        assert answer.status_code == expected, f"{login}: {answer.text}"
        if expected == 403:
            assert "Only an administrator may do this." in answer.text
        assert answer.status_code == 303 or answer.headers["cache-control"] == "no-store"


async def test_an_administrator_adds_a_merchant_whose_secrets_are_shown_once(
    console: Console, cabinet: Cabinet, database: Database
) -> None:
    async with console.signed_in("ada") as http:
        made = await http.post("/admin/merchants/new", data={**NEW, "csrf": await csrf_of(http)})
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        shown = re.search(r'id="password" class="key" value="([^"]+)"', made.text)
        assert shown is not None
        password = shown.group(1)
        page = await http.get("/admin/merchants/333333")
        assert password not in page.text and "New Shop" in page.text
        again = await http.post("/admin/merchants/new", data={**NEW, "csrf": await csrf_of(http)})
        assert again.status_code == 400 and "Merchant 333333 already exists." in again.text

    added = (await merchant_file("333333", database)).merchant
    assert await verify_password(added.password_hash, password)
    assert (added.default_currency.code, added.double_stage, added.return_hosts) == (
        "USD", True, ("new.example",))  # fmt: skip
    [entry] = await trail(database, merchant_id="333333")
    assert (entry.action, entry.actor) == ("merchant.add", ADA)
    assert entry.after is not None and entry.after["password"] == CHANGED


async def test_an_administrator_s_every_change_is_in_the_trail(
    console: Console, cabinet: Cabinet, database: Database
) -> None:
    async with console.signed_in("ada") as http:
        form = await edit_form(
            http, database, name="Renamed Shop", payment_attempts="5", means=["card", "points"],
            secret_word="a-new-word",
        )  # fmt: skip
        changed = await http.post("/admin/merchants/111111", data=form)
        assert changed.status_code == 303
        assert changed.headers["location"] == "/admin/merchants/111111?done=changed"
        page = await http.get(changed.headers["location"])
        assert "The settings are saved." in page.text and "a-new-word" not in page.text
        csrf = await csrf_of(http)
        for action in ("disable", "enable"):
            done = await http.post(f"/admin/merchants/111111/{action}", data={"csrf": csrf})
            assert done.headers["location"] == f"/admin/merchants/111111?done={action}d"
        reset = await http.post("/admin/merchants/111111/ws-password", data={"csrf": csrf})
        assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
        audit = await http.get("/admin/audit?merchant=111111")

    entries = await trail(database, merchant_id="111111")
    mine = [e for e in entries if e.actor == ADA]
    assert [(e.action, e.before, e.after) for e in mine] == [
        ("merchant.reset_ws_password", {"password": None}, {"password": CHANGED}),
        ("merchant.enable", {"disabled": True}, {"disabled": False}),
        ("merchant.disable", {"disabled": False}, {"disabled": True}),
        ("merchant.change",
         {"name": "Test Shop", "means": ["card", "wallet"], "payment_attempts": 3,
          "secret_word": None},
         {"name": "Renamed Shop", "means": ["card", "points"], "payment_attempts": 5,
          "secret_word": CHANGED}),
    ]  # fmt: skip
    assert "Test Shop → Renamed Shop" in audit.text and "card, wallet → card, points" in audit.text
    assert "a-new-word" not in audit.text and "(changed)" in audit.text
    after = (await merchant_file("111111", database)).merchant
    assert after.secret_word.reveal() == "a-new-word"


async def test_an_edit_over_settings_changed_meanwhile_is_refused_whole(
    console: Console, cabinet: Cabinet, database: Database
) -> None:
    async with console.signed_in("ada") as http:
        form = await edit_form(http, database, name="Ada's Name", payment_attempts="7")
        await change_merchant(
            "111111", ChangeMerchant(name="Someone Else's"), database, actor=SETUP
        )
        refused = await http.post("/admin/merchants/111111", data=form)

    assert refused.status_code == 409
    assert "This merchant was changed by someone else meanwhile: here it is as it is now." in (
        refused.text
    )
    assert 'value="Someone Else&#39;s"' in refused.text
    kept = (await merchant_file("111111", database)).merchant
    assert (kept.name, kept.payment_attempts) == ("Someone Else's", 3)
    assert not [e for e in await trail(database, merchant_id="111111") if e.actor == ADA]


async def test_double_stage_off_over_a_hold_says_it_stays_and_the_hold_is_confirmed(
    console: Console, cabinet: Cabinet, database: Database, gateway: Gateway
) -> None:
    async with console.signed_in("ada") as http:
        form = await edit_form(http, database, double_stage=None)
        changed = await http.post("/admin/merchants/111111", data=form)
        page = await http.get(changed.headers["location"])

    assert changed.headers["location"].endswith("?done=changed&holds=1")
    assert (
        "Double-stage is off for new orders; 1 hold stays open until confirmed or released."
        in page.text
    )
    confirmed = await confirm(Confirm(cabinet.held.billnumber), SignedIn("111111"), gateway)
    assert confirmed.order.state is OrderState.APPROVED
    assert (await merchant_file("111111", database)).holds_open == 0


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"payment_attempts": "many"}, "Give a whole number."),
        ({"payment_attempts": "0"}, "Payment attempts are 1 to 10 an order."),
        ({"routes": "*:*=NO-SUCH"}, "No acquirer NO-SUCH."),
        ({"routes": "XYZ:*=BANK"}, "The route &#39;XYZ:*=BANK&#39;: unknown currency"),
        ({"notify_kinds": ["payment", "refund"]}, "Choose among the options given."),
        ({"means": ["points"]}, "The merchant needs a way to pay"),
        ({"default_currency": "ZZZ"}, "Unknown currency &#39;ZZZ&#39;."),
        ({"ws_addresses": "not-an-address"}, "is not an IP address or a network"),
        ({"callback_url": "ftp://shop.example/"}, "The callback URL must be an http(s) URL."),
    ],
)
async def test_a_wrong_setting_is_said_and_nothing_is_saved(
    console: Console, cabinet: Cabinet, database: Database, changes: dict[str, Any], said: str
) -> None:
    async with console.signed_in("ada") as http:
        form = await edit_form(http, database, name="Never Saved", **changes)
        answer = await http.post("/admin/merchants/111111", data=form)
    assert answer.status_code == 400 and said in answer.text
    assert 'aria-invalid="true"' in answer.text and 'value="Never Saved"' in answer.text
    assert (await merchant_file("111111", database)).merchant.name == "Test Shop"


async def test_merchants_are_found_and_their_file_shows_users_holds_and_changes(
    console: Console, cabinet: Cabinet
) -> None:
    async with console.signed_in("otto") as http:
        found = await http.get("/admin/merchants", params={"q": "OTHER"})
        everyone = await http.get("/admin/merchants")
        page = await http.get("/admin/merchants/111111")
        nul = await http.get("/admin/merchants", params={"q": "a\x00b"})
        old = await http.get("/admin/audit", params={"before": "x"})
    assert "222222" in found.text and 'href="/admin/merchants/111111"' not in found.text
    assert "222222" in everyone.text and "111111" in everyone.text
    assert "New merchant" not in everyone.text  # an operator adds none
    for seen in ("anna", "vera", "adam", "operator", "Holds open</dt><dd>1", "merchant.add"):
        assert seen in page.text
    assert (
        "Save the settings" not in page.text and "Reset the web-service password" not in page.text
    )
    assert (nul.status_code, old.status_code) == (400, 400)


class Telling(FakeProcessingCenter):
    """A processing center that tells of its link, as the ISO 8583 client does."""

    def __init__(self, signed_on: bool) -> None:
        super().__init__()
        self.signed_on = signed_on
        self.address = "10.1.2.3:8583"


async def test_each_acquirer_shows_its_rules_and_this_node_s_link(
    console: Console, database: Database, gateway: Gateway
) -> None:
    settings = AcquirerSettings(processing="10.1.2.3:8583", currencies="USD", card_on_file=True)
    bank_a = await add_acquirer("BANK-A", settings, database)
    await add_acquirer("BANK-B", AcquirerSettings(processing="10.9.9.9:8583"), database)
    gateway.links.by_name["BANK-A"] = Link(bank_a, Telling(True), Terminal("IPSA0001"))

    async with console.signed_in("vika") as http:
        listed = await http.get("/admin/acquirers")
        one = await http.get("/admin/acquirers/BANK-A")
        gateway.links.by_name["BANK-A"] = Link(bank_a, Telling(False), Terminal("IPSA0001"))
        down = await http.get("/admin/acquirers/BANK-A")
        default = await http.get("/admin/acquirers/default")

    rows = listed.text.split("<tr>")[2:]
    assert [row.split('">')[1].split("<")[0] for row in rows] == ["default", "BANK-A", "BANK-B"]
    assert "unknown" in rows[0] and "signed on" in rows[1] and "not connected" in rows[2]
    assert "USD" in rows[1] and "card on file" in rows[1] and "every currency" in rows[2]
    assert "signed on</strong> to 10.1.2.3:8583" in one.text and "IPSA0001" in one.text
    assert "not signed on</strong>" in down.text
    assert "the settings' (IPS_PROCESSING)" in default.text
