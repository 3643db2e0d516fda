"""The Personal Account over HTTP: signing in, sessions, lockout, CSRF on every form, roles,
and no way into another merchant's orders by changing an address."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from ips.crypto.keyring import KeyRing
from ips.domain.orders import PaymentMeans
from ips.services import monitor
from ips.services.choice import ChooseMeans, choose_means
from ips.services.monitor import OrderFilter
from ips.services.orders import CreateOrder, create_order
from ips.storage.unit_of_work import Database
from ips.web.cabinet import order_routes
from tests.cabinet import PASSWORD, Cabinet, csrf_of, hidden, orderstate, paid_order, sign_in
from tests.fakes import FakeThreeDSecure
from tests.racing import ONE_AND_TWO_NODES, browser, nodes

pytestmark = pytest.mark.usefixtures("merchant")


@pytest.fixture
async def anna(cabinet: Cabinet) -> AsyncIterator[httpx.AsyncClient]:
    async with cabinet.signed_in("anna") as http:
        yield http


# --- Signing in ------------------------------------------------------------------------------


async def test_signing_in_sets_a_host_only_secure_http_only_cookie(cabinet: Cabinet) -> None:
    async with cabinet.client() as http:
        answer = await sign_in(http, "anna", PASSWORD)
        assert answer.headers["location"] == "/cabinet/orders"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Host-ips-session=")
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path", "max-age", "samesite"} <= attributes
        assert "samesite=lax" in cookie.lower() and "domain" not in attributes
        page = await http.get(f"/cabinet/orders/{cabinet.held.billnumber}")
        assert page.status_code == 200
        assert "anna · Test Shop (operator)" in page.text


@pytest.mark.parametrize(
    ("login", "password"),
    [("anna", "wrong password!"), ("nobody", PASSWORD), ("x" * 500, PASSWORD), ("a b", PASSWORD)],
)
async def test_a_wrong_login_or_password_is_refused_alike(
    cabinet: Cabinet, login: str, password: str
) -> None:
    async with cabinet.client() as http:
        answer = await sign_in(http, login, password)
        assert answer.status_code == 401
        assert "Wrong login or password." in answer.text
        assert "ips-session" not in answer.headers.get("set-cookie", "")
        assert (await http.get("/cabinet/orders")).status_code == 303


async def test_ten_wrong_passwords_lock_the_account_for_thirty_minutes(cabinet: Cabinet) -> None:
    async with cabinet.client() as http:
        for _ in range(9):
            assert (await sign_in(http, "anna", "wrong password!")).status_code == 401
        tenth = await sign_in(http, "anna", "wrong password!")
        assert tenth.status_code == 429
        assert "locked for 30 minutes" in tenth.text
        refused = await sign_in(http, "anna", PASSWORD)  # the right one, too late
        assert refused.status_code == 429 and "ips-session" not in refused.headers.get(
            "set-cookie", ""
        )
        assert (await sign_in(http, "vera", PASSWORD)).status_code == 303  # others go on
        cabinet.clock.advance(minutes=29)
        assert (await sign_in(http, "anna", PASSWORD)).status_code == 429
        cabinet.clock.advance(minutes=1)
        assert (await sign_in(http, "anna", PASSWORD)).status_code == 303


async def test_a_sign_in_form_from_another_browser_signs_nobody_in(cabinet: Cabinet) -> None:
    """Login CSRF: a page elsewhere cannot sign this browser in to the attacker's account."""
    async with cabinet.client() as attacker, cabinet.client() as victim:
        token = hidden((await attacker.get("/cabinet/login")).text, "token")
        await victim.get("/cabinet/login")
        answer = await victim.post(
            "/cabinet/login", data={"login": "anna", "password": PASSWORD, "token": token}
        )
        assert answer.status_code == 400 and "The page has expired" in answer.text
        assert "ips-session" not in answer.headers.get("set-cookie", "")


async def test_ten_failures_lock_an_unknown_login_too(cabinet: Cabinet) -> None:
    """Otherwise the lock would tell which logins exist."""
    async with cabinet.client() as http:
        answers = [(await sign_in(http, "ghost", PASSWORD)).status_code for _ in range(11)]
    assert answers == [401] * 9 + [429, 429]


@ONE_AND_TWO_NODES
async def test_sign_ins_sent_at_once_get_no_more_than_ten_guesses(
    cabinet: Cabinet, database_url: str, keyring: KeyRing, node_count: int
) -> None:
    """30 wrong passwords at once: only ten are checked before the login locks (the
    guesses taking turns among the nodes)."""
    first = cabinet.gateway
    settings = {"clock": cabinet.clock, "sleep": first.sleep}
    async with (
        nodes(database_url, keyring, node_count - 1, first.processing, **settings) as others,
        browser([first, *others], "https://ips.test") as http,
    ):
        token = hidden((await http.get("/cabinet/login")).text, "token")

        async def guess(n: int) -> int:
            data = {"login": "anna", "password": f"wrong guess {n}", "token": token}
            return (await http.post("/cabinet/login", data=data)).status_code

        answers = await asyncio.gather(*(guess(n) for n in range(30)))
        assert sorted(answers) == [401] * 9 + [429] * 21
        assert (await sign_in(http, "anna", PASSWORD)).status_code == 429


async def test_a_wrong_current_password_counts_towards_the_lock(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    csrf = await csrf_of(anna)
    new = "a brand new password"
    for _ in range(10):
        answer = await anna.post(
            "/cabinet/password",
            data={"csrf": csrf, "current": "guess!guess!", "new": new, "repeat": new},
        )
    assert answer.status_code == 400 and "locked" in answer.text
    async with cabinet.client() as fresh:
        assert (await sign_in(fresh, "anna", PASSWORD)).status_code == 429


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"login": "anna", "password": "a\x01b"}, 400),
        ({"login": "anna", "password": PASSWORD, "token": "1.\u00e9"}, 400),
    ],
)
async def test_a_strange_sign_in_gets_a_page_not_a_server_error(
    cabinet: Cabinet, data: dict[str, str], status: int
) -> None:
    async with cabinet.client() as http:
        token = hidden((await http.get("/cabinet/login")).text, "token")
        answer = await http.post("/cabinet/login", data={"token": token} | data)
        assert answer.status_code == status and "<html" in answer.text
        assert "ips-session" not in answer.headers.get("set-cookie", "")


async def test_the_sign_in_form_needs_its_token(cabinet: Cabinet) -> None:
    async with cabinet.client() as http:
        answer = await http.post(
            "/cabinet/login", data={"login": "anna", "password": PASSWORD, "token": "forged"}
        )
        assert answer.status_code == 400 and "ips-session" not in answer.headers.get(
            "set-cookie", ""
        )


@pytest.mark.parametrize(
    ("asked", "lands"),
    [
        ("/cabinet/orders?state=Delayed", "/cabinet/orders?state=Delayed"),
        ("//evil.example/cabinet", "/cabinet/orders"),
        ("https://evil.example/", "/cabinet/orders"),
        ("/pay/order.cfm", "/cabinet/orders"),
    ],
)
async def test_after_signing_in_the_user_goes_back_only_within_the_account(
    cabinet: Cabinet, asked: str, lands: str
) -> None:
    async with cabinet.client() as http:
        form = await http.get("/cabinet/login", params={"next": asked})
        answer = await http.post(
            "/cabinet/login",
            data={"login": "anna", "password": PASSWORD, "token": hidden(form.text, "token"),
                  "next": hidden(form.text, "next")},
        )  # fmt: skip
        assert answer.headers["location"] == lands


async def test_a_page_without_a_session_sends_to_sign_in_and_back(cabinet: Cabinet) -> None:
    async with cabinet.client() as http:
        answer = await http.get(f"/cabinet/orders/{cabinet.held.billnumber}")
        assert answer.status_code == 303
        assert answer.headers["location"] == (
            f"/cabinet/login?next=%2Fcabinet%2Forders%2F{cabinet.held.billnumber}"
        )


async def test_a_session_ends_after_thirty_idle_minutes_and_at_twelve_hours(
    cabinet: Cabinet,
) -> None:
    async with cabinet.signed_in("anna") as http:
        for _ in range(4):  # used every 29 minutes: alive
            cabinet.clock.advance(minutes=29)
            assert (await http.get("/cabinet/password")).status_code == 200
        cabinet.clock.advance(minutes=31)
        assert (await http.get("/cabinet/password")).status_code == 303
    async with cabinet.signed_in("anna") as http:
        for _ in range(24):
            cabinet.clock.advance(minutes=29)
            await http.get("/cabinet/password")
        cabinet.clock.advance(minutes=29)  # 12 h 5 min after signing in
        assert (await http.get("/cabinet/password")).status_code == 303


async def test_signing_out_ends_the_session_for_good(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("anna") as http:
        cookie = http.cookies["__Host-ips-session"]
        out = await http.post("/cabinet/logout", data={"csrf": await csrf_of(http)})
        assert out.status_code == 303 and out.headers["location"] == "/cabinet/login"
    async with cabinet.client() as replay:
        replay.cookies.set("__Host-ips-session", cookie, domain="ips.test")
        assert (await replay.get("/cabinet/password")).status_code == 303


async def test_a_changed_password_ends_the_other_sessions(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("anna") as other, cabinet.signed_in("anna") as http:
        new = "a brand new password"
        changed = await http.post(
            "/cabinet/password",
            data={"csrf": await csrf_of(http), "current": PASSWORD, "new": new, "repeat": new},
        )
        assert changed.status_code == 200 and "Your password is changed" in changed.text
        assert (await http.get("/cabinet/password")).status_code == 200  # this one goes on
        assert (await other.get("/cabinet/password")).status_code == 303
    async with cabinet.client() as fresh:
        assert (await sign_in(fresh, "anna", PASSWORD)).status_code == 401
        assert (await sign_in(fresh, "anna", new)).status_code == 303


@pytest.mark.parametrize(
    ("current", "new", "repeat", "said"),
    [
        ("wrong password!", "a brand new password", "a brand new password", "current password"),
        (PASSWORD, "short", "short", "10 to 200 characters"),
        (PASSWORD, "a brand new password", "another new password", "differ"),
    ],
)
async def test_a_bad_password_change_changes_nothing(
    cabinet: Cabinet, anna: httpx.AsyncClient, current: str, new: str, repeat: str, said: str
) -> None:
    answer = await anna.post(
        "/cabinet/password",
        data={"csrf": await csrf_of(anna), "current": current, "new": new, "repeat": repeat},
    )
    assert answer.status_code == 400 and said in answer.text
    async with cabinet.client() as fresh:
        assert (await sign_in(fresh, "anna", PASSWORD)).status_code == 303


# --- Confirming and cancelling ---------------------------------------------------------------


async def act(
    http: httpx.AsyncClient, bill: str, action: str, **data: str
) -> tuple[httpx.Response, dict[str, str]]:
    """Opens the confirmation step of ``action`` and sends its form with ``data``; the
    answer and the form as it was sent (to send it again)."""
    step = await http.get(f"/cabinet/orders/{bill}/{action}")
    assert step.status_code == 200, step.text
    form = {name: hidden(step.text, name) for name in ("csrf", "seen", "once")} | data
    return await http.post(f"/cabinet/orders/{bill}/{action}", data=form), form


async def test_an_operator_confirms_a_held_order_and_the_web_service_says_approved(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    bill = cabinet.held.billnumber
    page = await anna.get(f"/cabinet/orders/{bill}")
    assert f'href="/cabinet/orders/{bill}/confirm"' in page.text
    step = await anna.get(f"/cabinet/orders/{bill}/confirm")
    assert step.status_code == 200 and 'value="100.00"' in step.text
    done, _ = await act(anna, bill, "confirm", amount="100.00")
    assert done.status_code == 303 and done.headers["location"].endswith("?done=2")
    shown = await anna.get(done.headers["location"])
    assert "Confirmed 100.00" in shown.text and "Approved" in shown.text
    assert await orderstate(cabinet.gateway, cabinet.held) == "Approved"


async def test_the_order_page_lists_a_3ds_check_without_a_stan_and_the_authorization_with_one(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    """A card a directory does not enroll: its check, an exchange with no terminal, has no
    STAN to show; the authorization has the one of its terminal."""
    gateway = dataclasses.replace(cabinet.gateway, secure=FakeThreeDSecure())
    order = await paid_order(gateway, "111111", "checked-1", delay=False)
    page = await anna.get(f"/cabinet/orders/{order.billnumber}")
    assert page.status_code == 200, page.text
    rows = re.findall(
        r'<tr><td>(\w+)</td><td class="num">[^<]*</td><td>\w+</td>\s*<td>(\d*)</td>', page.text
    )
    stans = dict(rows)
    assert stans["authentication"] == "" and re.fullmatch(r"\d{6}", stans["authorization"])


async def test_the_order_page_shows_the_payment_the_buyer_chose_to_make(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    order = await create_order(CreateOrder("111111", "chosen-1", "100.00", "RUB"), cabinet.gateway)
    await choose_means(ChooseMeans(order.billnumber, PaymentMeans.CARD), cabinet.gateway)
    page = await anna.get(f"/cabinet/orders/{order.billnumber}")
    assert re.search(r"1\. payment 100\.00\sRUB — in process", page.text)
    assert "· bank card" in page.text


async def test_a_partial_confirmation_and_a_cancellation_of_the_rest(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    bill = cabinet.held.billnumber
    await act(anna, bill, "confirm", amount="40.00")
    assert await orderstate(cabinet.gateway, cabinet.held) == "PartialDelayed"
    step = await anna.get(f"/cabinet/orders/{bill}/cancel")
    assert 'value="100.00"' in step.text  # 60.00 held and 40.00 charged: all of it
    done, _ = await act(anna, bill, "cancel", amount="100.00", reason="2")
    assert done.status_code == 303
    assert await orderstate(cabinet.gateway, cabinet.held) == "Canceled"
    page = await anna.get(f"/cabinet/orders/{bill}")
    assert "/confirm" not in page.text and "/cancel" not in page.text


async def test_a_form_sent_twice_moves_the_money_once(
    cabinet: Cabinet, anna: httpx.AsyncClient, database: Database
) -> None:
    bill = cabinet.held.billnumber
    first, form = await act(anna, bill, "confirm", amount="40.00")
    assert first.status_code == 303
    again = await anna.post(f"/cabinet/orders/{bill}/confirm", data=form)
    assert again.status_code == 400 and "changed since the form was shown" in again.text
    first, form = await act(anna, bill, "cancel", amount="10.00")
    again = await anna.post(f"/cabinet/orders/{bill}/cancel", data=form)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]  # the same operation
    async with database(readonly=True) as uow:
        order = await uow.orders.get(bill)
    assert order is not None and order.books is not None
    assert (order.books.confirmed, order.books.cancelled) == (4000, 1000)


async def test_a_confirmation_without_the_form_s_hold_is_refused(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    answer = await anna.post(
        f"/cabinet/orders/{cabinet.held.billnumber}/confirm",
        data={"csrf": await csrf_of(anna), "amount": "100.00"},
    )
    assert answer.status_code == 400 and "The form has expired" in answer.text
    assert await orderstate(cabinet.gateway, cabinet.held) == "Delayed"


async def test_the_done_message_comes_from_the_order_not_the_address(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    bill = cabinet.held.billnumber
    page = await anna.get(f"/cabinet/orders/{bill}", params={"done": "Call +7 999 000"})
    assert "Call +7" not in page.text and 'role="status"' not in page.text


@pytest.mark.parametrize(
    ("action", "amount", "said"),
    [
        ("confirm", "100.01", "At most 100.00"),
        ("confirm", "abc", "decimal number"),
        ("cancel", "0", "greater than zero"),
        ("cancel", "1.001", "decimals"),
    ],
)
async def test_a_bad_amount_is_said_on_the_form_and_changes_nothing(
    cabinet: Cabinet, anna: httpx.AsyncClient, action: str, amount: str, said: str
) -> None:
    answer, _ = await act(anna, cabinet.held.billnumber, action, amount=amount)
    assert answer.status_code == 400
    assert said in answer.text and 'aria-invalid="true"' in answer.text
    assert await orderstate(cabinet.gateway, cabinet.held) == "Delayed"


async def test_a_viewer_sees_the_order_but_may_not_confirm_or_cancel(cabinet: Cabinet) -> None:
    bill = cabinet.held.billnumber
    async with cabinet.signed_in("vera") as vera:
        page = await vera.get(f"/cabinet/orders/{bill}")
        assert page.status_code == 200 and "/confirm" not in page.text
        csrf = await csrf_of(vera)
        for action in ("confirm", "cancel"):
            assert (await vera.get(f"/cabinet/orders/{bill}/{action}")).status_code == 403
            posted = await vera.post(
                f"/cabinet/orders/{bill}/{action}", data={"csrf": csrf, "amount": "1.00"}
            )
            assert posted.status_code == 403
        assert (await vera.get("/cabinet/users")).status_code == 403
    assert await orderstate(cabinet.gateway, cabinet.held) == "Delayed"


# --- Every form needs the session's CSRF token -----------------------------------------------


def _state_changing(cabinet: Cabinet, user_id: int) -> list[tuple[str, dict[str, str]]]:
    bill = cabinet.held.billnumber
    new = "a brand new password"
    return [
        (f"/cabinet/orders/{bill}/confirm", {"amount": "100.00"}),
        (f"/cabinet/orders/{bill}/cancel", {"amount": "100.00"}),
        ("/cabinet/password", {"current": PASSWORD, "new": new, "repeat": new}),
        ("/cabinet/users", {"login": "mallory", "password": new, "role": "admin"}),
        (f"/cabinet/users/{user_id}", {"role": "admin"}),
        (
            "/cabinet/settings/notifications",
            {"callback_url": "", "answer": "plain", "means": "card"},
        ),
        ("/cabinet/settings/password", {"password": "hijacked!", "repeat": "hijacked!"}),
        ("/cabinet/settings/secret", {"secret_word": "hijacked", "grace": "0"}),
        ("/cabinet/logout", {}),
    ]


async def _user_id(http: httpx.AsyncClient, login: str) -> int:
    page = (await http.get("/cabinet/users")).text
    found = re.search(
        rf'<label for="role-(\d+)" class="visually-hidden">New role of {login}<', page
    )
    assert found, page
    return int(found.group(1))


@pytest.mark.parametrize("csrf", [None, "", "forged"])
async def test_no_form_changes_anything_without_the_session_s_csrf_token(
    cabinet: Cabinet, csrf: str | None
) -> None:
    async with cabinet.signed_in("adam") as adam:
        vera = await _user_id(adam, "vera")
        for path, data in _state_changing(cabinet, vera):
            sent = data | ({} if csrf is None else {"csrf": csrf})
            answer = await adam.post(path, data=sent)
            assert answer.status_code == 403, path
            assert "The form has expired" in answer.text
        users = (await adam.get("/cabinet/users")).text
        assert "mallory" not in users
        assert re.search(r"<td>vera</td>\s*<td>viewer</td>", users)
    async with cabinet.gateway.uow_factory(readonly=True) as uow:
        merchant = await uow.merchants.get("111111")
    assert merchant is not None and merchant.secret_word.reveal() == "secret"
    assert merchant.previous_secret_word is None and len(merchant.means) == 2
    assert await orderstate(cabinet.gateway, cabinet.held) == "Delayed"
    async with cabinet.client() as fresh:
        assert (await sign_in(fresh, "adam", PASSWORD)).status_code == 303


async def test_another_session_s_csrf_token_does_not_do(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("anna") as first, cabinet.signed_in("anna") as second:
        answer = await second.post(
            f"/cabinet/orders/{cabinet.held.billnumber}/confirm",
            data={"csrf": await csrf_of(first), "amount": "100.00"},
        )
        assert answer.status_code == 403
    assert await orderstate(cabinet.gateway, cabinet.held) == "Delayed"


async def test_without_a_session_no_form_changes_anything(cabinet: Cabinet) -> None:
    async with cabinet.client() as http:
        for path, data in _state_changing(cabinet, 1):
            answer = await http.post(path, data=data | {"csrf": "x"})
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/cabinet/login")
    assert await orderstate(cabinet.gateway, cabinet.held) == "Delayed"


# --- Isolation: another merchant's orders and users are not found ----------------------------


async def test_every_route_answers_404_for_another_merchant_s_order(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    bill = cabinet.theirs.billnumber
    csrf = await csrf_of(anna)
    for path in (f"/cabinet/orders/{bill}", f"/cabinet/orders/{bill}/confirm",
                 f"/cabinet/orders/{bill}/cancel"):  # fmt: skip
        answer = await anna.get(path)
        assert answer.status_code == 404, path
        assert "theirs-1" not in answer.text
    for action in ("confirm", "cancel"):
        answer = await anna.post(
            f"/cabinet/orders/{bill}/{action}", data={"csrf": csrf, "amount": "100.00"}
        )
        assert answer.status_code == 404
    listed = await anna.get("/cabinet/orders", params={"billnumber": bill})
    assert listed.status_code == 200 and "theirs-1" not in listed.text
    assert listed.text.count("No orders match.") == 2  # no row, and no totals either
    exported = await anna.get("/cabinet/orders.csv", params={"ordernumber": "theirs-1"})
    assert exported.status_code == 200 and "theirs-1" not in exported.text
    async with cabinet.signed_in("olga") as olga:
        assert await orderstate_of_other(olga, cabinet) == "Delayed"


async def orderstate_of_other(olga: httpx.AsyncClient, cabinet: Cabinet) -> str:
    """The other merchant's own user still sees its order, untouched."""
    page = await olga.get(f"/cabinet/orders/{cabinet.theirs.billnumber}")
    assert page.status_code == 200
    found = re.search(r'<dd class="state">([^<]+)</dd>', page.text)
    assert found
    return found.group(1)


async def test_an_administrator_cannot_touch_another_merchant_s_users(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("olga") as olga, cabinet.signed_in("adam") as adam:
        vera = await _user_id(adam, "vera")
        assert "vera" not in (await olga.get("/cabinet/users")).text
        for role in ("admin", "none"):
            answer = await olga.post(
                f"/cabinet/users/{vera}", data={"csrf": await csrf_of(olga), "role": role}
            )
            assert answer.status_code == 404
        assert re.search(
            r"<td>vera</td>\s*<td>viewer</td>", (await adam.get("/cabinet/users")).text
        )


# --- Users ---------------------------------------------------------------------------------


async def test_an_administrator_adds_a_user_changes_its_role_and_removes_it(
    cabinet: Cabinet,
) -> None:
    async with cabinet.signed_in("adam") as adam:
        csrf = await csrf_of(adam)
        added = await adam.post(
            "/cabinet/users",
            data={"csrf": csrf, "login": "nina", "password": "nina's long password",
                  "role": "viewer"},
        )  # fmt: skip
        assert added.status_code == 303
        nina = await _user_id(adam, "nina")
        async with cabinet.signed_in("nina", "nina's long password") as session:
            assert (
                await session.get(f"/cabinet/orders/{cabinet.held.billnumber}/confirm")
            ).status_code == 403
            await adam.post(f"/cabinet/users/{nina}", data={"csrf": csrf, "role": "operator"})
            # a new role ends the user's sessions: it signs in again to get it
            assert (await session.get("/cabinet/password")).status_code == 303
        async with cabinet.signed_in("nina", "nina's long password") as session:
            assert (
                await session.get(f"/cabinet/orders/{cabinet.held.billnumber}/confirm")
            ).status_code == 200
            await adam.post(f"/cabinet/users/{nina}", data={"csrf": csrf, "role": "none"})
            assert (await session.get("/cabinet/password")).status_code == 303
        taken = await adam.post(
            "/cabinet/users",
            data={"csrf": csrf, "login": "olga", "password": "a long password!", "role": "viewer"},
        )
        assert taken.status_code == 400 and "This login is taken." in taken.text
        mine = await adam.post(
            f"/cabinet/users/{await _user_id_of_self(cabinet)}",
            data={"csrf": csrf, "role": "viewer"},
        )
        assert mine.status_code == 400 and "your own role" in mine.text


async def _user_id_of_self(cabinet: Cabinet) -> int:
    async with cabinet.gateway.uow_factory(readonly=True) as uow:
        adam = await uow.users.by_login("adam")
    assert adam is not None and adam.id is not None
    return adam.id


async def test_without_a_period_the_chart_shows_the_last_31_days(
    cabinet: Cabinet, anna: httpx.AsyncClient
) -> None:
    today = cabinet.clock().date()
    recent = (await anna.get("/cabinet/orders")).text
    assert "Daily turnover: the last 31 days" in recent
    assert "No payments in this period" not in recent
    cabinet.clock.advance(days=31)  # the held order is now 31 days old: out of the chart
    async with cabinet.signed_in("anna") as again:
        later = (await again.get("/cabinet/orders")).text
        assert "No payments in this period" in later
        since = (await again.get("/cabinet/orders", params={"from": str(today)})).text
        assert "Daily turnover</h2>" in since and "No payments in this period" not in since


async def test_the_export_is_the_filtered_list_as_csv_whatever_its_pieces(
    cabinet: Cabinet, anna: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await paid_order(cabinet.gateway, "111111", "=HYPERLINK(1)", delay=False)
    await paid_order(cabinet.gateway, "111111", "plain, with a comma", delay=False)
    whole = await anna.get("/cabinet/orders.csv")
    monkeypatch.setattr(order_routes, "CHUNK", 10)  # a piece after every row
    exported = monitor.export_rows(OrderFilter("111111"), cabinet.gateway.uow_factory)
    pieces = [piece async for piece in order_routes.csv_pieces(exported)]
    assert len(pieces) >= 4 and b"".join(pieces) == whole.content

    assert whole.headers["content-type"] == "text/csv; charset=utf-8"
    assert whole.headers["content-disposition"] == 'attachment; filename="orders.csv"'
    assert whole.content.startswith("\ufeff".encode())
    [header, *rows] = list(csv.reader(io.StringIO(whole.content.decode("utf-8-sig"))))
    assert header[:4] == ["billnumber", "ordernumber", "created (UTC)", "state"]
    numbers = [row[1] for row in rows]
    assert sorted(numbers) == sorted(["ours-1", "'=HYPERLINK(1)", "plain, with a comma"])
    assert all(row[6:] == ["card", "411111****1111", ""] for row in rows)

    approved = await anna.get("/cabinet/orders.csv", params={"state": "Approved"})
    [_, *approved_rows] = list(csv.reader(io.StringIO(approved.content.decode("utf-8-sig"))))
    assert {row[3] for row in approved_rows} == {"Approved"} and len(approved_rows) == 2
    bad = await anna.get("/cabinet/orders.csv", params={"last4": "12"})
    assert bad.status_code == 400 and "last four digits" in bad.text


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/cabinet/orders", {"to": "9999-12-31"}, 400),
        ("/cabinet/orders.csv", {"to": "9999-12-31"}, 400),
        ("/cabinet/orders", {"ordernumber": "A\x00B"}, 400),
        ("/cabinet/orders.csv", {"ordernumber": "A\x00B"}, 400),
        ("/cabinet/orders", {"billnumber": "\u0661\u0662"}, 400),
        ("/cabinet/orders", {"ordernumber": "x" * 5000}, 400),
        ("/cabinet/orders", {"after": "garbage"}, 400),
        ("/cabinet/orders/%00", {}, 404),
        ("/cabinet/orders/%00/confirm", {}, 404),
        ("/cabinet/orders/12x/cancel", {}, 404),
    ],
)
async def test_bad_addresses_and_queries_get_a_page_not_a_server_error(
    cabinet: Cabinet, anna: httpx.AsyncClient, path: str, params: dict[str, str], status: int
) -> None:
    answer = await anna.get(path, params=params)
    assert answer.status_code == status and "<html" in answer.text


async def test_a_user_id_beyond_any_row_is_a_bad_request(cabinet: Cabinet) -> None:
    async with cabinet.signed_in("adam") as adam:
        answer = await adam.post(
            "/cabinet/users/99999999999999999999999",
            data={"csrf": await csrf_of(adam), "role": "viewer"},
        )
        assert answer.status_code == 400
