"""``/charge/charge.cfm``, ``/cancel/cancel.cfm`` and ``/cancel/wscancel.cfm`` over HTTP, in
the three formats IPS builds, read the way clients read them."""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree as ET

import httpx
import pytest

from ips.domain.checkvalue import answer_checkvalue
from ips.services.gateway import Gateway
from tests.fakes import FakeProcessingCenter
from tests.integration.test_money_operations import paid_order

AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password"}


def xml_order(response: httpx.Response) -> dict[str, str]:
    result = ET.fromstring(response.content)
    assert (result.attrib["firstcode"], result.attrib["secondcode"]) == ("0", "0"), response.text
    [order] = result.findall("orders/order")
    return {child.tag: child.text or "" for child in order}


def codes(response: httpx.Response) -> tuple[str, str]:
    result = ET.fromstring(response.content)
    return result.attrib["firstcode"], result.attrib["secondcode"]


async def test_charge_in_xml_confirms_part_then_the_rest(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    order = await paid_order(gateway, delay=True)
    first = xml_order(
        await client.post(
            "/charge/charge.cfm",
            data={
                **AUTH,
                "Billnumber": order.billnumber,
                "Amount": "40",
                "Currency": "RUB",
                "Format": "3",
            },
        )
    )
    assert first["orderstate"] == "PartialDelayed"
    assert first["responsecode"] == "AS000" and first["operationtype"] == "200"
    assert first["amount"] == "40.00" and first["orderamount"] == "100.00"
    assert first["billnumber"] == f"{order.billnumber}.2"
    assert first["meannumber"] == "411111****1111" and first["approvalcode"] == "A1B2C3"
    assert list(first)[:4] == ["ordernumber", "responsecode", "recommendation", "message"]
    assert list(first)[-3:] == ["slipno", "packetdate", "signature"]

    rest = xml_order(
        await client.post(
            "/charge/charge.cfm",
            data={**AUTH, "billnumber": f"{order.billnumber}.1", "format": "3"},
        )
    )
    assert rest["orderstate"] == "Approved" and rest["amount"] == "60.00"

    again = await client.post(
        "/charge/charge.cfm", data={**AUTH, "Billnumber": order.billnumber, "Format": "3"}
    )
    assert codes(again) == ("15", "307")  # nothing left to confirm: prohibited, changes nothing


async def test_charge_answers_csv_by_default(client: httpx.AsyncClient, gateway: Gateway) -> None:
    order = await paid_order(gateway, delay=True)
    response = await client.post(
        "/charge/charge.cfm", data={**AUTH, "Billnumber": order.billnumber}
    )
    assert response.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(response.text), delimiter=";"))
    assert row["orderstate"] == "Approved" and row["amount"] == "100.00"

    refused = await client.post("/charge/charge.cfm", data={**AUTH, "Billnumber": "12"})
    [error] = list(csv.DictReader(io.StringIO(refused.text), delimiter=";"))
    assert error == {"firstcode": "10", "secondcode": "143"}


async def test_wscancel_in_json_has_its_root_order_and_checkdata(
    client: httpx.AsyncClient, gateway: Gateway, fake_processing: FakeProcessingCenter
) -> None:
    order = await paid_order(gateway)
    response = await client.post(
        "/cancel/wscancel.cfm",
        data={**AUTH, "Billnumber": order.billnumber, "Amount": "30.00", "Currency": "RUB",
              "Externalrefundid": "shop-refund-7"},
    )  # fmt: skip
    body = json.loads(response.text)
    answer = body["wscancel"]
    assert answer["order"]["orderstate"] == "PartialCanceled"
    assert answer["order"]["operationtype"] == "300" and answer["order"]["amount"] == "30.00"
    assert answer["checkdata"]["checkvalue"] == answer_checkvalue(
        "secret", "111111", order.ordernumber, "100.00", "RUB", "PartialCanceled"
    )
    again = json.loads(
        (
            await client.post(
                "/cancel/wscancel.cfm",
                data={
                    **AUTH,
                    "Billnumber": order.billnumber,
                    "Amount": "30.00",
                    "Currency": "RUB",
                    "Externalrefundid": "shop-refund-7",
                },
            )
        ).text
    )
    assert again["wscancel"]["order"]["billnumber"] == answer["order"]["billnumber"]
    assert len(fake_processing.reversals) == 1


async def test_cancel_in_xml_cancels_all_and_then_refuses(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    order = await paid_order(gateway)
    done = xml_order(
        await client.post("/cancel/cancel.cfm", data={**AUTH, "Billnumber": order.billnumber})
    )
    assert done["orderstate"] == "Canceled" and done["amount"] == "100.00"
    more = await client.post(
        "/cancel/cancel.cfm",
        data={**AUTH, "Billnumber": order.billnumber, "Amount": "1.00", "Currency": "RUB"},
    )
    assert codes(more) == ("15", "300")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"Billnumber": ""}, ("3", "143")),
        ({"Billnumber": "abc"}, ("4", "143")),
        ({"Billnumber": "9999999999999999"}, ("10", "143")),
        ({"Amount": "1000.00", "Currency": "RUB"}, ("17", "108")),
        ({"Amount": "1.00", "Currency": "USD"}, ("5", "105")),
        ({"Amount": "1.00"}, ("3", "105")),
        ({"Amount": "abc", "Currency": "RUB"}, ("4", "108")),
        ({"CancelReason": "7"}, ("4", "0")),
        ({"Password": "nope-nope"}, ("7", "102")),
        ({"Format": "2"}, ("4", "103")),
    ],
)
async def test_cancel_refusals(
    client: httpx.AsyncClient,
    gateway: Gateway,
    changes: dict[str, str],
    expected: tuple[str, str],
) -> None:
    order = await paid_order(gateway)
    data = {**AUTH, "Billnumber": order.billnumber, "Format": "3"} | changes
    assert codes(await client.post("/cancel/cancel.cfm", data=data)) == expected
    state = await client.post(
        "/orderstate/orderstate.cfm", data={**AUTH, "Ordernumber": order.ordernumber}
    )
    assert "<orderstate>Approved</orderstate>" in state.text  # nothing changed


async def test_charge_in_json_is_flat_under_its_root(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    order = await paid_order(gateway, delay=True)
    body = (
        await client.post(
            "/charge/charge.cfm", data={**AUTH, "Billnumber": order.billnumber, "Format": "5"}
        )
    ).json()
    charge = body["charge"]
    assert charge["orderstate"] == "Approved" and charge["amount"] == "100.00"
    assert charge["operationtype"] == "200" and charge["testmode"] == "0"
    assert charge["rate"] == "1" and isinstance(charge["packetdate"], str)
    assert charge["checkvalue"] == answer_checkvalue(
        "secret", "111111", order.ordernumber, "100.00", "RUB", "Approved"
    )
    assert all(isinstance(value, str) for value in charge.values())


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("EN", "Approved"),
        ("eng", "Approved"),
        ("RU", "Операция выполнена"),
        ("", "Операция выполнена"),
    ],
)
async def test_messages_are_in_the_language_asked_for_else_the_orders(
    client: httpx.AsyncClient, gateway: Gateway, language: str, message: str
) -> None:
    order = await paid_order(gateway)  # no Language in its payment request: RU
    answer = xml_order(
        await client.post(
            "/cancel/cancel.cfm",
            data={**AUTH, "Billnumber": order.billnumber, "Language": language},
        )
    )
    assert answer["message"] == message
