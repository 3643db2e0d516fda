"""Whichever node a request reaches: a Personal Account session signed in on one node is the
same on the other, a form one node gave is taken by the other, and the failed sign-ins of
both nodes add up to one lock. (Sessions and guards are rows of the database; form tokens are
signed with a key derived from the key file all nodes share.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ips.crypto.keyring import KeyRing
from ips.domain.merchants import Merchant
from ips.domain.states import OrderState
from ips.services.gateway import Gateway
from ips.services.merchants import add_merchant
from ips.storage.database import create_engine
from ips.storage.unit_of_work import Database
from tests.cabinet import PASSWORD, Cabinet, hidden, open_cabinet, orderstate, sign_in
from tests.conftest import MERCHANT, SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_cabinet import act
from tests.integration.test_http_payment import card_form
from tests.integration.test_means_and_3ds import REQUEST, bill, state, token_of
from tests.nodes import Balancer, buyer


@pytest.fixture
async def nodes(
    database_url: str,
    gateway: Gateway,
    keyring: KeyRing,
    clock: ManualClock,
    fake_processing: FakeProcessingCenter,
) -> AsyncIterator[list[Gateway]]:
    other = Database(create_engine(database_url), keyring)
    yield [gateway, Gateway(other, fake_processing, keyring, clock=clock, sleep=gateway.sleep)]
    await other.dispose()


@pytest.fixture
async def cabinet(
    nodes: list[Gateway], database: Database, clock: ManualClock, merchant: Merchant
) -> Cabinet:
    return await open_cabinet(nodes[0], database, clock)


async def test_a_session_signed_in_on_one_node_is_used_and_ended_on_the_other(
    nodes: list[Gateway], cabinet: Cabinet
) -> None:
    balancer = Balancer(nodes)
    bill_ = cabinet.held.billnumber
    async with buyer(balancer, "https://ips.test") as browser:
        form = await browser.get("/cabinet/login")  # node 0 gives the form
        balancer.to = 1
        signed_in = await browser.post(
            "/cabinet/login",
            data={"login": "anna", "password": PASSWORD, "token": hidden(form.text, "token")},
        )
        assert signed_in.status_code == 303, signed_in.text
        balancer.to = 0
        assert (await browser.get(f"/cabinet/orders/{bill_}")).status_code == 200

        step = await browser.get(f"/cabinet/orders/{bill_}/confirm")  # node 0's CSRF form
        balancer.to = 1
        form_data = {name: hidden(step.text, name) for name in ("csrf", "seen", "once")}
        done = await browser.post(
            f"/cabinet/orders/{bill_}/confirm", data=form_data | {"amount": "100.00"}
        )
        assert done.status_code == 303 and done.headers["location"].endswith("?done=2")
        assert await orderstate(nodes[0], cabinet.held) == "Approved"

        signed_out = await browser.post("/cabinet/logout", data={"csrf": form_data["csrf"]})
        assert signed_out.status_code == 303
        balancer.to = 0
        assert (await browser.get(f"/cabinet/orders/{bill_}")).status_code == 303  # to sign in


async def test_an_action_form_is_used_once_whichever_node_gets_it_again(
    nodes: list[Gateway], cabinet: Cabinet
) -> None:
    balancer = Balancer(nodes)
    async with buyer(balancer, "https://ips.test") as browser:
        assert (await sign_in(browser, "anna", PASSWORD)).status_code == 303
        first, form = await act(browser, cabinet.held.billnumber, "confirm", amount="40.00")
        assert first.status_code == 303
        balancer.to = 1
        again = await browser.post(f"/cabinet/orders/{cabinet.held.billnumber}/confirm", data=form)
    assert again.status_code == 400 and "changed since the form was shown" in again.text
    async with nodes[1].uow_factory(readonly=True) as uow:
        order = await uow.orders.get(cabinet.held.billnumber)
    assert order is not None and order.books is not None and order.books.confirmed == 40_00


async def test_failed_sign_ins_on_both_nodes_add_up_to_one_lock(
    nodes: list[Gateway], cabinet: Cabinet
) -> None:
    balancer = Balancer(nodes)
    async with buyer(balancer, "https://ips.test") as browser:
        answers = []
        for n in range(10):
            balancer.to = n % 2
            answers.append((await sign_in(browser, "anna", "wrong password!")).status_code)
        assert answers == [401] * 9 + [429]
        for node in (0, 1):
            balancer.to = node
            assert (await sign_in(browser, "anna", PASSWORD)).status_code == 429


async def test_guesses_at_once_on_both_nodes_get_no_more_than_ten(
    postgres_url: str, keyring: KeyRing, clock: ManualClock
) -> None:
    databases = [Database(create_engine(postgres_url), keyring) for _ in range(2)]

    async def pause(seconds: float) -> None:
        pass

    gateways = [
        Gateway(db, FakeProcessingCenter(), keyring, clock=clock, sleep=pause) for db in databases
    ]
    try:
        await add_merchant(MERCHANT, databases[0], clock, actor=SETUP)
        await open_cabinet(gateways[0], databases[0], clock)
        balancers = [Balancer(gateways), Balancer(gateways)]
        balancers[1].to = 1
        async with buyer(balancers[0], "https://ips.test") as one:
            token = hidden((await one.get("/cabinet/login")).text, "token")
            async with buyer(balancers[1], "https://ips.test") as other:
                other.cookies = one.cookies

                async def guess(n: int) -> int:
                    data = {"login": "anna", "password": f"wrong guess {n}", "token": token}
                    http = (one, other)[n % 2]
                    return (await http.post("/cabinet/login", data=data)).status_code

                answers = await asyncio.gather(*(guess(n) for n in range(30)))
    finally:
        for db in databases:
            await db.dispose()
    assert sorted(answers) == [401] * 9 + [429] * 21


async def test_a_card_form_given_by_one_node_pays_on_the_other(
    nodes: list[Gateway], database: Database, merchant: Merchant
) -> None:
    balancer = Balancer(nodes)
    async with buyer(balancer) as browser:
        created = await browser.post(
            "/pay/order.cfm", data=REQUEST | {"Merchant_ID": "111111", "YMPayment": "0"}
        )
        page = str(created.headers["location"])
        token = await token_of(browser, page)
        balancer.to = 1
        paid = await browser.post(f"{page}/card", data=card_form(token))
    assert paid.status_code == 303, paid.text
    assert await state(database, bill(page)) in (OrderState.APPROVED, OrderState.DELAYED)
