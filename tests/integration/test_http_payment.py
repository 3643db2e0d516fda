"""The buyer's path over HTTP: payment request → card page → the shop's return URL."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from ips.domain.signed_fields import payment_request_checkvalue
from ips.domain.states import OrderState
from ips.storage.tables import operations, orders
from ips.storage.unit_of_work import Database
from tests.fakes import FakeProcessingCenter

REQUEST = {
    "Merchant_ID": "111111",
    "OrderNumber": "ORD-1",
    "OrderAmount": "100.00",
    "OrderCurrency": "RUB",
    "URL_RETURN_OK": "https://shop.example/ok?x=1",
    "URL_RETURN_NO": "https://shop.example/no",
}


async def count(database: Database, table=orders) -> int:  # type: ignore[no-untyped-def]
    async with database.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def open_card_page(client: httpx.AsyncClient, **params: str) -> tuple[str, str]:
    """Sends the payment request; returns the card page's address and its form token."""
    response = await client.post("/pay/order.cfm", data={**REQUEST, **params})
    assert response.status_code == 303, response.text
    card_page = response.headers["location"]
    page = await client.get(card_page)
    assert page.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    return card_page, token.group(1)


def card_form(token: str, number: str = "4111111111111111", **changes: str) -> dict[str, str]:
    form = {
        "token": token,
        "card_number": number,
        "exp_month": "12",
        "exp_year": "2099",
        "cvc": "123",
        "cardholder": "IVAN PETROV",
    }
    return form | changes


async def test_paid_order_returns_the_buyer_to_url_return_ok(
    client: httpx.AsyncClient, database: Database
) -> None:
    card_page, token = await open_card_page(client)
    page = (await client.get(card_page)).text
    assert "Test Shop" in page and "100.00" in page and "RUB" in page
    for token_name in ("cc-number", "cc-exp-month", "cc-exp-year", "cc-csc", "cc-name"):
        assert f'autocomplete="{token_name}"' in page

    response = await client.post(f"{card_page}/card", data=card_form(token))

    assert response.status_code == 303
    back = urlsplit(response.headers["location"])
    assert back.netloc == "shop.example" and back.path == "/ok"
    query = parse_qs(back.query)
    assert query["x"] == ["1"] and query["ordernumber"] == ["ORD-1"]
    assert query["payerdenial"] == ["0"]
    billnumber = query["billnumber"][0]
    assert card_page == f"/pay/{billnumber}"
    async with database(readonly=True) as uow:
        order = await uow.orders.get(billnumber)
    assert order is not None and order.state is OrderState.APPROVED


async def test_a_declined_card_brings_the_buyer_back_to_pay_with_the_reason(
    client: httpx.AsyncClient, fake_processing: FakeProcessingCenter
) -> None:
    from ips.domain.responses import ResponseCode

    fake_processing.outcomes["4000000000000002"] = ResponseCode.DECLINED
    card_page, token = await open_card_page(client)
    response = await client.post(f"{card_page}/card", data=card_form(token, "4000000000000002"))

    assert response.status_code == 303 and response.headers["location"] == card_page
    again = await client.get(card_page)
    assert "Payment declined" in again.text and "issued your card" in again.text
    assert "Attempts left: 2." in again.text and 'action="' in again.text
    result = await client.get(f"{card_page}/result")
    assert "Try again" in result.text
    assert "https://shop.example/no?billnumber=" in result.text and "payerdenial=1" in result.text


async def test_get_request_with_lowercase_names_creates_the_order(
    client: httpx.AsyncClient, database: Database
) -> None:
    params = {key.lower(): value for key, value in REQUEST.items()}
    response = await client.get("/pay/order.cfm", params=params)
    assert response.status_code == 303 and response.headers["location"].startswith("/pay/")
    assert await count(database) == 1


async def test_checkvalue_over_the_fields_present_is_accepted(
    client: httpx.AsyncClient, database: Database
) -> None:
    fields = {"merchant_id": "111111", "ordernumber": "ORD-1", "orderamount": "100.0"}
    value = payment_request_checkvalue("secret", fields)
    response = await client.post(
        "/pay/order.cfm",
        data={
            "MERCHANT_ID": "111111",
            "ordernumber": "ORD-1",
            "OrderAmount": "100.0",
            "Checkvalue": value.lower(),
        },
    )
    assert response.status_code == 303
    assert await count(database) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"Merchant_ID": "999999"}, "no merchant"),
        ({"Merchant_ID": "abc"}, "Merchant_ID"),
        ({"OrderAmount": ""}, "OrderAmount is required"),
        ({"OrderAmount": "abc"}, "not a decimal"),
        ({"OrderAmount": "-5"}, "not a decimal"),
        ({"OrderAmount": "1.234"}, "decimals"),
        ({"OrderAmount": "1234567890123456"}, "15 digits"),
        ({"OrderAmount": "10000000000.00"}, "above the largest payment"),
        ({"OrderAmount": "0.00"}, "greater than zero"),
        ({"OrderCurrency": "XXX"}, "unknown currency"),
        ({"OrderNumber": ""}, "OrderNumber is required"),
        ({"OrderNumber": "x" * 129}, "128"),
        ({"Checkvalue": "0" * 32}, "checkvalue does not match"),
        ({"Checkvalue": "²"}, "checkvalue does not match"),
        ({"Delay": "2"}, "Delay"),
        ({"URL_RETURN_OK": "javascript:alert(1)"}, "URL_RETURN_OK"),
        ({"URL_RETURN_NO": "https://evil.example/no"}, "not registered"),
        ({"URL_RETURN": "https://shop.example.evil.example/"}, "not registered"),
        ({"OrderNumber": "A\x00B"}, "control characters"),
        ({"Lastname": "x" * 256}, "255"),
    ],
)
async def test_bad_payment_requests_get_a_page_and_create_nothing(
    client: httpx.AsyncClient, database: Database, changes: dict[str, str], message: str
) -> None:
    response = await client.post("/pay/order.cfm", data={**REQUEST, **changes})
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert message.lower() in response.text.lower()
    assert await count(database) == 0


async def test_a_web_service_answers_a_checkvalue_of_any_text_with_its_code(
    client: httpx.AsyncClient, database: Database
) -> None:
    """A non-ASCII checkvalue once made ``hmac.compare_digest`` raise: 2/0 and a traceback."""
    response = await client.post("/pay/payrequest.cfm", data={**REQUEST, "Checkvalue": "²"})
    assert response.status_code == 200
    assert (response.json()["firstcode"], response.json()["secondcode"]) == (7, 0)
    assert await count(database) == 0


async def test_an_ordernumber_already_paid_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    card_page, token = await open_card_page(client)
    await client.post(f"{card_page}/card", data=card_form(token))
    response = await client.post("/pay/order.cfm", data=REQUEST)
    assert response.status_code == 400 and "already paid" in response.text
    assert await count(database) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"card_number": "4111111111111112"}, "Check the card number"),
        ({"card_number": "4111"}, "Check the card number"),
        ({"exp_year": "2020"}, "may have expired"),
        ({"exp_month": "13"}, "Check the expiry date"),
        ({"cvc": "12"}, "Check the CVC"),
        ({"token": "1.forged"}, "The page has expired"),
    ],
)
async def test_bad_card_data_is_shown_on_the_page_and_nothing_is_sent(
    client: httpx.AsyncClient,
    database: Database,
    fake_processing: FakeProcessingCenter,
    changes: dict[str, str],
    message: str,
) -> None:
    card_page, token = await open_card_page(client)
    response = await client.post(f"{card_page}/card", data=card_form(token) | changes)
    assert response.status_code == 400
    assert message.lower() in response.text.lower()
    assert 'role="alert"' in response.text
    assert "4111111111111112" not in response.text  # the number typed is not echoed back
    assert fake_processing.authorizations == []
    assert await count(database, operations) == 0


async def test_card_page_of_a_paid_order_shows_the_result(client: httpx.AsyncClient) -> None:
    card_page, token = await open_card_page(client)
    await client.post(f"{card_page}/card", data=card_form(token))
    again = await client.post(f"{card_page}/card", data=card_form(token))
    assert again.status_code == 303 and "/ok" in again.headers["location"]
    page = await client.get(card_page)
    assert page.status_code == 303 and page.headers["location"].endswith("/result")
    assert "Payment accepted" in (await client.get(page.headers["location"])).text


async def test_unknown_order_page_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/pay/1234567890123456", "/pay/nonsense", "/pay/1234567890123456/result"):
        assert (await client.get(path)).status_code == 404


async def test_pages_carry_the_security_headers(client: httpx.AsyncClient) -> None:
    card_page, _ = await open_card_page(client)
    response = await client.get(card_page)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "max-age" in response.headers["strict-transport-security"]
    assert response.headers["cache-control"] == "no-store"


async def test_markup_in_names_is_shown_as_text(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/pay/order.cfm", data={**REQUEST, "OrderNumber": "<script>alert(1)</script>"}
    )
    page = await client.get(response.headers["location"])
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize(
    ("language", "said", "not_said"),
    [
        ("RU", ["Оплата невозможна", "Сумма заказа не указана или указана неверно."], "amount"),
        ("EN", ["The payment cannot be made", "is not a decimal number"], "Оплата"),
    ],
)
async def test_a_refused_payment_request_is_told_in_its_own_language_only(
    client: httpx.AsyncClient, database: Database, language: str, said: list[str], not_said: str
) -> None:
    request = {**REQUEST, "OrderAmount": "ten", "Language": language}
    answer = await client.post(
        "/pay/order.cfm", data=request, headers={"Accept-Language": "de-DE, fr"}
    )

    assert answer.status_code == 400
    assert answer.headers["content-language"] == language.lower()
    main = answer.text.split("<main", 1)[1]
    for words in said:
        assert words in main
    assert not_said not in main.split("</main>", 1)[0].replace('lang="', "")
    assert await count(database) == 0
