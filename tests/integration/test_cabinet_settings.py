"""The merchant's settings in the Personal Account: notifications and ways to pay, the
web-service password, and the secret word rotated without refusing a request."""

from __future__ import annotations

import re

import httpx
import pytest

from ips.domain.checkvalue import answer_checkvalue
from ips.domain.merchants import Merchant
from ips.domain.notifications import AnswerMode
from ips.domain.orders import OperationKind, PaymentMeans
from ips.domain.signed_fields import payment_request_checkvalue
from ips.services.gateway import Gateway
from ips.storage.unit_of_work import Database
from tests.cabinet import Cabinet, csrf_of, orderstate
from tests.conftest import make_client

pytestmark = pytest.mark.usefixtures("merchant")


async def _merchant(database: Database) -> Merchant:
    async with database(readonly=True) as uow:
        merchant = await uow.merchants.get("111111")
    assert merchant is not None
    return merchant


async def _pay_request(gateway: Gateway, number: str, word: str) -> httpx.Response:
    fields = {"merchant_id": "111111", "ordernumber": number, "orderamount": "10.00"}
    async with make_client(gateway) as http:
        return await http.post(
            "/pay/order.cfm",
            data={"Merchant_ID": "111111", "OrderNumber": number, "OrderAmount": "10.00",
                  "Checkvalue": payment_request_checkvalue(word, fields)},
        )  # fmt: skip


async def test_an_administrator_changes_notifications_and_ways_to_pay(
    cabinet: Cabinet, database: Database
) -> None:
    async with cabinet.signed_in("adam") as adam:
        page = await adam.get("/cabinet/settings")
        assert page.status_code == 200 and "Notification URL" in page.text
        saved = await adam.post(
            "/cabinet/settings/notifications",
            data={"csrf": await csrf_of(adam), "callback_url": "https://shop.example/notify",
                  "kind": ["100", "300"], "answer": "plain", "means": ["card", "points"]},
        )  # fmt: skip
        assert saved.status_code == 303
        shown = await adam.get(saved.headers["location"])
        assert "The notifications and the ways to pay are saved." in shown.text
    merchant = await _merchant(database)
    assert merchant.callback_url == "https://shop.example/notify"
    assert merchant.notify_kinds == {OperationKind.PAYMENT, OperationKind.CANCEL}
    assert merchant.notify_answer is AnswerMode.PLAIN
    assert merchant.means == {PaymentMeans.CARD, PaymentMeans.POINTS}


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"callback_url": "https://shop.example:25/notify", "kind": "100"}, "port"),
        ({"callback_url": "", "kind": "100"}, "need the URL"),
        ({"callback_url": "https://shop.example/n", "kind": "100", "means": []}, "a way to pay"),
        ({"callback_url": "https://shop.example/n", "means": ["points"]}, "a card or the e-wallet"),
        ({"callback_url": "https://shop.example/n", "kind": "999"}, "options given"),
        ({"callback_url": "https://shop.example/n", "answer": "xml"}, "options given"),
        ({"callback_url": "http://127.0.0.1/notify", "kind": "100"}, "public address"),
        ({"callback_url": "http://169.254.169.254/latest/", "kind": "100"}, "public address"),
        ({"callback_url": "http://10.0.0.7:8080/", "kind": "100"}, "public address"),
        ({"callback_url": "http://[::1]/n", "kind": "100"}, "public address"),
        ({"callback_url": "http://localhost/n", "kind": "100"}, "public address"),
    ],
)
async def test_bad_notification_settings_change_nothing(
    cabinet: Cabinet, database: Database, data: dict[str, object], said: str
) -> None:
    before = await _merchant(database)
    async with cabinet.signed_in("adam") as adam:
        answer = await adam.post(
            "/cabinet/settings/notifications",
            data={"csrf": await csrf_of(adam), "answer": "pushpaymentresult", "means": "card"}
            | data,
        )
        assert answer.status_code == 400
        assert said in answer.text and 'aria-invalid="true"' in answer.text
    assert await _merchant(database) == before


async def test_a_new_web_service_password_replaces_the_old_one(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("adam") as adam:
        changed = await adam.post(
            "/cabinet/settings/password",
            data={"csrf": await csrf_of(adam), "password": "new-ws-password",
                  "repeat": "new-ws-password"},
        )  # fmt: skip
        assert changed.status_code == 303
    async with make_client(cabinet.gateway) as http:
        ask = {"Merchant_ID": "111111", "Login": "shop", "OrderNumber": "ours-1", "Format": "3"}
        old = await http.post(
            "/orderstate/orderstate.cfm", data=ask | {"Password": "shop-password"}
        )
        new = await http.post(
            "/orderstate/orderstate.cfm", data=ask | {"Password": "new-ws-password"}
        )
    assert 'firstcode="0"' not in old.text
    assert "<orderstate>Delayed</orderstate>" in new.text


async def test_the_old_secret_word_is_accepted_for_the_grace_period_only(
    cabinet: Cabinet,
) -> None:
    async with cabinet.signed_in("adam") as adam:
        rotated = await adam.post(
            "/cabinet/settings/secret",
            data={"csrf": await csrf_of(adam), "secret_word": "new secret", "grace": "24"},
        )
        assert rotated.status_code == 303
        page = await adam.get("/cabinet/settings")
        assert "The previous secret word is accepted until" in page.text
    assert (await _pay_request(cabinet.gateway, "R-old", "secret")).status_code == 303
    assert (await _pay_request(cabinet.gateway, "R-new", "new secret")).status_code == 303
    assert (await _pay_request(cabinet.gateway, "R-wrong", "wrong")).status_code == 400

    async with make_client(cabinet.gateway) as http:
        answer = await http.post(
            "/orderstate/orderstate.cfm",
            data={"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password",
                  "OrderNumber": "ours-1", "Format": "3"},
        )  # fmt: skip
    signed = re.search(r"<checkvalue>([0-9A-F]+)</checkvalue>", answer.text)
    assert signed is not None  # answers are signed with the new word at once
    assert signed.group(1) == answer_checkvalue(
        "new secret", "111111", "ours-1", "100.00", "RUB", "Delayed"
    )

    cabinet.clock.advance(hours=24)
    assert (await _pay_request(cabinet.gateway, "R-late", "secret")).status_code == 400
    assert (await _pay_request(cabinet.gateway, "R-late", "new secret")).status_code == 303


async def test_without_a_grace_period_the_old_word_stops_at_once(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("adam") as adam:
        await adam.post(
            "/cabinet/settings/secret",
            data={"csrf": await csrf_of(adam), "secret_word": "new secret", "grace": "0"},
        )
    assert (await _pay_request(cabinet.gateway, "R-old", "secret")).status_code == 400


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"secret_word": "secret", "grace": "24"}, "is the current one"),
        ({"secret_word": "", "grace": "24"}, "may not be empty"),
        ({"secret_word": "new secret", "grace": "999"}, "options given"),
    ],
)
async def test_a_bad_secret_word_changes_nothing(
    cabinet: Cabinet, database: Database, data: dict[str, str], said: str
) -> None:
    async with cabinet.signed_in("adam") as adam:
        answer = await adam.post(
            "/cabinet/settings/secret", data={"csrf": await csrf_of(adam)} | data
        )
        assert answer.status_code == 400 and said in answer.text
    after = await _merchant(database)
    assert after.secret_word.reveal() == "secret" and after.previous_secret_word is None


async def test_only_an_administrator_sees_or_changes_the_settings(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("anna") as anna:
        assert (await anna.get("/cabinet/settings")).status_code == 403
        csrf = await csrf_of(anna)
        for part, data in (
            ("notifications", {"callback_url": "", "answer": "plain", "means": "card"}),
            ("password", {"password": "hijacked-password", "repeat": "hijacked-password"}),
            ("secret", {"secret_word": "hijacked", "grace": "0"}),
        ):
            answer = await anna.post(f"/cabinet/settings/{part}", data={"csrf": csrf} | data)
            assert answer.status_code == 403
    assert (await _pay_request(cabinet.gateway, "R-old", "secret")).status_code == 303
    assert await orderstate(cabinet.gateway, cabinet.held) == "Delayed"
