"""The checkvalue test vectors of ASSIST-API.md and of the client study (§9), replayed
through the protocol: SALT ``secret`` is the test shop's secret word."""

from __future__ import annotations

import httpx
import pytest

from tests.compat import clients
from tests.compat.replay import CAMEL, order_cfm, paid


@pytest.mark.parametrize(
    ("amount", "currency", "value"),
    [
        ("100.0", None, "DBE8D1AB4F19A27D161999DC53293881"),  # 111111;100;100.0 (S2)
        ("100.0", None, "581FEBB07B941C41CEF377CBB52E46EC"),  # 111111100100.0
        ("100.00", "RUB", "21B462C919BF7F39829939E9B088CB81"),  # 111111;100;100.00;RUB
        ("100.00", "RUB", "252275D8A2C6808B84C937A6638C9C1D"),  # 111111100100.00RUB
    ],
)
@pytest.mark.parametrize("path", ["/pay/order.cfm", "/pay/payrequest.cfm"])
async def test_request_vectors_are_accepted(
    client: httpx.AsyncClient, path: str, amount: str, currency: str | None, value: str
) -> None:
    """The vector of ASSIST-API.md (from S2's specs) and those of research §9 — ``;``-joined
    (S1, S2) and unseparated (S10, S13, S14), with and without the currency — sent as the
    request they sign, to ``order.cfm`` and to ``payrequest.cfm``."""
    fields = {"Merchant_ID": "111111", "OrderNumber": "100", "OrderAmount": amount}
    fields |= {"OrderCurrency": currency} if currency else {}
    fields |= {"Checkvalue": value}
    if path == "/pay/order.cfm":
        assert (await order_cfm(client, fields)).isdigit()
    else:
        assert clients.s1_payrequest(await client.post(path, data=fields))["URL"]


async def test_answer_vector_of_a_cancelled_order(client: httpx.AsyncClient) -> None:
    """Order ``ok`` of 4.00 RUB, paid then cancelled: its orderstate checkvalue is the one
    of X = ``111111ok4.00RUBCanceled``."""
    billnumber = await paid(client, "ok", "4")
    await client.post("/cancel/cancel.cfm", data=CAMEL | {"Billnumber": billnumber})
    order = clients.s2_last(
        await client.post("/orderstate/orderstate.cfm", data=CAMEL | {"Ordernumber": "ok"})
    )
    assert order["checkvalue"] == "74DEB154081757F1E8097DDFAC35FC5C"
