"""The Personal Account's test world: two merchants, their users, a held order of each, and
clients signed in as those users (``https://``: the session cookie is ``Secure``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from ips.domain.orders import Order
from ips.domain.users import Role
from ips.services.accounts import add_user
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, add_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP, make_client
from tests.fakes import ManualClock
from tests.integration.test_payment_service import card

PASSWORD = "correct horse battery"
OTHER = AddMerchant(
    merchant_id="222222", name="Other Shop", login="other", password="other-password",
    secret_word="other", double_stage=True,
)  # fmt: skip


@dataclass
class Cabinet:
    gateway: Gateway
    clock: ManualClock
    held: Order
    """A double-stage order of merchant 111111, paid and held."""
    theirs: Order
    """An order of merchant 222222, paid."""

    def client(self) -> httpx.AsyncClient:
        return make_client(self.gateway, base_url="https://ips.test")

    @asynccontextmanager
    async def signed_in(
        self, login: str, password: str = PASSWORD
    ) -> AsyncIterator[httpx.AsyncClient]:
        async with self.client() as http:
            answer = await sign_in(http, login, password)
            assert answer.status_code == 303, answer.text
            yield http


async def paid_order(gateway: Gateway, merchant_id: str, number: str, delay: bool) -> Order:
    order = await create_order(
        CreateOrder(merchant_id, number, "100.00", "RUB", delay=delay), gateway
    )
    return (await pay_by_card(PayByCard(order.billnumber, card()), gateway)).order


async def open_cabinet(gateway: Gateway, database: Database, clock: ManualClock) -> Cabinet:
    await add_merchant(OTHER, database, clock, actor=SETUP)
    for merchant_id, login, role in (
        ("111111", "anna", Role.OPERATOR),
        ("111111", "vera", Role.VIEWER),
        ("111111", "adam", Role.ADMIN),
        ("222222", "olga", Role.ADMIN),
    ):
        await add_user(merchant_id, login, PASSWORD, role, database, clock)
    held = await paid_order(gateway, "111111", "ours-1", delay=True)
    theirs = await paid_order(gateway, "222222", "theirs-1", delay=True)
    return Cabinet(gateway, clock, held, theirs)


async def sign_in(http: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    form = await http.get("/cabinet/login")
    token = hidden(form.text, "token")
    return await http.post(
        "/cabinet/login", data={"login": login, "password": password, "token": token}
    )


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


async def csrf_of(http: httpx.AsyncClient) -> str:
    return hidden((await http.get("/cabinet/password")).text, "csrf")


async def orderstate(gateway: Gateway, order: Order) -> str:
    async with make_client(gateway) as http:
        answer = await http.post(
            "/orderstate/orderstate.cfm",
            data={"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password",
                  "OrderNumber": order.ordernumber, "Format": "3"},
        )  # fmt: skip
    found = re.search(r"<orderstate>([^<]+)</orderstate>", answer.text)
    assert found, answer.text
    return found.group(1)
