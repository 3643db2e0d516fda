"""No request, however malformed, gets a 500: seeded random requests to every endpoint.

Each request mixes the protocol's real parameter names and plausible values with junk —
other scripts, control characters, huge numbers, broken encodings — sent as a query string,
a form, a JSON body or raw bytes. Web services must answer 200 in a readable format; the
payment request a page, never a server error. The seed makes every failure reproducible.
"""

from __future__ import annotations

import json
import logging
import random
from xml.etree import ElementTree as ET

import httpx
import pytest

from ips.domain.errors import NotFound
from ips.services import authentication
from ips.services.gateway import Gateway
from ips.services.wallet_payments import complete_wallet_payment
from tests.integration.test_money_operations import paid_order

NAMES = (
    "Merchant_ID merchant_id Login Password Format format Ordernumber OrderNumber "
    "OrderAmount OrderCurrency Billnumber billnumber Amount Currency AutoDeposit CancelReason "
    "Externalrefundid Language StartYear StartMonth StartDay StartHour StartMin EndYear "
    "EndMonth EndDay Delay Checkvalue URL_RETURN_OK Lastname Email ClientIP"
).split()

JUNK = [
    "",
    " ",
    "0",
    "-1",
    "1.234",
    "9" * 40,
    "1e309",
    "NaN",
    "١٢٣",
    "²",
    "\x00",
    "\x7f",
    "\ud7ff",
    "<result/>",
    "]]>",
    "' OR 1=1 --",
    "%00",
    "..",
    "🙂" * 50,
    "x" * 5000,
    "RUR",
    "XXX",
    "2026",
    "13",
    "31",
    "99999999999999999999",
    ".",
    "5.",
    ".5",
    "1.1.1",
]


def value(rng: random.Random, billnumber: str) -> str:
    return rng.choice(
        [
            *JUNK,
            "111111", "shop", "shop-password", "3", "5", "1", "2", "4", "RUB", "100.00",
            billnumber, f"{billnumber}.1", f"{billnumber}.9", "EN", "RU",
        ]
    )  # fmt: skip


def request(rng: random.Random, billnumber: str) -> dict[str, str]:
    names = rng.sample(NAMES, rng.randint(0, 12)) + [
        "".join(rng.choice("abcXYZ_[]{}") for _ in range(rng.randint(1, 8)))
        for _ in range(rng.randint(0, 2))
    ]
    return {name: value(rng, billnumber) for name in names}


WEB_SERVICES = [
    "/orderstate/orderstate.cfm",
    "/orderresult/orderresult.cfm",
    "/charge/charge.cfm",
    "/cancel/cancel.cfm",
    "/cancel/wscancel.cfm",
    "/pay/payrequest.cfm",
]


def readable(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "")
    if "xml" in kind:
        ET.fromstring(response.content)
    elif "json" in kind:
        json.loads(response.text)
    elif "csv" not in kind:
        return False
    return True


@pytest.mark.parametrize("path", WEB_SERVICES)
async def test_web_services_answer_every_request_in_a_readable_format(
    client: httpx.AsyncClient, gateway: Gateway, path: str
) -> None:
    order = await paid_order(gateway, delay=True)
    rng = random.Random(f"{path}-2026")
    for _ in range(60):
        params = request(rng, order.billnumber)
        how = rng.choice(["form", "query", "json", "bytes"])
        if how == "form":
            response = await client.post(path, data=params)
        elif how == "query":
            response = await client.get(path, params=params)
        elif how == "json":
            response = await client.post(path, json=rng.choice([params, [params], "x", None]))
        else:
            raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
            kind = rng.choice(
                ["application/x-www-form-urlencoded", "application/json", "multipart/form-data"]
            )
            response = await client.post(path, content=raw, headers={"content-type": kind})
        assert response.status_code == 200, (how, params, response.text[:300])
        assert readable(response), (how, params, response.headers, response.text[:300])


async def test_the_payment_request_never_fails_with_a_server_error(
    client: httpx.AsyncClient,
) -> None:
    rng = random.Random("order.cfm-2026")
    for _ in range(80):
        params = request(rng, "1")
        if rng.random() < 0.5:
            response = await client.post("/pay/order.cfm", data=params)
        else:
            response = await client.get("/pay/order.cfm", params=params)
        assert response.status_code in (302, 303, 400, 409), (params, response.text[:300])


@pytest.mark.parametrize(
    "path",
    [
        "/pay/%00/3ds?transaction=x",
        "/pay/%00/wallet/return",
        "/pay/%00",
        "/pay/%00/result",
        "/pay/1%00/card",
        "/pay/%FF%FE/3ds?transaction=x",
        "/pay/%C0%80/wallet/return",
        "/cabinet/orders/%00",
        "/static/%00",
    ],
)
async def test_a_path_with_a_nul_byte_or_broken_utf8_names_nothing(
    client: httpx.AsyncClient, path: str
) -> None:
    """No page has such a name; PostgreSQL would refuse the NUL byte in a query."""
    response = await client.get(path)
    assert response.status_code == 404, response.text[:300]


@pytest.mark.parametrize("billnumber", ["\x00", "1\x00", "١٢٣", "", "x" * 100])
async def test_returns_from_3ds_and_the_wallet_for_a_billnumber_of_no_order(
    gateway: Gateway, billnumber: str
) -> None:
    """Whoever calls them, the services take only billnumbers that can be one."""
    with pytest.raises(NotFound):
        await authentication.complete(billnumber, "x", gateway)
    with pytest.raises(NotFound):
        await complete_wallet_payment(billnumber, gateway)


async def test_a_path_with_a_line_break_is_logged_on_one_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ips.access")
    response = await client.get("/pay/1%0A2026-12-01 GET /forged 200/result")
    assert response.status_code == 404
    [line] = [r.getMessage() for r in caplog.records if r.name == "ips.access"]
    assert "\n" not in line and "\\n" in line
