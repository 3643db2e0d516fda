"""Web-service logins: failures are slowed, then the login is locked for a while."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx

from ips.services.gateway import Gateway
from tests.fakes import ManualClock
from tests.integration.test_money_operations import paid_order

AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password", "Format": "3"}


async def charge(client: httpx.AsyncClient, billnumber: str, **changes: str) -> tuple[str, str]:
    data = {**AUTH, "Billnumber": billnumber, "Amount": "1.00", "Currency": "RUB"} | changes
    result = ET.fromstring((await client.post("/charge/charge.cfm", data=data)).content)
    return result.attrib["firstcode"], result.attrib["secondcode"]


async def test_ten_wrong_passwords_lock_the_login_for_thirty_minutes(
    client: httpx.AsyncClient, gateway: Gateway, clock: ManualClock, pauses: list[float]
) -> None:
    order = await paid_order(gateway, delay=True)
    answers = [await charge(client, order.billnumber, Password="guess") for _ in range(10)]
    assert answers == [("7", "102")] * 10
    assert pauses == [1, 2, 4, 8, 8, 8, 8]  # the first three failures are answered at once

    assert await charge(client, order.billnumber) == ("12", "101")  # locked, right password too
    clock.advance(minutes=29)
    assert await charge(client, order.billnumber, Password="guess") == ("12", "101")
    clock.advance(minutes=1)
    assert await charge(client, order.billnumber) == ("0", "0")


async def test_a_success_clears_the_failures(
    client: httpx.AsyncClient, gateway: Gateway, pauses: list[float]
) -> None:
    order = await paid_order(gateway, delay=True)
    for _ in range(3):
        assert await charge(client, order.billnumber, Login="other") == ("7", "101")
    assert await charge(client, order.billnumber) == ("0", "0")
    assert await charge(client, order.billnumber, Login="other") == ("7", "101")
    assert pauses == []  # counted from zero again
