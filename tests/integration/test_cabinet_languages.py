"""The Personal Account in Russian and English over HTTP: the browser's language first, the
user's choice remembered in a cookie after, English without either; every page carries the
switch; amounts, dates, states and errors in the page's language; and pages of both
languages served at once, each in its own."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.cabinet import Cabinet, hidden
from tests.integration.test_cabinet import act

pytestmark = pytest.mark.usefixtures("merchant")

RUSSIAN_BROWSER = "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"
NBSP = "\u00a0"


@pytest.fixture
async def anna(cabinet: Cabinet) -> AsyncIterator[httpx.AsyncClient]:
    """An operator signed in from a browser that prefers Russian."""
    async with cabinet.signed_in("anna") as http:
        http.headers["Accept-Language"] = RUSSIAN_BROWSER
        yield http


def language_of(page: httpx.Response) -> str:
    found = re.search(r'<html lang="(\w+)">', page.text)
    assert found, page.text[:200]
    assert page.headers["content-language"] == found.group(1)
    return found.group(1)


async def test_a_russian_browser_gets_the_sign_in_page_in_russian(cabinet: Cabinet) -> None:
    async with cabinet.client() as http:
        page = await http.get("/cabinet/login", headers={"Accept-Language": RUSSIAN_BROWSER})
        assert page.status_code == 200 and language_of(page) == "ru"
        assert "<h1>Вход</h1>" in page.text and ">Войти</button>" in page.text
        assert ">Логин</label>" in page.text and ">Пароль</label>" in page.text
        token = hidden(page.text, "token")
        wrong = await http.post(
            "/cabinet/login",
            data={"login": "anna", "password": "not the password", "token": token},
            headers={"Accept-Language": RUSSIAN_BROWSER},
        )
        assert wrong.status_code == 401 and "Неверный логин или пароль." in wrong.text


@pytest.mark.parametrize("header", [None, "de-DE,fr;q=0.8"])
async def test_without_russian_or_english_in_the_browser_the_pages_are_in_english(
    cabinet: Cabinet, header: str | None
) -> None:
    async with cabinet.client() as http:
        del http.headers["Accept-Language"]
        asked = {"Accept-Language": header} if header else {}
        page = await http.get("/cabinet/login", headers=asked)
        assert language_of(page) == "en" and "<h1>Sign in</h1>" in page.text


async def test_the_orders_list_speaks_russian(cabinet: Cabinet, anna: httpx.AsyncClient) -> None:
    page = await anna.get("/cabinet/orders")
    assert page.status_code == 200 and language_of(page) == "ru"
    assert "<title>Заказы — Личный кабинет IPS</title>" in page.text
    assert "<h1>Заказы</h1>" in page.text and "Номер заказа" in page.text
    row = re.search(r"<td>ours-1</td>.*?</tr>", page.text, re.S)
    assert row, page.text
    assert f"100,00{NBSP}RUB" in row.group(0) and "Ожидает подтверждения" in row.group(0)
    assert re.search(r"<td>\d\d\.\d\d\.\d{4}, \d\d:\d\d:\d\d</td>", page.text)
    assert 'value="Delayed"' in page.text  # the filter's values stay the Assist codes
    assert "Оборот по дням: последний 31 день" in page.text
    assert "оплачено" in page.text and "Оборот по дням в RUB" in page.text
    assert "anna · Test Shop (оператор)" in page.text


async def test_an_order_and_its_confirmation_speak_russian(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    bill = cabinet.held.billnumber
    page = await anna.get(f"/cabinet/orders/{bill}")
    assert "<h1>Заказ ours-1</h1>" in page.text
    assert '<dd class="state">Ожидает подтверждения</dd>' in page.text
    assert f"1. оплата 100,00{NBSP}RUB — успешно" in page.text
    assert re.search(
        r"<tr><td>авторизация</td><td class=\"num\">[^<]+</td><td>одобрена</td>", page.text
    )
    assert ">Подтвердить…</a>" in page.text and ">Отменить…</a>" in page.text

    step = await anna.get(f"/cabinet/orders/{bill}/confirm")
    assert 'value="100,00"' in step.text and "<h1>Подтвердить заказ ours-1?</h1>" in step.text
    too_much, _ = await act(anna, bill, "confirm", amount="100,01")
    assert too_much.status_code == 400
    assert f"Подтвердить можно не более 100,00{NBSP}RUB." in too_much.text
    not_a_number, _ = await act(anna, bill, "confirm", amount="сто")
    assert "Укажите сумму числом, например 100,00." in not_a_number.text
    done, _ = await act(anna, bill, "confirm", amount="40,00")  # a decimal comma is taken
    assert done.status_code == 303
    shown = await anna.get(done.headers["location"])
    assert f"Подтверждено 40,00{NBSP}RUB: успешно" in shown.text
    assert '<dd class="state">Подтверждён частично</dd>' in shown.text


async def test_a_filter_error_is_said_in_russian(anna: httpx.AsyncClient) -> None:
    page = await anna.get("/cabinet/orders", params={"from": "2030-01-02", "to": "2030-01-01"})
    assert page.status_code == 400
    assert "Период заканчивается раньше, чем начинается." in page.text


async def test_the_choice_of_english_is_remembered_over_the_browsers_russian(
    anna: httpx.AsyncClient,
) -> None:
    page = await anna.get("/cabinet/orders", params={"ordernumber": "ours-1"})
    switch = re.search(r'<a class="language" href="([^"]+)" lang="en"[^>]*>English</a>', page.text)
    assert switch, "no switch to English on the page"
    href = switch.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(href).query) == {
        "lang": ["en"], "next": ["/cabinet/orders?ordernumber=ours-1"]
    }  # fmt: skip

    chosen = await anna.get(href)
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/cabinet/orders?ordernumber=ours-1"
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("ips-lang=en;")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "max-age", "path", "samesite"} <= attributes
    assert "path=/" in cookie.lower() and "samesite=lax" in cookie.lower()

    again = await anna.get("/cabinet/orders")  # the browser still asks for Russian
    assert language_of(again) == "en" and "<h1>Orders</h1>" in again.text
    assert '<a class="language" href="/cabinet/language?lang=ru&amp;next=%2Fcabinet%2Forders"' in (
        again.text
    )
    back = await anna.get("/cabinet/language", params={"lang": "ru", "next": "/cabinet/orders"})
    assert back.headers["set-cookie"].startswith("ips-lang=ru;")
    assert language_of(await anna.get("/cabinet/orders")) == "ru"


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ({"lang": "en", "next": "https://evil.example/"}, "/cabinet/orders"),
        ({"lang": "en", "next": "//evil.example/cabinet"}, "/cabinet/orders"),
        ({"lang": "de", "next": "/cabinet/password"}, "/cabinet/password"),
        ({}, "/cabinet/orders"),
    ],
)
async def test_the_switch_goes_back_only_into_the_personal_account_and_knows_two_languages(
    cabinet: Cabinet, query: dict[str, str], location: str
) -> None:
    async with cabinet.client() as http:
        answer = await http.get("/cabinet/language", params=query)
        assert answer.status_code == 303 and answer.headers["location"] == location
        assert ("ips-lang=" in answer.headers.get("set-cookie", "")) is (query.get("lang") == "en")


async def test_the_sign_in_page_carries_the_switch_and_keeps_where_to_go_after(
    cabinet: Cabinet,
) -> None:
    async with cabinet.client() as http:
        sent = await http.get("/cabinet/orders/123")
        login = await http.get(sent.headers["location"])
        switch = re.search(r'<a class="language" href="([^"]+)"', login.text)
        assert switch
        chosen = await http.get(switch.group(1).replace("&amp;", "&"))
        assert chosen.headers["location"] == "/cabinet/login?next=%2Fcabinet%2Forders%2F123"
        page = await http.get(chosen.headers["location"])
        assert language_of(page) == "ru" and 'value="/cabinet/orders/123"' in page.text


async def test_a_form_answer_sends_the_switch_back_to_a_page_that_exists(
    cabinet: Cabinet,
) -> None:
    """A refused settings form is answered at its own address, which takes no GET: the
    switch goes back to the settings page."""
    async with cabinet.signed_in("adam") as adam:
        adam.headers["Accept-Language"] = RUSSIAN_BROWSER
        csrf = hidden((await adam.get("/cabinet/settings")).text, "csrf")
        refused = await adam.post(
            "/cabinet/settings/password", data={"csrf": csrf, "password": "x", "repeat": "y"}
        )
        assert refused.status_code == 400
        assert 'href="/cabinet/language?lang=en&amp;next=%2Fcabinet%2Fsettings"' in refused.text
        assert "Пароль и его повтор не совпадают." in refused.text


async def test_pages_of_both_languages_are_served_at_once(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("anna") as http:

        async def page(language: str) -> str:
            answer = await http.get("/cabinet/orders", headers={"Accept-Language": language})
            return answer.text

        pages = await asyncio.gather(*(page(("ru", "en")[n % 2]) for n in range(20)))
    for n, text in enumerate(pages):
        if n % 2:
            assert "<h1>Orders</h1>" in text and "Заказы" not in text
            assert f"100.00{NBSP}RUB" in text
        else:
            assert "<h1>Заказы</h1>" in text and "<h1>Orders</h1>" not in text
            assert f"100,00{NBSP}RUB" in text


async def test_the_payment_pages_keep_their_own_rule(cabinet: Cabinet) -> None:
    """The Personal Account's cookie is not the buyer's: a payment page follows the shop's
    Language, then the browser, then Russian."""
    async with cabinet.client() as http:
        await http.get("/cabinet/language", params={"lang": "en"})
        del http.headers["Accept-Language"]
        page = await http.get(f"/pay/{cabinet.held.billnumber}/result")
        assert language_of(page) == "ru" and "Платёж" in page.text
