"""``/orderresult/orderresult.cfm``: orders with their operations, in XML, JSON and CSV."""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree as ET

import httpx
import pytest

from ips.domain.checkvalue import answer_checkvalue
from ips.domain.orders import Order
from ips.domain.responses import ResponseCode
from ips.services.confirmations import Confirm, confirm
from ips.services.gateway import Gateway
from ips.services.merchants import AddMerchant, SignedIn, add_merchant
from ips.services.orders import CreateOrder, create_order
from ips.services.payments import PayByCard, pay_by_card
from tests.conftest import SETUP
from tests.fakes import FakeProcessingCenter, ManualClock
from tests.integration.test_money_operations import paid_order
from tests.integration.test_payment_service import card, new_order

AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password"}
PATH = "/orderresult/orderresult.cfm"
DECLINED_CARD = "4000000000000002"


async def declined_then_paid(
    gateway: Gateway, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> tuple[Order, Order]:
    """Two attempts at order ``R-1``: a declined one, then one paid double-stage and
    confirmed in part."""
    fake_processing.outcomes[DECLINED_CARD] = ResponseCode.DECLINED
    declined = await new_order(gateway, "R-1")
    await pay_by_card(PayByCard(declined.billnumber, card(DECLINED_CARD), "198.51.100.4"), gateway)
    clock.advance(minutes=1)
    paid = await create_order(
        CreateOrder("111111", "R-1", "100.00", "RUB", delay=True, comment="two books"), gateway
    )
    await pay_by_card(PayByCard(paid.billnumber, card(), "198.51.100.5"), gateway)
    await confirm(Confirm(paid.billnumber, "40.00", "RUB"), SignedIn("111111"), gateway)
    return declined, paid


def fields(element: ET.Element) -> dict[str, str]:
    return {child.tag: child.text or "" for child in element if child.tag != "operation"}


async def test_xml_lists_orders_with_their_operations_inline(
    client: httpx.AsyncClient,
    gateway: Gateway,
    fake_processing: FakeProcessingCenter,
    clock: ManualClock,
) -> None:
    declined, paid = await declined_then_paid(gateway, fake_processing, clock)

    response = await client.post(
        PATH, data={**AUTH, "Ordernumber": "R-1", "Format": "3", "Language": "EN"}
    )

    result = ET.fromstring(response.content)
    assert result.attrib == {"firstcode": "0", "secondcode": "0", "count": "2"}
    assert [child.tag for child in result] == ["order", "order"]
    first, second = result
    assert fields(first)["billnumber"] == declined.billnumber
    assert fields(first)["orderstate"] == "Declined"
    [attempt] = first.findall("operation")
    assert fields(attempt)["responsecode"] == "AS100"
    assert fields(attempt)["message"] == "Authorization declined"
    assert fields(attempt)["meannumber"] == "400000****0002"

    order = fields(second)
    assert list(order) == [
        "billnumber", "ordernumber", "testmode", "ordercomment", "orderamount",
        "ordercurrency", "orderdate", "orderstate", "rate", "firstname", "lastname",
        "middlename", "email", "ipaddress", "packetdate", "signature", "checkvalue",
    ]  # fmt: skip
    assert order["orderstate"] == "PartialDelayed" and order["ordercomment"] == "two books"
    assert order["checkvalue"] == answer_checkvalue(
        "secret", "111111", "R-1", "100.00", "RUB", "PartialDelayed"
    )
    payment, confirmation = (fields(op) for op in second.findall("operation"))
    assert payment["billnumber"] == f"{paid.billnumber}.1"
    assert payment["operationtype"] == "100" and payment["amount"] == "100.00"
    assert payment["ipaddress"] == "198.51.100.5"
    assert payment["approvalcode"] == "A1B2C3" and payment["responsecode"] == "AS000"
    assert payment["cardholder"] == "IVAN PETROV" and payment["meannumber"] == "411111****1111"
    assert confirmation["billnumber"] == f"{paid.billnumber}.2"
    assert confirmation["operationtype"] == "200" and confirmation["amount"] == "40.00"
    assert confirmation["meannumber"] == "411111****1111"  # the payment's card
    assert confirmation["approvalcode"] == "A1B2C3"


async def test_json_by_billnumber_nests_customer_checkdata_and_operations(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    order = await paid_order(gateway)
    body = (
        await client.post(PATH, data={**AUTH, "Billnumber": order.billnumber, "Format": "5"})
    ).json()
    [found] = body["orderresult"]["orders"]
    assert found["billnumber"] == order.billnumber and found["orderstate"] == "Approved"
    assert set(found["customer"]) == {"firstname", "lastname", "middlename", "email", "ipaddress"}
    assert set(found["checkdata"]) == {"packetdate", "signature", "checkvalue"}
    [payment] = found["operations"]
    assert payment["billnumber"] == f"{order.billnumber}.1"
    assert payment["message"] == "Операция выполнена"  # the order's language: RU by default
    scalars = {k: v for k, v in found.items() if k not in ("customer", "checkdata", "operations")}
    for values in (scalars, found["customer"], found["checkdata"], payment):
        assert all(isinstance(value, str) for value in values.values())


async def test_an_extended_billnumber_shows_that_operation_only(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    order = await paid_order(gateway, delay=True)
    await confirm(Confirm(order.billnumber), SignedIn("111111"), gateway)
    result = ET.fromstring(
        (
            await client.post(
                PATH, data={**AUTH, "Billnumber": f"{order.billnumber}.2", "Format": "3"}
            )
        ).content
    )
    [operation] = result.findall("order/operation")
    assert fields(operation)["operationtype"] == "200"
    assert fields(operation)["meannumber"] == "411111****1111"


async def test_csv_has_a_line_per_operation(
    client: httpx.AsyncClient,
    gateway: Gateway,
    fake_processing: FakeProcessingCenter,
    clock: ManualClock,
) -> None:
    _, paid = await declined_then_paid(gateway, fake_processing, clock)
    unpaid = await new_order(gateway, "R-2")

    async def rows(ordernumber: str) -> list[dict[str, str]]:
        response = await client.post(PATH, data={**AUTH, "Ordernumber": ordernumber, "Format": "1"})
        assert response.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.text), delimiter=";"))

    attempts = await rows("R-1")
    assert [row["operationtype"] for row in attempts] == ["100", "100", "200"]
    assert attempts[2]["billnumber"] == f"{paid.billnumber}.2"
    assert attempts[2]["orderamount"] == "100.00" and attempts[2]["amount"] == "40.00"
    [waiting] = await rows("R-2")  # no operation yet: one line, its operation fields empty
    assert waiting["billnumber"] == unpaid.billnumber and waiting["orderstate"] == "In Process"
    assert waiting["operationtype"] == "" and list(waiting) == list(attempts[0])


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ("3", "107")),
        ({"Ordernumber": "NONE"}, ("10", "201")),
        ({"Billnumber": "12ab"}, ("4", "143")),
        ({"Billnumber": "1234567890123456"}, ("10", "143")),
        ({"Billnumber": "{bill}.9"}, ("10", "143")),
        ({"Billnumber": "{bill}", "Password": "wrong-password"}, ("7", "102")),
        ({"Billnumber": "{bill}", "Login": ""}, ("3", "101")),
        ({"Billnumber": "{bill}", "Format": "4"}, ("4", "103")),
        ({"Ordernumber": "X", "StartYear": "2026", "StartMonth": "13"}, ("4", "129")),
    ],
)
async def test_refusals(
    client: httpx.AsyncClient,
    gateway: Gateway,
    changes: dict[str, str],
    expected: tuple[str, str],
) -> None:
    order = await paid_order(gateway)
    data = AUTH | {k: v.format(bill=order.billnumber) for k, v in changes.items()}
    result = ET.fromstring((await client.post(PATH, data=data)).content)
    assert (result.attrib["firstcode"], result.attrib["secondcode"]) == expected
    assert result.attrib["count"] == "0"


async def test_another_merchants_billnumber_is_unknown(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    await add_merchant(
        AddMerchant("222222", "Other", "other", "other-password", "salt"),
        gateway.uow_factory,
        actor=SETUP,
    )
    order = await paid_order(gateway)
    other = {"Merchant_ID": "222222", "Login": "other", "Password": "other-password"}
    body = (
        await client.post(PATH, data={**other, "Billnumber": order.billnumber, "Format": "5"})
    ).json()
    assert body == {"firstcode": 10, "secondcode": 143}
