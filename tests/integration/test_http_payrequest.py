"""``/pay/payrequest.cfm``: the payment request server to server, answered with the payment
page's address."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from xml.etree import ElementTree as ET

import httpx
import pytest

from ips.storage.unit_of_work import Database
from tests.fakes import ManualClock
from tests.integration.test_http_payment import REQUEST, card_form, count

PATH = "/pay/payrequest.cfm"


async def test_json_by_default_with_the_page_state_and_expiry(
    client: httpx.AsyncClient, database: Database, clock: ManualClock
) -> None:
    response = await client.post(PATH, data=REQUEST)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    billnumber = body["billnumber"]
    assert body["URL"] == body["url"] == f"http://ips.test/pay/{billnumber}"
    assert body["orderstate"] == "In Process"
    assert body["expirationtime"] == (clock.now + timedelta(hours=24)).strftime("%d.%m.%Y %H:%M:%S")
    assert await count(database) == 1


async def test_the_page_pays_the_order(client: httpx.AsyncClient) -> None:
    page = (await client.post(PATH, data=REQUEST)).json()["URL"]
    form = await client.get(page)
    assert form.status_code == 200
    token = form.text.split('name="token" value="')[1].split('"')[0]
    paid = await client.post(f"{page}/card", data=card_form(token))
    assert paid.headers["location"].startswith("https://shop.example/ok?x=1&billnumber=")


async def test_xml_and_csv(client: httpx.AsyncClient) -> None:
    xml = await client.post(PATH, data={**REQUEST, "Format": "3"})
    result = ET.fromstring(xml.content)
    assert result.attrib == {"firstcode": "0", "secondcode": "0", "count": "1"}
    element = result.find("order")
    assert element is not None
    order = {child.tag: child.text for child in element}
    assert list(order) == ["url", "billnumber", "orderstate", "expirationtime"]
    assert order["url"] == f"http://ips.test/pay/{order['billnumber']}"

    as_csv = await client.post(PATH, data={**REQUEST, "OrderNumber": "ORD-2", "Format": "1"})
    [row] = list(csv.DictReader(io.StringIO(as_csv.text), delimiter=";"))
    assert row["orderstate"] == "In Process" and row["url"].endswith(row["billnumber"])


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"Merchant_ID": "999999"}, (10, 100)),
        ({"Merchant_ID": ""}, (3, 100)),
        ({"OrderAmount": ""}, (3, 108)),
        ({"OrderAmount": "1.234"}, (4, 108)),
        ({"OrderCurrency": "XXX"}, (5, 105)),
        ({"OrderNumber": ""}, (3, 107)),
        ({"Checkvalue": "0" * 32}, (7, 0)),
        ({"Delay": "7"}, (4, 109)),
        ({"URL_RETURN_NO": "https://evil.example/no"}, (15, 0)),
    ],
)
async def test_refusals_create_nothing(
    client: httpx.AsyncClient,
    database: Database,
    changes: dict[str, str],
    expected: tuple[int, int],
) -> None:
    response = await client.post(PATH, data={**REQUEST, **changes})
    assert response.status_code == 200
    assert response.json() == {"firstcode": expected[0], "secondcode": expected[1]}
    assert await count(database) == 0


async def test_an_ordernumber_already_paid_is_a_duplicate(client: httpx.AsyncClient) -> None:
    page = (await client.post(PATH, data=REQUEST)).json()["URL"]
    form = await client.get(page)
    token = form.text.split('name="token" value="')[1].split('"')[0]
    await client.post(f"{page}/card", data=card_form(token))
    again = await client.post(PATH, data={**REQUEST, "Format": "3"})
    result = ET.fromstring(again.content)
    assert (result.attrib["firstcode"], result.attrib["secondcode"]) == ("11", "107")


async def test_formats_not_built_are_refused_in_xml(client: httpx.AsyncClient) -> None:
    for fmt in ("2", "4"):
        result = ET.fromstring((await client.post(PATH, data={**REQUEST, "Format": fmt})).content)
        assert (result.attrib["firstcode"], result.attrib["secondcode"]) == ("4", "103")
