"""What the compatibility tests send: the shop's credentials in the spellings clients use,
and a payment made the way a buyer makes it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from sqlalchemy import update

from ips.storage.tables import merchants
from ips.storage.unit_of_work import Database
from tests.integration.test_http_payment import card_form

MERCHANT_ID, LOGIN, PASSWORD, SECRET = "111111", "shop", "shop-password", "secret"

CAMEL = {"Merchant_ID": MERCHANT_ID, "Login": LOGIN, "Password": PASSWORD}
LOWER = {"merchant_id": MERCHANT_ID, "login": LOGIN, "password": PASSWORD}
UPPER = {"MERCHANT_ID": MERCHANT_ID, "LOGIN": LOGIN, "PASSWORD": PASSWORD}


async def opt_in_to_unseparated_checkvalues(database: Database) -> None:
    """What ``ips merchant add --checkvalue-legacy-concat`` stores, for the shops whose CMS
    module signs the fields without separators."""
    async with database.engine.begin() as conn:
        await conn.execute(update(merchants).values(checkvalue_legacy_concat=True))


async def order_cfm(client: httpx.AsyncClient, fields: dict[str, str]) -> str:
    """Posts the payment request without following the redirect, as S3 and S15 do; returns
    the billnumber of the card page the Location names."""
    response = await client.post("/pay/order.cfm", data=fields)
    assert response.status_code in (302, 303), response.text
    path = urlsplit(response.headers["location"]).path
    match = re.fullmatch(r"/pay/([0-9]+)", path)
    assert match is not None, path
    return match.group(1)


async def pay(client: httpx.AsyncClient, billnumber: str, number: str = "4111111111111111") -> str:
    """The buyer fills the card page; returns where IPS sends them next."""
    page = await client.get(f"/pay/{billnumber}")
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    response = await client.post(f"/pay/{billnumber}/card", data=card_form(token.group(1), number))
    assert response.status_code == 303
    return response.headers["location"]


async def paid(
    client: httpx.AsyncClient, ordernumber: str, amount: str = "100.00", **extra: str
) -> str:
    """An order paid through the pages; returns its billnumber."""
    fields = {"Merchant_ID": MERCHANT_ID, "OrderNumber": ordernumber, "OrderAmount": amount}
    billnumber = await order_cfm(client, fields | extra)
    await pay(client, billnumber)
    return billnumber
