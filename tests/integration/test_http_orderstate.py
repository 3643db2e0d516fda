"""``/orderstate/orderstate.cfm``: the answer shapes of ASSIST-API.md, read as clients read them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import httpx
import pytest

from ips.domain.checkvalue import answer_checkvalue
from ips.services.gateway import Gateway
from ips.services.payments import PayByCard, pay_by_card
from tests.conftest import SETUP
from tests.fakes import ManualClock
from tests.integration.test_payment_service import card, new_order

AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password"}


def verify(order: dict[str, str], checkvalue: str) -> None:
    expected = answer_checkvalue(
        "secret",
        "111111",
        order["ordernumber"],
        order["orderamount"],
        order["ordercurrency"],
        order["orderstate"],
    )
    assert checkvalue == expected


async def test_xml_answer_lists_orders_oldest_first_with_checkvalues(
    client: httpx.AsyncClient, gateway: Gateway, clock: ManualClock
) -> None:
    declined_order = await new_order(gateway, "ORD-7")
    from ips.domain.responses import ResponseCode

    gateway.processing.outcomes["4000000000000002"] = ResponseCode.DECLINED  # type: ignore[attr-defined]
    await pay_by_card(PayByCard(declined_order.billnumber, card("4000000000000002")), gateway)
    clock.advance(minutes=1)
    paid_order = await new_order(gateway, "ORD-7", "4")
    await pay_by_card(PayByCard(paid_order.billnumber, card()), gateway)

    response = await client.post(
        "/orderstate/orderstate.cfm", data={**AUTH, "Ordernumber": "ORD-7", "Format": "3"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    result = ET.fromstring(response.content)
    assert result.tag == "result"
    assert result.attrib == {"firstcode": "0", "secondcode": "0", "count": "2"}
    found = [{child.tag: child.text or "" for child in order} for order in result.findall("order")]
    assert [o["billnumber"] for o in found] == [declined_order.billnumber, paid_order.billnumber]
    assert [o["orderstate"] for o in found] == ["Declined", "Approved"]
    last = found[-1]
    assert list(last) == [
        "ordernumber",
        "billnumber",
        "orderamount",
        "ordercurrency",
        "orderstate",
        "packetdate",
        "signature",
        "checkvalue",
    ]
    assert last["orderamount"] == "4.00" and last["ordercurrency"] == "RUB"
    assert last["packetdate"] == clock.now.strftime("%d.%m.%Y %H:%M:%S")
    for order in found:
        verify(order, order["checkvalue"])


async def test_json_answer_has_the_orderstate_root_and_checkdata(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    order = await new_order(gateway, "J-1", "100")
    await pay_by_card(PayByCard(order.billnumber, card()), gateway)

    response = await client.get(
        "/orderstate/orderstate.cfm",
        params={k.lower(): v for k, v in AUTH.items()} | {"ordernumber": "J-1", "format": "5"},
    )

    assert response.headers["content-type"].startswith("application/json")
    body = json.loads(response.text)
    state = body["orderstate"]
    assert state["billnumber"] == order.billnumber
    assert state["orderstate"] == "Approved" and state["orderamount"] == "100.00"
    assert set(state["checkdata"]) == {"packetdate", "signature", "checkvalue"}
    verify(state, state["checkdata"]["checkvalue"])


async def test_several_orders_in_json_are_the_newest_alone(
    client: httpx.AsyncClient, gateway: Gateway, clock: ManualClock
) -> None:
    await new_order(gateway, "J-2")
    clock.advance(minutes=1)
    newest = await new_order(gateway, "J-2")
    body = (
        await client.post(
            "/orderstate/orderstate.cfm", data={**AUTH, "Ordernumber": "J-2", "Format": "5"}
        )
    ).json()
    assert body["orderstate"]["billnumber"] == newest.billnumber
    assert body["orderstate"]["orderstate"] == "In Process"


async def test_csv_has_a_line_per_order(client: httpx.AsyncClient, gateway: Gateway) -> None:
    first, second = await new_order(gateway, "C-1"), await new_order(gateway, "C-1", "7.5")
    response = await client.post(
        "/orderstate/orderstate.cfm", data={**AUTH, "Ordernumber": "C-1", "Format": "1"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text), delimiter=";"))
    assert [row["billnumber"] for row in rows] == [first.billnumber, second.billnumber]
    assert rows[1]["orderamount"] == "7.50"
    for row in rows:
        verify(row, row["checkvalue"])


def codes(response: httpx.Response) -> tuple[str, str, str]:
    result = ET.fromstring(response.content)
    return result.attrib["firstcode"], result.attrib["secondcode"], result.attrib["count"]


async def test_the_window_limits_the_orders(
    client: httpx.AsyncClient, gateway: Gateway, clock: ManualClock
) -> None:
    await new_order(gateway, "W-1")
    clock.advance(days=4)
    query = {**AUTH, "Ordernumber": "W-1", "Format": "3"}

    default = await client.post("/orderstate/orderstate.cfm", data=query)
    assert codes(default) == ("10", "201", "0")  # older than the default window of 3 days
    as_json = await client.post("/orderstate/orderstate.cfm", data=query | {"Format": "5"})
    assert as_json.json() == {"firstcode": 10, "secondcode": 201}

    start = clock.now - timedelta(days=5)
    window = {
        "StartYear": str(start.year),
        "StartMonth": str(start.month),
        "StartDay": str(start.day),
    }
    wide = await client.post("/orderstate/orderstate.cfm", data=query | window)
    assert codes(wide) == ("0", "0", "1")


async def test_a_window_given_in_part_reaches_to_the_edges(
    client: httpx.AsyncClient, gateway: Gateway, clock: ManualClock
) -> None:
    """A start without day (S4 sends ``StartYDay``) is the 1st; an end without month or day
    is the last day of the year, at 23:59:59."""
    clock.now = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    await new_order(gateway, "P-1")
    clock.now = datetime(2026, 6, 1, tzinfo=UTC)
    query = {**AUTH, "Ordernumber": "P-1", "StartYear": "2026", "StartMonth": "3"}

    from_march = await client.post("/orderstate/orderstate.cfm", data=query | {"StartYDay": "17"})
    assert codes(from_march)[2] == "1"
    ended = await client.post("/orderstate/orderstate.cfm", data=query | {"EndYear": "2026"})
    assert codes(ended)[2] == "1"
    before = await client.post(
        "/orderstate/orderstate.cfm",
        data=query | {"EndYear": "2026", "EndMonth": "3", "EndDay": "17", "EndHour": "11"},
    )
    assert codes(before)[:2] == ("10", "201")


@pytest.mark.parametrize(
    ("changes", "first", "second"),
    [
        ({"Merchant_ID": "999999"}, 10, 100),
        ({"Merchant_ID": ""}, 3, 100),
        ({"Merchant_ID": "12ab"}, 4, 100),
        ({"Login": "other"}, 7, 101),
        ({"Password": "wrong-password"}, 7, 102),
        ({"Password": ""}, 3, 102),
        ({"Ordernumber": ""}, 3, 107),
        ({"Format": "9"}, 4, 103),
        ({"Format": "2"}, 4, 103),
        ({"Format": "4"}, 4, 103),
        ({"StartMonth": "13", "StartYear": "2026"}, 4, 129),
        ({"EndDay": "x", "EndYear": "2026"}, 4, 130),
    ],
)
async def test_refusals_carry_firstcode_and_secondcode(
    client: httpx.AsyncClient, changes: dict[str, str], first: int, second: int
) -> None:
    data = {**AUTH, "Ordernumber": "X", "Format": "3"} | changes
    response = await client.post("/orderstate/orderstate.cfm", data=data)
    assert response.status_code == 200
    result = ET.fromstring(response.content)
    assert (result.attrib["firstcode"], result.attrib["secondcode"]) == (str(first), str(second))

    if changes.get("Format") in ("2", "4", "9"):
        return
    as_json = await client.post("/orderstate/orderstate.cfm", data=data | {"Format": "5"})
    assert as_json.json() == {"firstcode": first, "secondcode": second}


async def test_another_merchants_orders_are_not_shown(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    from ips.services.merchants import AddMerchant, add_merchant

    await add_merchant(
        AddMerchant("222222", "Other", "other", "other-password", "salt"),
        gateway.uow_factory,
        actor=SETUP,
    )
    await new_order(gateway, "SHARED")
    other = {"Merchant_ID": "222222", "Login": "other", "Password": "other-password"}
    response = await client.post(
        "/orderstate/orderstate.cfm", data={**other, "Ordernumber": "SHARED", "Format": "3"}
    )
    assert codes(response) == ("10", "201", "0")


async def test_a_malformed_body_is_an_error_not_a_crash(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/orderstate/orderstate.cfm",
        content=b"--x\r\nbroken",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 200
    assert ET.fromstring(response.content).attrib["firstcode"] != "0"
