"""``orderstate`` as the clients ask for it and read it."""

from __future__ import annotations

import json

import httpx
import pytest

from ips.domain.checkvalue import answer_checkvalue
from ips.domain.responses import ResponseCode
from tests.compat import clients
from tests.compat.clients import ClientFailure
from tests.compat.replay import CAMEL, LOWER, MERCHANT_ID, SECRET, UPPER, order_cfm, paid, pay
from tests.fakes import FakeProcessingCenter, ManualClock

PATH = "/orderstate/orderstate.cfm"
DECLINED_CARD = "4000000000000002"


async def declined_then_paid(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> tuple[str, str]:
    """Order ``SHOP-7`` declined once, then paid: two orders, the newest last."""
    fake_processing.outcomes[DECLINED_CARD] = ResponseCode.DECLINED
    request = {"Merchant_ID": MERCHANT_ID, "OrderNumber": "SHOP-7", "OrderAmount": "250.00"}
    declined = await order_cfm(client, request)
    await pay(client, declined, DECLINED_CARD)
    clock.advance(minutes=2)
    return declined, await paid(client, "SHOP-7", "250.00")


async def test_s2_takes_the_last_order_and_verifies_its_checkvalue(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> None:
    """S2 lower-cases every parameter name, sends ``format=3``, takes the last ``<order>``
    and checks ``checkvalue`` over the ordernumber it sent and the answer's amount,
    currency and state."""
    _, newest = await declined_then_paid(client, fake_processing, clock)
    request = LOWER | {"ordernumber": "SHOP-7", "format": "3"}

    order = clients.s2_last(await client.post(PATH, data=request))

    assert order["billnumber"] == newest and order["orderstate"] == "Approved"
    assert order["checkvalue"] == answer_checkvalue(
        SECRET,
        MERCHANT_ID,
        request["ordernumber"],
        order["orderamount"],
        order["ordercurrency"],
        order["orderstate"],
    )


async def test_any_approved_readers_find_the_payment_among_attempts(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> None:
    """S10 and S17 accept the order when any ``<order>`` is ``Approved``."""
    await declined_then_paid(client, fake_processing, clock)
    response = await client.post(PATH, data=CAMEL | {"Ordernumber": "SHOP-7", "Format": "3"})
    assert clients.any_approved(response)


@pytest.mark.parametrize(
    ("names", "ordernumber", "fmt", "method"),
    [
        (CAMEL, "Ordernumber", "Format", "POST"),  # S4, S5, S7, S10, S12, S17
        (CAMEL, "OrderNumber", "Format", "POST"),  # S9, S15, S16, S19
        (LOWER, "ordernumber", "format", "POST"),  # S2
        (UPPER, "ORDERNUMBER", "FORMAT", "POST"),  # S4 check sends FORMAT
        (LOWER, "ordernumber", "format", "GET"),  # S21 (Mechanize)
        (CAMEL, "OrderNumber", "Format", "GET"),
    ],
)
async def test_first_order_readers_see_the_one_order_in_every_spelling(
    client: httpx.AsyncClient, names: dict[str, str], ordernumber: str, fmt: str, method: str
) -> None:
    """S4, S7, S9, S12, S19 read the first ``<order>`` after checking
    ``(int)firstcode || (int)secondcode``; S9 also wants ``?xml`` and compares
    ``orderamount`` with the shop's total formatted ``{0:0.00}``."""
    billnumber = await paid(client, "SHOP-8", "1500")
    request = names | {ordernumber: "SHOP-8", fmt: "3"}

    if method == "GET":
        response = await client.get(PATH, params=request)
    else:
        response = await client.post(PATH, data=request)

    order = clients.first_order(response)
    assert order["billnumber"] == billnumber and order["orderstate"] == "Approved"
    assert clients.s9_accepts(response)
    assert order["orderamount"] == f"{1500:.2f}"


async def test_s15_finds_one_order_in_process_right_after_order_cfm(
    client: httpx.AsyncClient,
) -> None:
    """S15 posts to ``order.cfm`` without following the redirect, then asks orderstate at
    once and requires exactly one order, with a billnumber, ``In Process``, its checkvalue
    right."""
    billnumber = await order_cfm(
        client,
        {"Merchant_ID": MERCHANT_ID, "OrderNumber": "SHOP-9", "OrderAmount": "10.5"},
    )
    response = await client.post(PATH, data=CAMEL | {"OrderNumber": "SHOP-9", "Format": "3"})
    order = clients.exactly_one_order(response)
    assert order["billnumber"] == billnumber and order["orderstate"] == "In Process"
    assert order["orderamount"] == "10.50"
    assert order["checkvalue"] == answer_checkvalue(
        SECRET, MERCHANT_ID, "SHOP-9", "10.50", "RUB", "In Process"
    )


async def test_s1_reads_one_object_the_newest(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter, clock: ManualClock
) -> None:
    """S1's ``OrderStateResponse`` reads ``orderstate`` as one object: with two attempts it
    gets the newest."""
    _, newest = await declined_then_paid(client, fake_processing, clock)
    state = clients.s1_orderstate(
        await client.post(PATH, data=CAMEL | {"OrderNumber": "SHOP-7", "Format": "5"})
    )
    assert state["billnumber"] == newest and state["orderstate"] == "Approved"


async def test_s1_and_s22_get_http_200_and_integer_codes_for_a_refusal(
    client: httpx.AsyncClient,
) -> None:
    """S1 retries any status but 200; S22 reads the JSON codes as integers."""
    response = await client.post(
        PATH, data=CAMEL | {"Password": "wrong-password", "OrderNumber": "X", "Format": "5"}
    )
    assert clients.s1_body(response) == {"firstcode": 7, "secondcode": 102}
    assert json.loads(response.text)["firstcode"] == 7


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({"Merchant_ID": "999999"}, (10, 100)),  # the fixture of S2
        ({"OrderNumber": "NEVER"}, (10, 201)),
        ({"Login": "nobody"}, (7, 101)),
        ({"Format": "4"}, (4, 103)),
    ],
)
async def test_xml_readers_see_the_codes_of_a_refusal(
    client: httpx.AsyncClient, changes: dict[str, str], codes: tuple[int, int]
) -> None:
    """S2 (string ``firstcode``), S4/S7 (``(int)`` casts) and S16 (required integer
    attributes ``firstcode``, ``secondcode``, ``count``) all read a refusal."""
    response = await client.post(PATH, data=CAMEL | {"OrderNumber": "X", "Format": "3"} | changes)
    result = clients.s16(response)
    assert (result.firstcode, result.secondcode, result.count) == (*codes, 0)
    with pytest.raises(ClientFailure):
        clients.s2_last(response)
    with pytest.raises(ClientFailure):
        clients.first_order(response)
    assert clients.s9_accepts(response)


@pytest.mark.parametrize(
    "window",
    [
        {"StartYear": "{y}", "StartMonth": "{m}", "StartYDay": "1"},  # S4: the typo, no day
        {"StartYear": "{y}", "StartMonth": "{m}", "StartDay": "{d}", "StartHour": "0"},  # S9
        {"startyear": "{y}", "startmonth": "{m:02d}", "startday": "{d:02d}"},  # S5, S2
    ],
)
async def test_windows_as_clients_send_them(
    client: httpx.AsyncClient, clock: ManualClock, window: dict[str, str]
) -> None:
    """Months and days with or without leading zeros (S4, S6, S9 send ``date('n')``,
    ``date('j')``); S4 sends ``StartYDay`` for ``StartDay``, which leaves the day out."""
    billnumber = await paid(client, "SHOP-10")
    start = clock.now
    given = {
        name: value.format(y=start.year, m=start.month, d=start.day)
        for name, value in window.items()
    }
    response = await client.post(PATH, data=CAMEL | {"OrderNumber": "SHOP-10"} | given)
    assert clients.first_order(response)["billnumber"] == billnumber
