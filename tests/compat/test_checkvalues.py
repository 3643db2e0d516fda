"""The checkvalue test vectors of ASSIST-API.md and of the client study (§9), replayed
through the protocol: SALT ``secret`` is the test shop's secret word."""

from __future__ import annotations

import httpx
import pytest

from ips.storage.unit_of_work import Database
from tests.compat import clients
from tests.compat.replay import CAMEL, opt_in_to_unseparated_checkvalues, paid

SEPARATED = [
    ("100.0", None, "DBE8D1AB4F19A27D161999DC53293881"),  # 111111;100;100.0 (S2)
    ("100.00", "RUB", "21B462C919BF7F39829939E9B088CB81"),  # 111111;100;100.00;RUB
]
UNSEPARATED = [
    ("100.0", None, "581FEBB07B941C41CEF377CBB52E46EC"),  # 111111100100.0
    ("100.00", "RUB", "252275D8A2C6808B84C937A6638C9C1D"),  # 111111100100.00RUB
]


async def send(client: httpx.AsyncClient, path: str, fields: dict[str, str]) -> str:
    """The request as the client sends it; the payment page it leads to, or ``""``."""
    if path == "/pay/order.cfm":
        response = await client.post(path, data=fields)
        return response.headers["location"] if response.status_code == 303 else ""
    answer = clients.s1_body(await client.post(path, data=fields))
    return str(answer.get("URL", ""))


def request(amount: str, currency: str | None, value: str) -> dict[str, str]:
    fields = {"Merchant_ID": "111111", "OrderNumber": "100", "OrderAmount": amount}
    return fields | ({"OrderCurrency": currency} if currency else {}) | {"Checkvalue": value}


@pytest.mark.parametrize(("amount", "currency", "value"), SEPARATED)
@pytest.mark.parametrize("path", ["/pay/order.cfm", "/pay/payrequest.cfm"])
async def test_request_vectors_are_accepted(
    client: httpx.AsyncClient, path: str, amount: str, currency: str | None, value: str
) -> None:
    """The vector of ASSIST-API.md (from S2's specs) and research §9's ``;``-joined one (S1,
    S2), sent as the request they sign, to ``order.cfm`` and to ``payrequest.cfm``."""
    assert await send(client, path, request(amount, currency, value))


@pytest.mark.parametrize(("amount", "currency", "value"), UNSEPARATED)
@pytest.mark.parametrize("path", ["/pay/order.cfm", "/pay/payrequest.cfm"])
async def test_unseparated_vectors_are_accepted_from_a_shop_that_opted_in(
    client: httpx.AsyncClient,
    database: Database,
    path: str,
    amount: str,
    currency: str | None,
    value: str,
) -> None:
    """CS-Cart (S10), WooCommerce (S13) and HostCMS (S14) sign the fields without
    separators: their shops opt in, and are paid as before; other shops refuse the form."""
    assert not await send(client, path, request(amount, currency, value))
    await opt_in_to_unseparated_checkvalues(database)
    assert await send(client, path, request(amount, currency, value))


async def test_answer_vector_of_a_cancelled_order(client: httpx.AsyncClient) -> None:
    """Order ``ok`` of 4.00 RUB, paid then cancelled: its orderstate checkvalue is the one
    of X = ``111111ok4.00RUBCanceled``."""
    billnumber = await paid(client, "ok", "4")
    await client.post("/cancel/cancel.cfm", data=CAMEL | {"Billnumber": billnumber})
    order = clients.s2_last(
        await client.post("/orderstate/orderstate.cfm", data=CAMEL | {"Ordernumber": "ok"})
    )
    assert order["checkvalue"] == "74DEB154081757F1E8097DDFAC35FC5C"
