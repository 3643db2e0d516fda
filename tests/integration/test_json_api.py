"""The JSON API over HTTP on real storage (the fake processing center behind it): orders made
with a key, paid on the hosted page, captured, cancelled and listed; what is refused, as
problem details, with nothing stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from ips.domain.api_keys import Scope
from ips.services.api_keys import create_api_key
from ips.services.gateway import Gateway
from ips.services.idempotency import purge_expired
from ips.services.monitor import OrderFilter
from ips.services.payments import PayByCard, pay_by_card
from ips.storage.unit_of_work import Database
from tests.conftest import SETUP, make_client
from tests.fakes import ManualClock
from tests.integration.test_payment_service import card

pytestmark = pytest.mark.usefixtures("merchant")


@pytest.fixture
async def api(
    gateway: Gateway, database: Database, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    _, token = await create_api_key("111111", "tests", Scope.WRITE, database, clock, actor=SETUP)
    async with make_client(gateway) as http:
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def order(number: str = "API-1", amount: int = 10000, **more: object) -> dict[str, object]:
    return {"order_number": number, "amount": amount, "currency": "RUB", **more}


async def test_an_order_made_paid_captured_in_part_and_refunded(
    api: httpx.AsyncClient, gateway: Gateway
) -> None:
    made = await api.post("/api/v1/orders", json=order(capture="manual"))
    assert made.status_code == 201, made.text
    body = made.json()
    bill = body["billnumber"]
    assert body["state"] == "In Process" and body["capture"] == "manual"
    assert body["payment_url"] == f"http://ips.test/pay/{bill}" and body["operations"] == []

    await pay_by_card(PayByCard(bill, card()), gateway)
    got = (await api.get(f"/api/v1/orders/{bill}")).json()
    assert got["state"] == "Delayed"
    assert [(o["type"], o["status"], o["amount"]) for o in got["operations"]] == [
        ("payment", "success", 10000)
    ]

    captured = await api.post(
        f"/api/v1/orders/{bill}/captures", json={"amount": 6000, "currency": "RUB"}
    )
    assert captured.status_code == 201, captured.text
    assert captured.json()["operation"]["type"] == "confirmation"
    assert captured.json()["order"]["state"] == "PartialDelayed"

    refunded = await api.post(f"/api/v1/orders/{bill}/cancels", json={})
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["operation"]["amount"] == 10000
    assert refunded.json()["operation"]["method"] in {"reversal", "refund", "both"}
    assert refunded.json()["order"]["state"] == "Canceled"

    listed = (await api.get("/api/v1/orders", params={"limit": 1})).json()
    assert [o["billnumber"] for o in listed["data"]] == [bill] and not listed["has_more"]


async def test_refused_requests_are_problem_details_and_store_nothing(
    api: httpx.AsyncClient, database: Database
) -> None:
    no_key = await api.post("/api/v1/orders", json=order(), headers={"Authorization": ""})
    assert no_key.status_code == 401
    assert no_key.headers["content-type"].startswith("application/problem+json")
    assert no_key.json()["type"].endswith("/unauthenticated")

    decimal = await api.post("/api/v1/orders", json=order(amount=100.5))  # type: ignore[arg-type]
    assert decimal.status_code == 422 and decimal.json()["field"] == "amount"
    unknown = await api.post("/api/v1/orders", json={**order(), "colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "colour"
    other = await api.get("/api/v1/orders/1234567890123456")
    assert other.status_code == 404 and other.json()["status"] == 404

    made = (await api.post("/api/v1/orders", json=order("API-2"))).json()
    too_much = await api.post(
        f"/api/v1/orders/{made['billnumber']}/captures", json={"amount": 1, "currency": "RUB"}
    )
    assert too_much.status_code in {409, 422}, too_much.text
    async with database(readonly=True) as uow:
        listed = await uow.orders.get(made["billnumber"])
    assert listed is not None and listed.state.value == "In Process"


async def test_a_post_sent_again_with_its_key_is_answered_the_same_and_done_once(
    api: httpx.AsyncClient, database: Database, gateway: Gateway, clock: ManualClock
) -> None:
    key = {"Idempotency-Key": "order-api-3"}
    first = await api.post("/api/v1/orders", json=order("API-3"), headers=key)
    again = await api.post("/api/v1/orders", json=order("API-3"), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    other = await api.post("/api/v1/orders", json=order("API-4"), headers=key)
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")

    refused = {"Idempotency-Key": "refused-1"}
    wrong = await api.post(f"/api/v1/orders/{first.json()['billnumber']}/captures", headers=refused)
    assert wrong.status_code == 409
    paid = await pay_by_card(PayByCard(first.json()["billnumber"], card()), gateway)
    assert paid.order.state.value == "Approved"
    still = await api.post(f"/api/v1/orders/{first.json()['billnumber']}/captures", headers=refused)
    assert (still.status_code, still.json()) == (409, wrong.json())  # the first answer, kept

    clock.advance(hours=25)
    await purge_expired(database, clock)
    fresh = await api.post("/api/v1/orders", json=order("API-4"), headers=key)
    assert fresh.status_code == 201


async def test_fifty_at_once_with_one_key_make_one_order_and_fifty_identical_answers(
    api: httpx.AsyncClient, database: Database
) -> None:
    key = {"Idempotency-Key": "race-1"}
    answers = await asyncio.gather(
        *(api.post("/api/v1/orders", json=order("RACE-1"), headers=key) for _ in range(50))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1
    async with database(readonly=True) as uow:
        page = await uow.monitor.page(OrderFilter("111111", ordernumber="RACE-1"), None, 10)
    assert len(page) == 1


async def test_webhook_endpoints_are_added_listed_and_removed_with_the_key(
    api: httpx.AsyncClient,
) -> None:
    added = await api.post(
        "/api/v1/webhook_endpoints",
        json={"url": "https://shop.example/hooks", "events": ["order.approved"]},
    )
    assert added.status_code == 201, added.text
    endpoint = added.json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == ["order.approved"]
    listed = (await api.get("/api/v1/webhook_endpoints")).json()
    assert [(e["id"], e["secret"]) for e in listed] == [(endpoint["id"], None)]
    wrong = await api.post("/api/v1/webhook_endpoints", json={"url": "ftp://shop.example/x"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "url"
    unknown = await api.post(
        "/api/v1/webhook_endpoints", json={"url": "https://shop.example/h", "events": ["nope"]}
    )
    assert unknown.status_code == 422
    removed = await api.delete(f"/api/v1/webhook_endpoints/{endpoint['id']}")
    assert removed.status_code == 204
    assert (await api.get("/api/v1/webhook_endpoints")).json() == []
    again = await api.delete(f"/api/v1/webhook_endpoints/{endpoint['id']}")
    assert again.status_code == 404
