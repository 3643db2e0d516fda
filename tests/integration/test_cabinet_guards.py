"""The Personal Account's sign-in counted per login and source, so nobody locks a user out
from elsewhere; and the web-service addresses an administrator allows."""

from __future__ import annotations

import httpx
import pytest

from ips.crypto.tokens import FormTokens
from ips.services.gateway import Gateway
from ips.storage.unit_of_work import Database
from ips.web.app import create_app
from ips.web.services import Services
from tests.cabinet import PASSWORD, Cabinet, csrf_of, sign_in
from tests.integration.test_web_service_guards import client_at, orderstate

pytestmark = pytest.mark.usefixtures("merchant")

HOME, STRANGER = "203.0.113.7", "203.0.113.66"


def browser_at(gateway: Gateway, address: str) -> httpx.AsyncClient:
    """A browser on the Personal Account, its connection from ``address``."""
    services = Services(gateway, FormTokens(gateway.keyring.derive("form tokens")))
    transport = httpx.ASGITransport(app=create_app(services), client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="https://ips.test")


async def test_a_strangers_wrong_sign_ins_leave_the_user_able_to_sign_in(cabinet: Cabinet) -> None:
    async with browser_at(cabinet.gateway, STRANGER) as stranger:
        tries = [(await sign_in(stranger, "anna", f"guess {n}!")).status_code for n in range(11)]
        assert tries == [401] * 9 + [429, 429]
        assert (await sign_in(stranger, "anna", PASSWORD)).status_code == 429
    async with browser_at(cabinet.gateway, HOME) as anna:
        assert (await sign_in(anna, "anna", PASSWORD)).status_code == 303


async def test_a_wrong_current_password_locks_its_own_address_only(cabinet: Cabinet) -> None:
    async with browser_at(cabinet.gateway, STRANGER) as hijacked:
        assert (await sign_in(hijacked, "anna", PASSWORD)).status_code == 303
        csrf = await csrf_of(hijacked)
        for _ in range(10):
            answer = await hijacked.post(
                "/cabinet/password",
                data={"csrf": csrf, "current": "guess!guess!", "new": "x" * 12, "repeat": "x" * 12},
            )
        assert answer.status_code == 400 and "locked" in answer.text
        assert (await sign_in(hijacked, "anna", PASSWORD)).status_code == 429
    async with browser_at(cabinet.gateway, HOME) as anna:
        assert (await sign_in(anna, "anna", PASSWORD)).status_code == 303


async def test_an_administrator_allows_the_addresses_of_the_shops_servers(
    cabinet: Cabinet, database: Database
) -> None:
    async with cabinet.signed_in("adam") as adam:
        saved = await adam.post(
            "/cabinet/settings/addresses",
            data={"csrf": await csrf_of(adam), "addresses": "198.51.100.0/24, 2001:db8::1"},
        )
        assert saved.status_code == 303
        page = await adam.get(saved.headers["location"])
        assert "The web-service addresses are saved." in page.text
        assert 'value="198.51.100.0/24 2001:db8::1/128"' in page.text
    async with client_at(cabinet.gateway, HOME) as elsewhere:
        assert await orderstate(elsewhere) == ("19", "0")
    async with client_at(cabinet.gateway, "198.51.100.9") as server:
        assert await orderstate(server) == ("10", "201")


async def test_a_wrong_address_is_shown_and_changes_nothing(
    cabinet: Cabinet, database: Database
) -> None:
    async with cabinet.signed_in("adam") as adam:
        answer = await adam.post(
            "/cabinet/settings/addresses",
            data={"csrf": await csrf_of(adam), "addresses": "198.51.100.0/24 shop.example"},
        )
        assert answer.status_code == 400
        assert "&#39;shop.example&#39; is not an IP address or a network (CIDR)." in answer.text
        assert 'value="198.51.100.0/24 shop.example"' in answer.text  # as typed
        assert 'aria-invalid="true"' in answer.text
    async with database(readonly=True) as uow:
        merchant = await uow.merchants.get("111111")
    assert merchant is not None and merchant.ws_addresses == ()


async def test_only_an_administrator_changes_the_addresses(
    cabinet: Cabinet, database: Database
) -> None:
    async with cabinet.signed_in("anna") as anna:
        answer = await anna.post(
            "/cabinet/settings/addresses",
            data={"csrf": await csrf_of(anna), "addresses": "192.0.2.1"},
        )
        assert answer.status_code == 403
    async with database(readonly=True) as uow:
        merchant = await uow.merchants.get("111111")
    assert merchant is not None and merchant.ws_addresses == ()
