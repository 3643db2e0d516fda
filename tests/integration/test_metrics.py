"""``/metrics`` after a run of payments through the app: the counts are exact, the figures
read from the database (both databases) say what is under way, and only the operator may
scrape."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ips.crypto.tokens import FormTokens
from ips.domain.money import currency
from ips.domain.reconciliation import Difference
from ips.domain.responses import ResponseCode
from ips.domain.settlement import BatchStatus, SettlementBatch
from ips.metrics import CONTENT_TYPE, Metrics
from ips.processing.secure import AuthenticationStatus
from ips.services.gateway import Gateway
from ips.services.merchants import ChangeMerchant, change_merchant
from ips.services.webhooks import add_endpoint
from ips.storage.unit_of_work import Database
from ips.web.app import create_app
from ips.web.services import Services
from tests.conftest import SETUP
from tests.fakes import FakeProcessingCenter, FakeThreeDSecure, ManualClock
from tests.integration.test_http_payment import card_form, open_card_page
from tests.integration.test_means_and_3ds import to_the_issuer

TOKEN = "scrape-token"
DECLINED = "4000000000000002"
ENROLLED = "4000000000003220"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def metrics(database: Database) -> Metrics:
    """The process's metrics, counting the commits of the test's database."""
    metrics = Metrics()
    database.committed = metrics.committed
    return metrics


@pytest.fixture
def secure() -> FakeThreeDSecure:
    return FakeThreeDSecure()


@pytest.fixture
def counted(gateway: Gateway, metrics: Metrics, secure: FakeThreeDSecure) -> Gateway:
    return dataclasses.replace(gateway, metrics=metrics, secure=secure)


def app_client(gateway: Gateway, peer: str = "203.0.113.7", **access: object) -> httpx.AsyncClient:
    services = Services(
        gateway,
        FormTokens(gateway.keyring.derive("form tokens")),
        metrics_token=TOKEN,
        **access,  # type: ignore[arg-type]
    )
    transport = httpx.ASGITransport(app=create_app(services), client=(peer, 50000))
    return httpx.AsyncClient(
        transport=transport, base_url="http://ips.test", headers={"Accept-Language": "en"}
    )


@pytest.fixture
async def client(counted: Gateway, merchant: object) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(counted) as http:
        yield http


async def scrape(client: httpx.AsyncClient) -> Samples:
    answer = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == CONTENT_TYPE
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def pay(client: httpx.AsyncClient, ordernumber: str, number: str, **params: str) -> None:
    card_page, token = await open_card_page(client, OrderNumber=ordernumber, **params)
    paid = await client.post(f"{card_page}/card", data=card_form(token, number))
    assert paid.status_code == 303, paid.text


async def test_a_run_of_payments_counts_up_exactly(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> None:
    fake_processing.outcomes[DECLINED] = ResponseCode.DECLINED
    for n in range(3):
        await pay(client, f"OK-{n}", "4111111111111111")
    await pay(client, "NO-1", DECLINED)
    await pay(client, "HOLD-1", "4111111111111111", Delay="1")
    clock.advance(seconds=90)
    again = await client.post(  # a replay of a paid order's form counts nothing
        "/pay/order.cfm",
        data={"Merchant_ID": "111111", "OrderNumber": "OK-0", "OrderAmount": "100.00"},
    )
    assert again.status_code == 400
    state = await client.post(
        "/orderstate/orderstate.cfm",
        data={"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password",
              "OrderNumber": "OK-1", "Format": "3"},
    )  # fmt: skip
    assert state.status_code == 200

    samples = await scrape(client)

    card = {"way": "card", "acquirer": "default"}
    assert value(samples, "ips_payments_total", outcome="approved", **card) == 3
    assert value(samples, "ips_payments_total", outcome="declined", **card) == 1
    assert value(samples, "ips_payments_total", outcome="delayed", **card) == 1
    assert sum(v for (name, _), v in samples.items() if name == "ips_payments_total") == 5
    pages = {"route": "/pay/{billnumber}/card", "method": "POST", "status": "3xx"}
    assert value(samples, "ips_http_request_duration_seconds_count", **pages) == 5
    requests = {"route": "/pay/order.cfm", "method": "POST"}
    assert value(samples, "ips_http_request_duration_seconds_count", status="3xx", **requests) == 5
    assert value(samples, "ips_http_request_duration_seconds_count", status="4xx", **requests) == 1
    service = {"route": "/orderstate/orderstate.cfm", "method": "POST", "status": "2xx"}
    assert value(samples, "ips_http_request_duration_seconds_count", **service) == 1
    assert not [labels for (name, labels) in samples if ("route", "/pay/") in labels]
    assert value(samples, "ips_holds_open", currency="RUB") == 1
    assert value(samples, "ips_holds_open_amount_minor", currency="RUB") == 100_00
    assert value(samples, "ips_holds_oldest_age_seconds", currency="RUB") == 90
    assert value(samples, "ips_figures_up") == 1


async def test_3ds_round_trips_and_the_buyers_time_are_measured(
    client: httpx.AsyncClient, secure: FakeThreeDSecure, clock: ManualClock
) -> None:
    card_page, _ = await open_card_page(client, OrderNumber="3DS-1")
    back = await to_the_issuer(client, card_page)
    clock.advance(seconds=42)
    secure.outcomes["acs-1"] = AuthenticationStatus.AUTHENTICATED
    returned = await client.get(f"{back}&transaction=acs-1")
    assert returned.headers["location"].startswith("https://shop.example/ok?")
    await client.get(f"{back}&transaction=acs-1")  # back again: measured once

    samples = await scrape(client)

    assert value(samples, "ips_threeds_request_seconds_count", call="enroll") == 1
    assert value(samples, "ips_threeds_request_seconds_count", call="result") == 1
    assert value(samples, "ips_threeds_buyer_seconds_count", outcome="authenticated") == 1
    assert value(samples, "ips_threeds_buyer_seconds_sum", outcome="authenticated") == 42
    assert value(samples, "ips_payments_total", way="card", outcome="approved",
                 acquirer="default") == 1  # fmt: skip


async def test_the_figures_of_the_database(
    counted: Gateway, database: Database, clock: ManualClock, merchant: object
) -> None:
    """Outboxes, holds, batches and differences as a scrape reads them, on each database."""
    notified = ChangeMerchant(callback_url="https://shop.example/notify")
    await change_merchant("111111", notified, counted.uow_factory, actor=SETUP)
    hooks = "https://shop.example/hooks"
    await add_endpoint("111111", hooks, "payment.succeeded", counted.uow_factory, clock)
    start = clock()
    async with app_client(counted) as http:
        await pay(http, "HOLD-1", "4111111111111111", Delay="1")
        clock.advance(seconds=30)
        await pay(http, "HOLD-2", "4111111111111111", Delay="1")
        clock.advance(seconds=15)
        await pay(http, "PAID-1", "4111111111111111")
        clock.advance(seconds=5)
        async with database() as uow:
            for acquirer, status in [("default", BatchStatus.ACCEPTED),
                                     ("default", BatchStatus.ACCEPTED),
                                     ("bank-b", BatchStatus.OUT_OF_BALANCE)]:  # fmt: skip
                batch = SettlementBatch(currency("RUB"), start, status=status, acquirer=acquirer)
                await uow.batches.add(batch)
            found = [Difference("T1", f"00000000000{n}", "amount", "1", "2") for n in range(3)]
            await uow.differences.add("default", found, start)
            opened = await uow.differences.open("default")
            await uow.differences.resolve(list(opened)[:1], clock())
            await uow.commit()
        samples = await scrape(http)

    assert value(samples, "ips_holds_open", currency="RUB") == 2
    assert value(samples, "ips_holds_open_amount_minor", currency="RUB") == 200_00
    assert value(samples, "ips_holds_oldest_age_seconds", currency="RUB") == 50
    assert value(samples, "ips_outbox_pending", outbox="notifications") == 3
    assert value(samples, "ips_outbox_oldest_age_seconds", outbox="notifications") == 50
    assert value(samples, "ips_outbox_pending", outbox="webhooks") == 3
    assert value(samples, "ips_outbox_oldest_age_seconds", outbox="webhooks") == 50
    batches = "ips_settlement_batches"
    assert value(samples, batches, acquirer="default", status="accepted") == 2
    assert value(samples, batches, acquirer="bank-b", status="out_of_balance") == 1
    differences = "ips_reconciliation_differences"
    assert value(samples, differences, acquirer="default", state="open") == 2
    assert value(samples, differences, acquirer="default", state="resolved") == 1


async def test_only_the_operator_may_scrape(counted: Gateway, merchant: object) -> None:
    async with app_client(counted) as outside:
        assert (await outside.get("/metrics")).status_code == 403
        wrong = await outside.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        assert (await scrape(outside))[("ips_figures_up", frozenset())] == 1
    async with app_client(counted, peer="127.0.0.1") as local:
        assert (await local.get("/metrics")).status_code == 200
        proxied = await local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.9"})
        assert proxied.status_code == 403  # through a proxy IPS was not told of
    async with app_client(counted, peer="127.0.0.1", metrics_networks=()) as closed:
        assert (await closed.get("/metrics")).status_code == 403


async def test_a_database_that_does_not_answer_leaves_the_scrape_without_figures(
    counted: Gateway,
) -> None:
    def down(*, readonly: bool = False) -> object:
        raise ConnectionError("the database is down")

    async with app_client(dataclasses.replace(counted, uow_factory=down)) as http:  # type: ignore[arg-type]
        samples = await scrape(http)
    assert value(samples, "ips_figures_up") == 0
    assert not [name for name, _ in samples if name.startswith("ips_outbox")]


async def test_requests_are_labelled_by_route_template_never_by_path(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/api/v1/orders/1234567890123456")).status_code == 401
    assert (await client.get("/static/nothing-here.css")).status_code == 404
    assert (await client.get("/pay/1234567890123456/no-such-page")).status_code == 404
    assert (await client.get("/health/live")).status_code == 200

    samples = await scrape(client)

    routes = {
        dict(labels)["route"]: value
        for (name, labels), value in samples.items()
        if name == "ips_http_request_duration_seconds_count"
    }
    assert routes == {
        "/api/v1/orders/{billnumber}": 1,
        "/static/{path}": 1,
        "unmatched": 1,
        "/health/live": 1,
    }


async def test_a_count_that_fails_leaves_the_commit_made(
    database: Database, merchant: object, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(entities: object) -> None:
        raise RuntimeError("the metrics are broken")

    database.committed = failing
    renamed = ChangeMerchant(name="Renamed Shop")
    await change_merchant("111111", renamed, database, actor=SETUP)

    async with database(readonly=True) as uow:
        shop = await uow.merchants.get("111111")
    assert shop is not None and shop.name == "Renamed Shop"
    assert "a commit's observer failed" in caplog.text
