"""A shop's checkvalue replayed with its values moved between fields is refused, as sent to
``order.cfm`` and ``payrequest.cfm`` (the replays of issue 10, finding 1)."""

from __future__ import annotations

import httpx
import pytest

from ips.domain.signed_fields import payment_request_checkvalue
from ips.storage.tables import merchants, orders
from ips.storage.unit_of_work import Database
from tests.integration.test_http_payment import count

SHOP = {"Merchant_ID": "111111", "OrderNumber": "CV-1", "OrderAmount": "15.00"}


def signed(fields: dict[str, str], separator: str = ";") -> str:
    return payment_request_checkvalue(
        "secret", {name.lower(): value for name, value in fields.items()}, separator
    )


async def refused(client: httpx.AsyncClient, path: str, fields: dict[str, str]) -> str:
    """Sends the request; returns what the buyer's page says, or the web service's codes."""
    response = await client.post(path, data=fields)
    if path == "/pay/order.cfm":
        assert response.status_code == 400, response.headers.get("location")
        return response.text
    return "{firstcode}/{secondcode}".format(**response.json())


PATHS = ["/pay/order.cfm", "/pay/payrequest.cfm"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("moved_to", "page", "codes"),
    [
        ("OrderMaxPoints", "OrderMaxPoints is a whole number", "4/0"),
        ("CustomerNumber", "OrderAmount=15.00, OrderCurrency=USD", "7/0"),
    ],
)
async def test_a_currency_moved_into_another_field_is_refused(
    client: httpx.AsyncClient,
    database: Database,
    path: str,
    moved_to: str,
    page: str,
    codes: str,
) -> None:
    """The shop signs ``111111;CV-1;15.00;USD``; the buyer drops ``OrderCurrency`` and sends
    the same checkvalue with ``USD`` in another field: once accepted, paid, and reported as
    15.00 RUB."""
    checkvalue = signed(SHOP | {"OrderCurrency": "USD"})
    said = await refused(client, path, SHOP | {moved_to: "USD", "Checkvalue": checkvalue})
    assert said == codes if path.endswith("payrequest.cfm") else page in said
    assert await count(database, orders) == 0


@pytest.mark.parametrize("path", PATHS)
async def test_digits_moved_between_ordernumber_and_amount_are_refused(
    client: httpx.AsyncClient, database: Database, path: str
) -> None:
    """The shop signs ``111111``+``12``+``1500.00``+``RUB`` without separators; the buyer
    sends ``OrderNumber=121&OrderAmount=500.00``: once order 121 was paid at 500.00."""
    shop = {"Merchant_ID": "111111", "OrderNumber": "12", "OrderAmount": "1500.00"}
    checkvalue = signed(shop | {"OrderCurrency": "RUB"}, separator="")
    replay = {"Merchant_ID": "111111", "OrderNumber": "121", "OrderAmount": "500.00"}
    said = await refused(client, path, replay | {"OrderCurrency": "RUB", "Checkvalue": checkvalue})
    assert said == "7/0" if path.endswith("payrequest.cfm") else "without separators" in said
    assert await count(database, orders) == 0


async def test_the_shops_own_request_is_still_accepted(
    client: httpx.AsyncClient, database: Database
) -> None:
    fields = SHOP | {"OrderCurrency": "USD", "CustomerNumber": "c-42"}
    response = await client.post("/pay/order.cfm", data=fields | {"Checkvalue": signed(fields)})
    assert response.status_code == 303
    assert await count(database, orders) == 1


@pytest.mark.parametrize(
    ("optional", "skipped"),
    [
        ({"Disable3DS": "1"}, False),  # …;RUB;1: Disable3DS, or Prepayment, OrderMaxPoints…
        (
            {"OrderMaxPoints": "5", "CustomerNumber": "c-9", "Disable3DS": "1", "Prepayment": "0"},
            True,
        ),
    ],
)
async def test_disable3ds_is_honoured_only_when_no_other_field_could_hold_it(
    client: httpx.AsyncClient, database: Database, optional: dict[str, str], skipped: bool
) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(merchants.update().values(allow_disable_3ds=True))
    fields = SHOP | {"OrderCurrency": "RUB"} | optional
    response = await client.post("/pay/order.cfm", data=fields | {"Checkvalue": signed(fields)})
    assert response.status_code == 303
    async with database.engine.connect() as conn:
        assert (await conn.execute(orders.select())).one().disable_3ds is skipped
