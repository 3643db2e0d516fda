"""``charge``, ``cancel`` and ``wscancel`` as the clients ask for them and read them."""

from __future__ import annotations

import httpx
import pytest

from tests.compat import clients
from tests.compat.clients import ClientFailure
from tests.compat.replay import CAMEL, LOWER, paid

CHARGE, CANCEL, WSCANCEL = "/charge/charge.cfm", "/cancel/cancel.cfm", "/cancel/wscancel.cfm"


async def test_s2_charges_in_part_with_lowercase_names_and_reads_the_last_order(
    client: httpx.AsyncClient,
) -> None:
    """S2 sends ``amount``, ``currency``, ``language``, ``clientip`` lower-cased with
    ``format=3`` and reads the last ``result/orders/order``."""
    billnumber = await paid(client, "SHOP-40", Delay="1")
    order = clients.s2_last(
        await client.post(
            CHARGE,
            data=LOWER
            | {
                "billnumber": billnumber,
                "amount": "100.0",
                "currency": "RUB",
                "language": "RU",
                "clientip": "192.0.2.1",
                "format": "3",
            },
        ),
        "orders/order",
    )
    assert order["orderstate"] == "Approved" and order["operationtype"] == "200"
    assert order["billnumber"] == f"{billnumber}.2" and order["ipaddress"] == "192.0.2.1"


async def test_s7_confirms_and_cancels_the_full_amount_with_codes_zero(
    client: httpx.AsyncClient,
) -> None:
    """S7 sends no amount, ``Language=EN``, ``Format=3``; ``(int)firstcode ||
    (int)secondcode`` is an error, then ``orders/order/responsecode`` must be ``AS000``."""
    billnumber = await paid(client, "SHOP-41", Delay="1")
    request = CAMEL | {"Billnumber": billnumber, "Language": "EN", "Format": "3"}
    charged = clients.first_order(await client.post(CHARGE, data=request), "orders/order")
    assert charged["responsecode"] == "AS000" and charged["message"] == "Approved"
    cancelled = clients.first_order(await client.post(CANCEL, data=request), "orders/order")
    assert cancelled["responsecode"] == "AS000" and cancelled["orderstate"] == "Canceled"
    with pytest.raises(ClientFailure, match="15/300"):
        clients.first_order(await client.post(CANCEL, data=request), "orders/order")


@pytest.mark.parametrize("billnumber_name", ["Billnumber", "BillNumber", "billnumber"])
async def test_s16_and_s15_bind_result_orders_order(
    client: httpx.AsyncClient, billnumber_name: str
) -> None:
    """S16 binds integer ``firstcode``/``secondcode``/``count`` and a required ``orders``;
    S15 spells ``BillNumber`` and reads ``ordernumber, billnumber, amount, currency,
    orderstate``."""
    billnumber = await paid(client, "SHOP-42")
    result = clients.s16(
        await client.post(CANCEL, data=CAMEL | {billnumber_name: billnumber, "Format": "3"})
    )
    assert (result.firstcode, result.secondcode, result.count) == (0, 0, 1)
    [order] = result.orders
    assert order["ordernumber"] == "SHOP-42" and order["billnumber"] == f"{billnumber}.2"
    assert (order["amount"], order["currency"], order["orderstate"]) == (
        "100.00",
        "RUB",
        "Canceled",
    )


async def test_s4_refunds_an_amount_and_checks_both_codes(client: httpx.AsyncClient) -> None:
    """S4 refunds with ``Amount``, ``Currency`` and ``Format=3`` and needs firstcode and
    secondcode 0. S19's currency is ``RUR``, RUB's old code."""
    billnumber = await paid(client, "SHOP-43")
    for currency in ("RUB", "RUR"):
        order = clients.first_order(
            await client.post(
                CANCEL,
                data=CAMEL
                | {
                    "Billnumber": billnumber,
                    "Amount": "10.00",
                    "Currency": currency,
                    "Format": "3",
                },
            ),
            "orders/order",
        )
        assert order["amount"] == "10.00" and order["orderstate"] == "PartialCanceled"


async def test_s1_reads_charge_flat(client: httpx.AsyncClient) -> None:
    """S1's ``ChargeResponse`` reads every field straight under ``charge``, strings never
    null, ``testmode``/``operationtype``/``rate`` numeric."""
    billnumber = await paid(client, "SHOP-44", Delay="1")
    charge = clients.s1_charge(
        await client.post(CHARGE, data=CAMEL | {"Billnumber": billnumber, "Format": "5"})
    )
    assert charge["orderstate"] == "Approved" and charge["operationtype"] == "200"
    assert charge["billnumber"] == f"{billnumber}.2" and charge["testmode"] == "0"


async def test_s1_reads_wscancel_as_order_and_checkdata(client: httpx.AsyncClient) -> None:
    """S1 sends ``wscancel.cfm`` with ``Format=5``; ``CancelResponse`` reads
    ``wscancel.order`` (its ``Order`` model: ``ordercomment``, ``orderdate``, ``testmode``
    non-null) and ``wscancel.checkdata`` without a default. An extended billnumber names
    the payment."""
    billnumber = await paid(client, "SHOP-45")
    order, checkdata = clients.s1_wscancel(
        await client.post(WSCANCEL, data=CAMEL | {"Billnumber": f"{billnumber}.1", "Format": "5"})
    )
    assert order["orderstate"] == "Canceled" and order["ordercomment"] == ""
    assert checkdata["packetdate"]


async def test_s1_gets_http_200_and_json_codes_when_refused(client: httpx.AsyncClient) -> None:
    """S1 retries anything but HTTP 200, so a refusal is a 200 with the two codes."""
    response = await client.post(WSCANCEL, data=CAMEL | {"Billnumber": "1234567890123456"})
    assert clients.s1_body(response) == {"firstcode": 10, "secondcode": 143}
