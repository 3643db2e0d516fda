"""The JSON API's keys in the Personal Account: an administrator makes one and is shown its
text once, lists the merchant's keys without their secrets and revokes them; nobody else
does, and another merchant's keys are not found."""

from __future__ import annotations

import re

import httpx
import pytest

from ips.domain.api_keys import Scope
from ips.domain.errors import AuthenticationFailed
from ips.services.api_keys import api_keys_of, create_api_key, key_holder
from ips.storage.unit_of_work import Database
from tests.cabinet import Cabinet, csrf_of

pytestmark = pytest.mark.usefixtures("merchant")

PAGE = "/cabinet/api-keys"


def shown_key(html: str) -> str:
    found = re.search(r'<input id="new-key" class="key" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def _make(http: httpx.AsyncClient, name: str, scope: str) -> httpx.Response:
    return await http.post(PAGE, data={"csrf": await csrf_of(http), "name": name, "scope": scope})


async def test_an_administrator_makes_a_key_sees_it_once_and_revokes_it(
    cabinet: Cabinet, database: Database
) -> None:
    async with cabinet.signed_in("adam") as adam:
        assert "No keys yet." in (await adam.get(PAGE)).text
        made = await _make(adam, "main server", "read")
        assert made.status_code == 200
        assert made.headers["cache-control"] == "no-store"
        assert "it will not be shown again" in made.text
        token = shown_key(made.text)
        holder = await key_holder(f"Bearer {token}", database)
        assert (holder.merchant_id, holder.scope) == ("111111", Scope.READ)

        listed = (await adam.get(PAGE)).text
        assert token not in listed and token.rsplit("_", 1)[1] not in listed
        assert 'id="new-key"' not in listed
        assert re.search(
            rf"<td><code>{holder.key_id}</code></td>\s*<td>main server</td>\s*<td>read</td>"
            r"\s*<td>[^<]+ [0-9:]+</td>\s*<td>active</td>",
            listed,
        )

        revoked = await adam.post(
            f"{PAGE}/{holder.key_id}/revoke", data={"csrf": await csrf_of(adam)}
        )
        assert revoked.status_code == 303
        after = await adam.get(revoked.headers["location"])
        assert "The key is revoked." in after.text
        assert re.search(rf"<td><code>{holder.key_id}</code></td>.*?<td>revoked ", after.text, re.S)
        assert f"{PAGE}/{holder.key_id}/revoke" not in after.text
        again = await adam.post(
            f"{PAGE}/{holder.key_id}/revoke", data={"csrf": await csrf_of(adam)}
        )
        assert again.status_code == 303  # a form sent twice: still revoked, no error
    with pytest.raises(AuthenticationFailed):
        await key_holder(f"Bearer {token}", database)


async def test_a_write_key_and_a_bad_form(cabinet: Cabinet, database: Database) -> None:
    async with cabinet.signed_in("adam") as adam:
        token = shown_key((await _make(adam, "", "write")).text)
        assert (await key_holder(f"Bearer {token}", database)).scope is Scope.WRITE
        for name, scope, said in [
            ("x", "admin", "Choose a scope."),
            ("x", "", "Choose a scope."),
            ("x" * 101, "read", "at most 100 printable characters"),
        ]:
            refused = await _make(adam, name, scope)
            assert refused.status_code == 400 and said in refused.text
            assert 'id="new-key"' not in refused.text
    assert len(await api_keys_of("111111", database)) == 1


@pytest.mark.parametrize("login", ["anna", "vera"])
async def test_only_an_administrator_sees_makes_or_revokes_keys(
    cabinet: Cabinet, database: Database, login: str
) -> None:
    key, token = await create_api_key("111111", "", Scope.WRITE, database, cabinet.clock)
    async with cabinet.signed_in(login) as http:
        assert PAGE not in (await http.get("/cabinet/orders")).text
        assert (await http.get(PAGE)).status_code == 403
        csrf = await csrf_of(http)
        assert (await http.post(PAGE, data={"csrf": csrf, "scope": "write"})).status_code == 403
        revoke = await http.post(f"{PAGE}/{key.key_id}/revoke", data={"csrf": csrf})
        assert revoke.status_code == 403
    assert [k.key_id for k in await api_keys_of("111111", database)] == [key.key_id]
    await key_holder(f"Bearer {token}", database)
    async with cabinet.signed_in("adam") as adam:
        assert f'href="{PAGE}"' in (await adam.get("/cabinet/orders")).text


async def test_another_merchant_s_key_is_not_found(cabinet: Cabinet, database: Database) -> None:
    theirs, token = await create_api_key("222222", "theirs", Scope.WRITE, database, cabinet.clock)
    async with cabinet.signed_in("adam") as adam:
        assert theirs.key_id not in (await adam.get(PAGE)).text
        for key_id in (theirs.key_id, "a" * 16, "nonsense"):
            answer = await adam.post(f"{PAGE}/{key_id}/revoke", data={"csrf": await csrf_of(adam)})
            assert answer.status_code == 404 and "Not found." in answer.text
    assert await api_keys_of("222222", database) == [theirs]
    await key_holder(f"Bearer {token}", database)


@pytest.mark.parametrize("csrf", [None, "", "forged"])
async def test_no_key_is_made_or_revoked_without_the_session_s_csrf_token(
    cabinet: Cabinet, database: Database, csrf: str | None
) -> None:
    key, token = await create_api_key("111111", "", Scope.WRITE, database, cabinet.clock)
    sent = {} if csrf is None else {"csrf": csrf}
    async with cabinet.signed_in("adam") as adam:
        made = await adam.post(PAGE, data=sent | {"name": "x", "scope": "write"})
        revoked = await adam.post(f"{PAGE}/{key.key_id}/revoke", data=sent)
        for answer in (made, revoked):
            assert answer.status_code == 403 and "The form has expired" in answer.text
    assert await api_keys_of("111111", database) == [key]
    await key_holder(f"Bearer {token}", database)


@pytest.mark.parametrize("ended_by", ["signing out", "idle half an hour"])
async def test_an_ended_session_s_form_makes_no_key(
    cabinet: Cabinet, database: Database, ended_by: str
) -> None:
    """The form of a session that has ended, its CSRF token with it, is sent to sign in."""
    async with cabinet.signed_in("adam") as adam:
        csrf = await csrf_of(adam)
        if ended_by == "signing out":
            assert (await adam.post("/cabinet/logout", data={"csrf": csrf})).status_code == 303
        else:
            cabinet.clock.advance(minutes=31)
        answer = await adam.post(PAGE, data={"csrf": csrf, "name": "x", "scope": "write"})
        assert answer.status_code == 303 and "/cabinet/login" in answer.headers["location"]
    assert await api_keys_of("111111", database) == []
