"""The operator console's sign-in and session: a viewer or an operator by password, an
administrator also by a one-time code used once; guarded as the Personal Account is, and a
session of its own that opens neither the Personal Account nor is opened by it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ips.services import operators
from tests.cabinet import PASSWORD as SHOP_PASSWORD
from tests.cabinet import Cabinet
from tests.cabinet import sign_in as cabinet_sign_in
from tests.console import BY_TESTS, ONE_STEP, PASSWORD, Console, csrf_of, hidden, sign_in

COOKIE = "__Host-ips-admin"


def no_session(answer: httpx.Response) -> bool:
    return COOKIE not in answer.headers.get("set-cookie", "")


async def test_a_viewer_signs_in_without_a_code_and_sees_who_it_is(console: Console) -> None:
    async with console.client() as http:
        answer = await sign_in(http, "vika", PASSWORD)
        assert answer.status_code == 303 and answer.headers["location"] == "/admin"
        cookie = answer.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert cookie.startswith(f"{COOKIE}=") and "samesite=strict" in cookie.lower()
        assert {"secure", "httponly", "path", "max-age"} <= attributes
        assert "domain" not in attributes
        home = await http.get("/admin")
        assert home.status_code == 200 and "vika (viewer)" in home.text
        assert 'href="/admin/merchants"' in home.text and 'action="/admin/logout"' in home.text
        nonce = home.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
        assert nonce and home.headers["cache-control"] == "no-store"


async def test_an_administrator_signs_in_with_its_code(console: Console) -> None:
    async with console.client() as http:
        answer = await sign_in(http, "ada", PASSWORD, console.next_code("ada"))
        assert answer.status_code == 303
        assert "ada (admin)" in (await http.get("/admin")).text


@pytest.mark.parametrize(
    ("code", "said"),
    [("", "Type the one-time code"), ("000000", "The one-time code is wrong")],
)
async def test_an_administrator_without_the_right_code_is_refused(
    console: Console, code: str, said: str
) -> None:
    async with console.client() as http:
        right = console.next_code("ada")
        answer = await sign_in(http, "ada", PASSWORD, code if code != right else "111111")
        assert answer.status_code == 401 and said in answer.text and no_session(answer)
        assert (await http.get("/admin")).status_code == 303


async def test_a_code_signs_in_once(console: Console) -> None:
    code = console.next_code("ada")
    async with console.client() as first, console.client() as second:
        assert (await sign_in(first, "ada", PASSWORD, code)).status_code == 303
        replayed = await sign_in(second, "ada", PASSWORD, code)
        assert replayed.status_code == 401 and "used already" in replayed.text
        earlier = console.code("ada", console.clock() - ONE_STEP)
        assert (await sign_in(second, "ada", PASSWORD, earlier)).status_code == 401
        assert (await sign_in(second, "ada", PASSWORD, console.next_code("ada"))).status_code == 303


async def test_one_code_sent_twice_at_once_signs_in_once(console: Console) -> None:
    code = console.next_code("ada")
    async with console.client() as one, console.client() as two:
        answers = await asyncio.gather(
            sign_in(one, "ada", PASSWORD, code), sign_in(two, "ada", PASSWORD, code)
        )
    assert sorted(answer.status_code for answer in answers) == [303, 401]


async def test_wrong_codes_count_towards_the_lock(console: Console) -> None:
    async with console.client() as http:
        for _ in range(9):
            assert (await sign_in(http, "ada", PASSWORD, "000000")).status_code == 401
        tenth = await sign_in(http, "ada", PASSWORD, "000000")
        assert tenth.status_code == 429 and "locked for 30 minutes" in tenth.text
        locked = await sign_in(http, "ada", PASSWORD, console.next_code("ada"))
        assert locked.status_code == 429 and no_session(locked)


@pytest.mark.parametrize(
    ("login", "password"),
    [("otto", "wrong password!"), ("nobody", PASSWORD), ("x" * 500, PASSWORD), ("a b", PASSWORD)],
)
async def test_a_wrong_login_or_password_is_refused_alike(
    console: Console, login: str, password: str
) -> None:
    async with console.client() as http:
        answer = await sign_in(http, login, password, "123456")
        assert answer.status_code == 401 and "Wrong login or password." in answer.text
        assert no_session(answer)


async def test_ten_wrong_passwords_lock_the_login_for_thirty_minutes(console: Console) -> None:
    async with console.client() as http:
        answers = [(await sign_in(http, "otto", "wrong password!")).status_code for _ in range(11)]
        assert answers == [401] * 9 + [429, 429]
        assert (await sign_in(http, "otto", PASSWORD)).status_code == 429
        assert (await sign_in(http, "vika", PASSWORD)).status_code == 303  # others go on
        console.clock.advance(minutes=30)
        assert (await sign_in(http, "otto", PASSWORD)).status_code == 303


async def test_ten_failures_lock_an_unknown_login_too(console: Console) -> None:
    async with console.client() as http:
        answers = [(await sign_in(http, "ghost", PASSWORD)).status_code for _ in range(11)]
    assert answers == [401] * 9 + [429, 429]


async def test_a_disabled_operator_is_told_so_and_its_sessions_end(console: Console) -> None:
    async with console.signed_in("otto") as before:
        await operators.disable_operator(
            "otto", console.gateway.uow_factory, console.clock, actor=BY_TESTS
        )
        assert (await before.get("/admin")).status_code == 303
    async with console.client() as http:
        wrong = await sign_in(http, "otto", "wrong password!")
        assert wrong.status_code == 401 and "disabled" not in wrong.text  # strangers learn nil
        refused = await sign_in(http, "otto", PASSWORD)
        assert refused.status_code == 403 and "This operator is disabled" in refused.text
        assert no_session(refused)
        await operators.enable_operator(
            "otto", console.gateway.uow_factory, console.clock, actor=BY_TESTS
        )
        assert (await sign_in(http, "otto", PASSWORD)).status_code == 303


async def test_a_disabled_administrator_is_told_so_only_with_the_right_code(
    console: Console,
) -> None:
    await operators.disable_operator(
        "ada", console.gateway.uow_factory, console.clock, actor=BY_TESTS
    )
    async with console.client() as http:
        assert "disabled" not in (await sign_in(http, "ada", PASSWORD, "000000")).text
        refused = await sign_in(http, "ada", PASSWORD, console.next_code("ada"))
        assert refused.status_code == 403 and "disabled" in refused.text


async def test_signing_out_ends_the_session_for_good(console: Console) -> None:
    async with console.signed_in("otto") as http:
        cookie = http.cookies[COOKIE]
        out = await http.post("/admin/logout", data={"csrf": await csrf_of(http)})
        assert out.status_code == 303 and out.headers["location"] == "/admin/login"
    async with console.client() as replay:
        replay.cookies.set(COOKIE, cookie, domain="ips.test")
        assert (await replay.get("/admin")).status_code == 303


async def test_signing_out_needs_the_session_s_csrf_token(console: Console) -> None:
    async with console.signed_in("otto") as http:
        for data in ({}, {"csrf": "forged"}):
            refused = await http.post("/admin/logout", data=data)
            assert refused.status_code == 403 and "The form has expired" in refused.text
            assert "<html" in refused.text
        assert (await http.get("/admin")).status_code == 200


@pytest.mark.parametrize("path", ["/admin", "/admin?from=mail"])
async def test_a_page_without_a_session_sends_to_sign_in_and_back(
    console: Console, path: str
) -> None:
    async with console.client() as http:
        answer = await http.get(path)
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert location.startswith("/admin/login?next=")
        form = await http.get(location)
        back = await http.post(
            "/admin/login",
            data={"login": "otto", "password": PASSWORD, "token": hidden(form.text, "token"),
                  "next": hidden(form.text, "next")},
        )  # fmt: skip
        assert back.headers["location"] == path


@pytest.mark.parametrize(
    "asked", ["//evil.example/admin", "https://evil.example/", "/cabinet/orders", "/adminx"]
)
async def test_after_signing_in_the_operator_goes_back_only_within_the_console(
    console: Console, asked: str
) -> None:
    async with console.client() as http:
        form = await http.get("/admin/login", params={"next": asked})
        answer = await http.post(
            "/admin/login",
            data={"login": "otto", "password": PASSWORD, "token": hidden(form.text, "token"),
                  "next": hidden(form.text, "next")},
        )  # fmt: skip
        assert answer.headers["location"] == "/admin"


async def test_the_sign_in_form_needs_its_token_from_this_browser(console: Console) -> None:
    async with console.client() as attacker, console.client() as victim:
        token = hidden((await attacker.get("/admin/login")).text, "token")
        await victim.get("/admin/login")
        answer = await victim.post(
            "/admin/login", data={"login": "otto", "password": PASSWORD, "token": token}
        )
        assert answer.status_code == 400 and "The page has expired" in answer.text
        assert no_session(answer)


async def test_a_session_ends_after_thirty_idle_minutes(console: Console) -> None:
    async with console.signed_in("vika") as http:
        console.clock.advance(minutes=29)
        assert (await http.get("/admin")).status_code == 200
        console.clock.advance(minutes=31)
        assert (await http.get("/admin")).status_code == 303


@pytest.mark.usefixtures("merchant")
async def test_a_shop_s_session_does_not_open_the_console_nor_the_console_s_the_cabinet(
    console: Console, cabinet: Cabinet
) -> None:
    async with cabinet.client() as shop:
        assert (await cabinet_sign_in(shop, "adam", SHOP_PASSWORD)).status_code == 303
        assert (await shop.get("/admin")).status_code == 303
        assert (await sign_in(shop, "adam", SHOP_PASSWORD)).status_code == 401
    async with console.signed_in("ada") as operator:
        answer = await operator.get("/cabinet/orders")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/cabinet/login")
        stolen = operator.cookies[COOKIE]
    async with cabinet.client() as shop:
        shop.cookies.set("__Host-ips-session", stolen, domain="ips.test")
        assert (await shop.get("/cabinet/orders")).status_code == 303


async def test_a_missing_console_page_is_an_html_404(console: Console) -> None:
    async with console.signed_in("vika") as http:
        answer = await http.get("/admin/no-such-page")
        assert answer.status_code == 404 and "<html" in answer.text
        assert 'href="/admin"' in answer.text
