"""``orderresult`` as the clients ask for it and read it.

The clients disagree on the XML shape: S5, S6 and the official mobile SOAP service (S22) put
``<operation>`` elements straight inside ``<order>`` elements straight inside ``<result>``;
S16 binds ``result/orders/order``. IPS follows the three; S16's orderresult cannot work.
"""

from __future__ import annotations

import json

import httpx

from tests.compat import clients
from tests.compat.replay import CAMEL, MERCHANT_ID, PASSWORD, paid
from tests.fakes import ManualClock

PATH = "/orderresult/orderresult.cfm"


async def test_s5_indexes_orders_by_count_and_reads_the_last_operation(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """S5 sends ``Ordernumber`` and a zero-padded window from the order's date, takes
    ``order[count-1]``, its last ``operation``'s ``billnumber``, ``responsecode`` and
    ``amount``, and the order's ``packetdate``; paid when AS000 and the amount is the
    price."""
    billnumber = await paid(client, "SHOP-20", "99.90")
    start = clock.now
    window = {
        "StartYear": f"{start.year}",
        "StartMonth": f"{start.month:02d}",
        "StartDay": f"{start.day:02d}",
        "StartHour": f"{start.hour:02d}",
        "StartMin": f"{start.minute:02d}",
    }
    response = await client.post(
        PATH, data=CAMEL | {"Ordernumber": "SHOP-20", "Format": "3"} | window
    )

    order, operation = clients.s5_last_operation(response)
    assert operation["billnumber"] == f"{billnumber}.1"
    assert operation["responsecode"] == "AS000" and float(operation["amount"]) == 99.90
    assert operation["currency"] == "RUB"
    assert order["packetdate"] == clock.now.strftime("%d.%m.%Y %H:%M:%S")


async def test_s6_posts_json_with_the_merchant_nested_and_reads_xml(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """S6 POSTs ``application/json`` with the credentials in a ``merchant`` object, lower-case
    names, an unpadded 14-day window and ``"format": 3`` as a number; it reads
    ``result/order`` (``orderdate``, ``orderstate``, ``packetdate``) and the last
    ``operation``'s ``operationdate``."""
    billnumber = await paid(client, "SHOP-21")
    start = clock.now.replace(day=1)
    body = {
        "merchant": {"merchant_id": MERCHANT_ID, "login": "shop", "password": PASSWORD},
        "billnumber": billnumber,
        "startyear": start.year,
        "startmonth": start.month,
        "startday": start.day,
        "starthour": 0,
        "startmin": 0,
        "format": 3,
    }
    response = await client.post(
        PATH, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )

    order, operation = clients.s5_last_operation(response)
    assert order["orderstate"] == "Approved"
    assert order["orderdate"] == clock.now.strftime("%d.%m.%Y %H:%M:%S")
    assert operation["operationdate"] == order["orderdate"]


async def test_s1_reads_orders_with_their_operations(client: httpx.AsyncClient) -> None:
    """S1 sends ``Billnumber`` alone (no Ordernumber), ``Format=5`` and ``Language``; its
    ``Order`` and ``Operation`` models need their fields present, strings, never null."""
    billnumber = await paid(client, "SHOP-22", "12", Delay="1")
    await client.post(
        "/charge/charge.cfm",
        data=CAMEL | {"Billnumber": billnumber, "Amount": "5", "Currency": "RUB"},
    )
    response = await client.post(
        PATH, data=CAMEL | {"Billnumber": billnumber, "Format": "5", "Language": "EN"}
    )

    [(order, operations)] = clients.s1_orderresult(response)
    assert order["orderstate"] == "PartialDelayed" and order["orderamount"] == "12.00"
    assert [op["operationtype"] for op in operations] == ["100", "200"]
    assert operations[1]["message"] == "Approved"
    assert operations[1]["meannumber"] == "411111****1111"
