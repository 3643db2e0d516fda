"""``/pay/order.cfm`` and ``/pay/payrequest.cfm`` as the shop modules send them."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ips.domain.checkvalue import checkvalue
from ips.storage.unit_of_work import Database
from tests.compat import clients
from tests.compat.replay import (
    CAMEL,
    MERCHANT_ID,
    SECRET,
    opt_in_to_unseparated_checkvalues,
    order_cfm,
    pay,
)

PAYREQUEST = "/pay/payrequest.cfm"


def request(ordernumber: str, amount: str, currency: str | None) -> dict[str, str]:
    fields = {"Merchant_ID": MERCHANT_ID, "OrderNumber": ordernumber, "OrderAmount": amount}
    return fields | ({"OrderCurrency": currency} if currency else {})


@pytest.mark.parametrize(
    ("separator", "currency"),
    [
        (";", "RUB"),  # S1, S3, S7, S15
        (";", None),  # S2: the currency left out when not sent
        ("", "RUB"),  # S10 (CS-Cart), S13 (WooCommerce), S14 (HostCMS)
        ("", None),
        (";", "RUR"),  # S19's default currency, hashed as sent
    ],
)
async def test_checkvalues_joined_with_or_without_separator_are_accepted(
    client: httpx.AsyncClient, database: Database, separator: str, currency: str | None
) -> None:
    """S1, S2, S3, S7, S15 join the fields with ``;``; S10, S13, S14 with nothing (their
    shops opt in to that form); S2 leaves the currency out when it sends none; S19 sends and
    hashes ``RUR``."""
    if not separator:
        await opt_in_to_unseparated_checkvalues(database)
    fields = request("SHOP-30", "100.00", currency)
    value = checkvalue(SECRET, separator.join(fields.values()))
    billnumber = await order_cfm(client, fields | {"Checkvalue": value})
    assert billnumber.isdigit()


@pytest.mark.parametrize("name", ["Checkvalue", "CheckValue", "checkvalue", "CHECKVALUE"])
async def test_a_wrong_checkvalue_is_refused_in_every_spelling(
    client: httpx.AsyncClient, name: str
) -> None:
    """S1/S3/S7 spell ``Checkvalue``, S10/S13/S14 ``CheckValue``, S2 ``checkvalue``."""
    response = await client.post(
        "/pay/order.cfm", data=request("SHOP-31", "5", None) | {name: "0" * 32}
    )
    assert response.status_code == 400


async def test_s2_sends_a_get_with_lowercase_names(client: httpx.AsyncClient) -> None:
    """S2 builds a payment URL with every name lower-cased (and S12 a link)."""
    fields = {k.lower(): v for k, v in request("SHOP-32", "100.0", None).items()}
    value = checkvalue(SECRET, ";".join(fields.values()))
    response = await client.get("/pay/order.cfm", params=fields | {"checkvalue": value})
    assert response.status_code == 303 and response.headers["location"].startswith("/pay/")


async def test_unknown_parameters_clients_send_are_ignored(client: httpx.AsyncClient) -> None:
    """``TestMode`` (S8, S11, S12, S14), ``DemoResult`` (S8, S11), ``Submit`` (S11),
    ``IsFrame``, ``Phone`` (S9), ``Desc``/``SignatureValue``/``IsTest`` (JBZoo), bracketed
    ``ChequeItems[0][name]`` (S1 through Guzzle), ISO alpha-3 ``Country`` (S7, S9, S10)."""
    extra = {
        "TestMode": "1",
        "DemoResult": "AS000",
        "Submit": "Pay",
        "IsFrame": "0",
        "Phone": "+70000000000",
        "Desc": "order",
        "SignatureValue": "x",
        "IsTest": "1",
        "ChequeItems[0][name]": "book",
        "Country": "RUS",
        "FirstName": "Ivan",
    }
    assert (await order_cfm(client, request("SHOP-33", "1", "RUB") | extra)).isdigit()


async def test_the_buyer_returns_with_billnumber_ordernumber_and_payerdenial(
    client: httpx.AsyncClient,
) -> None:
    """S12 returns to ``…?action=success``, S13 to ``?wc-api=…``: IPS appends with ``&``.
    S9 reads ``ordernumber`` from the query string; S7 and S12 also ``billnumber``; S20's
    real return URL carries ``payerdenial=0``."""
    billnumber = await order_cfm(
        client,
        request("SHOP-34", "10", "RUB")
        | {"URL_RETURN_OK": "https://shop.example/index.php?action=success"},
    )
    back = urlsplit(await pay(client, billnumber))
    assert back.path == "/index.php"
    assert parse_qs(back.query) == {
        "action": ["success"],
        "billnumber": [billnumber],
        "ordernumber": ["SHOP-34"],
        "payerdenial": ["0"],
    }


async def test_s1_creates_the_order_server_to_server(client: httpx.AsyncClient) -> None:
    """S1's ``CreatePaymentRequest`` adds Login/Password and ``Format=5`` and its
    ``;``-joined checkvalue; ``CreatePaymentResponse`` reads top-level ``URL``,
    ``orderstate``, ``expirationtime``."""
    fields = request("SHOP-35", "250.00", "RUB")
    value = checkvalue(SECRET, ";".join(fields.values()))
    answer = clients.s1_payrequest(
        await client.post(PAYREQUEST, data=CAMEL | fields | {"Checkvalue": value, "Format": "5"})
    )
    assert answer["orderstate"] == "In Process"
    assert (await client.get(answer["URL"])).status_code == 200


async def test_s18_sends_no_format_and_reads_url(client: httpx.AsyncClient) -> None:
    """S18 (Django) posts no ``Format``, ``ChequeItems`` as a JSON string and
    ``URL_RETURN``, then reads ``response.json()['URL']``."""
    fields = request("SHOP-36", "99.5", None)
    response = await client.post(
        PAYREQUEST,
        data=fields
        | {
            "ChequeItems": json.dumps([{"name": "book", "price": "99.5"}]),
            "Checkvalue": checkvalue(SECRET, ";".join(fields.values())),
            "URL_RETURN": "https://shop.example/back",
        },
    )
    url = response.json()["URL"]
    assert urlsplit(url).scheme == "http" and urlsplit(url).path.startswith("/pay/")
