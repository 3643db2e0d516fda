"""Web-service credentials nobody else can lock, the addresses a shop allows, forwarded
addresses from the operator's proxies only, and a verified credential remembered a while
(as a keyed hash, never the password) by every node.

The shop's own server is 203.0.113.7 (``make_client``'s address); the stranger 203.0.113.66.
"""

from __future__ import annotations

import asyncio
import hashlib
from ipaddress import ip_network
from xml.etree import ElementTree as ET

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from ips.crypto.tokens import FormTokens
from ips.domain import logins
from ips.domain.addresses import Network
from ips.domain.errors import InvalidInput
from ips.domain.orders import Order
from ips.services.gateway import Gateway
from ips.services.merchant_settings import change_ws_addresses, change_ws_password
from ips.services.merchants import AddMerchant, add_merchant
from ips.storage.tables import login_guards, merchants
from ips.storage.unit_of_work import Database
from ips.web.app import create_app
from ips.web.services import Services
from tests.conftest import MERCHANT, SETUP
from tests.fakes import ManualClock
from tests.integration.test_money_operations import paid_order

SHOP, STRANGER = "203.0.113.7", "203.0.113.66"
AUTH = {"Merchant_ID": "111111", "Login": "shop", "Password": "shop-password", "Format": "3"}
PROXIES = (ip_network("10.0.0.0/8"),)

pytestmark = pytest.mark.usefixtures("merchant")


def client_at(
    gateway: Gateway, address: str, proxies: tuple[Network, ...] = ()
) -> httpx.AsyncClient:
    """A client of the app whose connection comes from ``address``."""
    services = Services(
        gateway, FormTokens(gateway.keyring.derive("form tokens")), trusted_proxies=proxies
    )
    transport = httpx.ASGITransport(app=create_app(services), client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://ips.test")


async def call(
    http: httpx.AsyncClient, path: str, forwarded_for: str = "", **fields: str
) -> tuple[str, str]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    answer = await http.post(path, data=AUTH | fields, headers=headers)
    assert answer.status_code == 200
    result = ET.fromstring(answer.content)
    return result.attrib["firstcode"], result.attrib["secondcode"]


async def charge(http: httpx.AsyncClient, order: Order, **fields: str) -> tuple[str, str]:
    return await call(
        http, "/charge/charge.cfm", "", Billnumber=order.billnumber, Amount="1.00", Currency="RUB",
        **fields,
    )  # fmt: skip


async def orderstate(
    http: httpx.AsyncClient, forwarded_for: str = "", **fields: str
) -> tuple[str, str]:
    return await call(
        http, "/orderstate/orderstate.cfm", forwarded_for, OrderNumber="nothing", **fields
    )


async def guard_rows(database: Database) -> dict[str, int]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(select(login_guards.c.subject, login_guards.c.failures))
        return {row.subject: row.failures for row in rows}


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The argon2 verifications made (the hash each was made against)."""
    made: list[str] = []
    verify = PasswordHasher.verify

    def counted(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        made.append(str(hash))
        return verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return made


# --- Failures counted per login and source ----------------------------------------------------


async def test_a_strangers_wrong_passwords_leave_the_shop_able_to_charge(
    gateway: Gateway, clock: ManualClock
) -> None:
    order = await paid_order(gateway, delay=True)
    async with client_at(gateway, STRANGER) as stranger, client_at(gateway, SHOP) as shop:
        tries = [await charge(stranger, order, Password=f"guess {n}") for n in range(11)]
        assert tries == [("7", "102")] * 10 + [("12", "101")]  # locked after ten
        assert await charge(shop, order) == ("0", "0")
        assert await charge(stranger, order) == ("12", "101")  # the right password, too late
        clock.advance(minutes=30)
        assert await charge(stranger, order) == ("0", "0")


async def test_a_locked_source_is_refused_the_right_password_even_when_it_is_remembered(
    gateway: Gateway, verifications: list[str]
) -> None:
    """A remembered credential is no way around the lock: else a locked source could still
    tell the right password from the wrong ones."""
    async with client_at(gateway, SHOP) as shop:
        assert await orderstate(shop) == ("10", "201")  # verified, so remembered
        for n in range(10):
            assert await orderstate(shop, Password=f"typo {n}") == ("7", "102")
        assert await orderstate(shop) == ("12", "101")
    assert len(verifications) == 11


async def test_the_shops_mistakes_lock_its_own_address_only(
    gateway: Gateway, database: Database
) -> None:
    async with client_at(gateway, SHOP) as shop, client_at(gateway, "198.51.100.20") as other:
        for _ in range(10):
            assert await orderstate(shop, Login="wrong") == ("7", "101")
        assert await orderstate(shop) == ("12", "101")
        assert await orderstate(other) == ("10", "201")
    rows = await guard_rows(database)
    assert rows["ws:111111 from 203.0.113.7"] == 10


async def test_ipv6_sources_are_counted_by_their_64_bit_prefix(gateway: Gateway) -> None:
    """An IPv6 host has a whole /64 to pick addresses from."""
    for n in range(10):
        async with client_at(gateway, f"2001:db8:1:2::{n + 1:x}") as stranger:
            assert await orderstate(stranger, Password=f"guess {n}") == ("7", "102")
    async with client_at(gateway, "2001:db8:1:2:ffff::1") as same_network:
        assert await orderstate(same_network) == ("12", "101")
    async with client_at(gateway, "2001:db8:1:3::1") as next_network:
        assert await orderstate(next_network) == ("10", "201")


async def test_many_sources_close_the_login_to_new_ones_but_not_to_known_ones(
    gateway: Gateway, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guesses from many addresses: once the login has failed ``SPREAD_AFTER`` times, only
    sources that succeeded before are still checked, for ``LOCK_FOR``."""
    monkeypatch.setattr(logins, "SPREAD_AFTER", 20)
    async with client_at(gateway, SHOP) as shop:
        assert await orderstate(shop) == ("10", "201")
    for host in (1, 2):
        async with client_at(gateway, f"198.51.100.{host}") as stranger:
            for n in range(10):
                assert await orderstate(stranger, Password=f"guess {n}") == ("7", "102")
    clock.advance(minutes=10)  # the shop's credential is no longer remembered
    async with client_at(gateway, "198.51.100.3") as newcomer, client_at(gateway, SHOP) as shop:
        assert await orderstate(newcomer) == ("12", "101")
        assert await orderstate(shop) == ("10", "201")
        clock.advance(minutes=30)
        assert await orderstate(newcomer) == ("10", "201")


# --- Allowed addresses -------------------------------------------------------------------------


async def test_calls_from_an_address_the_shop_did_not_allow_are_refused_with_19(
    gateway: Gateway, database: Database, verifications: list[str]
) -> None:
    await change_ws_addresses("111111", ["198.51.100.0/24", "2001:db8::/48"], database)
    async with client_at(gateway, SHOP) as shop:
        assert await orderstate(shop) == ("19", "0")
        for n in range(12):  # refused before any password check, and not counted
            assert await orderstate(shop, Password=f"guess {n}") == ("19", "0")
    assert verifications == [] and await guard_rows(database) == {}
    for allowed in ("198.51.100.20", "2001:db8:0:5::1"):
        async with client_at(gateway, allowed) as server:
            assert await orderstate(server) == ("10", "201")


async def test_an_empty_list_allows_any_address(gateway: Gateway, database: Database) -> None:
    await change_ws_addresses("111111", ["198.51.100.0/24"], database)
    await change_ws_addresses("111111", [], database)
    async with client_at(gateway, STRANGER) as anyone:
        assert await orderstate(anyone) == ("10", "201")


@pytest.mark.parametrize("wrong", ["198.51.100.0/33", "example.com", "198.51.100", ""])
async def test_a_wrong_address_changes_nothing(database: Database, wrong: str) -> None:
    await change_ws_addresses("111111", ["198.51.100.0/24"], database)
    with pytest.raises(InvalidInput, match="address"):
        await change_ws_addresses("111111", ["203.0.113.0/24", wrong], database)
    async with database(readonly=True) as uow:
        merchant = await uow.merchants.get("111111")
    assert merchant is not None and merchant.ws_addresses == ("198.51.100.0/24",)


async def test_a_merchant_is_added_with_its_allowed_addresses(
    gateway: Gateway, database: Database, clock: ManualClock
) -> None:
    added = await add_merchant(
        AddMerchant(
            merchant_id="333333", name="Walled", login="w", password="w-password",
            secret_word="w", ws_addresses=("198.51.100.7", "198.51.100.0/25", "2001:DB8::1/64"),
        ),
        database,
        clock, actor=SETUP,
    )  # fmt: skip
    assert added.ws_addresses == ("198.51.100.7/32", "198.51.100.0/25", "2001:db8::/64")
    async with database(readonly=True) as uow:
        stored = await uow.merchants.get("333333")
    assert stored is not None and stored.ws_addresses == added.ws_addresses


# --- Forwarded addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "codes"),
    [
        ("10.0.0.2", "198.51.100.9", ("10", "201")),  # from the operator's proxy
        ("10.0.0.2", "198.51.100.9, 10.0.0.3", ("10", "201")),  # through two proxies
        ("10.0.0.2", "198.51.100.9, 203.0.113.66", ("19", "0")),  # a forged first entry
        ("203.0.113.7", "198.51.100.9", ("19", "0")),  # a forged header, no proxy
        ("10.0.0.2", "", ("19", "0")),  # the proxy itself is not the shop
        ("10.0.0.2", "not an address, 198.51.100.9", ("10", "201")),
    ],
)
async def test_x_forwarded_for_is_believed_from_a_trusted_proxy_only(
    gateway: Gateway, database: Database, peer: str, forwarded: str, codes: tuple[str, str]
) -> None:
    await change_ws_addresses("111111", ["198.51.100.0/24"], database)
    async with client_at(gateway, peer, PROXIES) as http:
        assert await orderstate(http, forwarded) == codes


async def test_behind_the_proxy_failures_count_for_the_forwarded_address(
    gateway: Gateway, database: Database
) -> None:
    async with client_at(gateway, "10.0.0.2", PROXIES) as proxy:
        for n in range(10):
            assert await orderstate(proxy, STRANGER, Password=f"g{n}") == ("7", "102")
        assert await orderstate(proxy, STRANGER) == ("12", "101")
        assert await orderstate(proxy, SHOP) == ("10", "201")
    assert await guard_rows(database) == {
        "ws:111111": 10,  # the login from all sources
        "ws:111111 from 203.0.113.66": 10,
        "ws:111111 from 203.0.113.7": 0,  # known now: it succeeded
    }


# --- The remembered credential -----------------------------------------------------------------


async def test_a_verified_credential_is_remembered_so_later_calls_pay_no_argon2(
    gateway: Gateway, verifications: list[str]
) -> None:
    async with client_at(gateway, SHOP) as shop:
        for _ in range(5):
            assert await orderstate(shop) == ("10", "201")
        assert len(verifications) == 1
        assert await orderstate(shop, Password="wrong password") == ("7", "102")
        assert len(verifications) == 2  # a wrong password still pays the full check


async def test_a_hundred_first_calls_at_once_pay_argon2_once(
    gateway: Gateway, verifications: list[str]
) -> None:
    async with client_at(gateway, SHOP) as shop:
        answers = await asyncio.gather(*(orderstate(shop) for _ in range(100)))
    assert answers == [("10", "201")] * 100
    assert len(verifications) == 1


async def test_the_remembered_credential_ends_after_its_time(
    gateway: Gateway, clock: ManualClock, verifications: list[str]
) -> None:
    async with client_at(gateway, SHOP) as shop:
        await orderstate(shop)
        clock.advance(seconds=gateway.credentials.keep.total_seconds() - 1)
        await orderstate(shop)
        assert len(verifications) == 1
        clock.advance(seconds=1)
        await orderstate(shop)
        assert len(verifications) == 2


async def test_a_remembered_credential_is_refused_at_once_after_a_password_change(
    gateway: Gateway, database: Database, verifications: list[str]
) -> None:
    async with client_at(gateway, SHOP) as shop:
        assert await orderstate(shop) == ("10", "201")
        await change_ws_password("111111", "new-ws-password", database)
        assert await orderstate(shop) == ("7", "102")
        assert await orderstate(shop, Password="new-ws-password") == ("10", "201")


async def test_the_store_holds_a_keyed_hash_never_the_password(
    gateway: Gateway, database: Database
) -> None:
    async with client_at(gateway, SHOP) as shop:
        assert await orderstate(shop) == ("10", "201")
    async with database.engine.connect() as conn:
        row = (await conn.execute(select(merchants))).one()._asdict()
    mac = row["ws_credential_mac"]
    assert mac and len(mac) == 64 and int(mac, 16) >= 0
    password = MERCHANT.password
    unkeyed = {
        hashlib.new(name, text.encode()).hexdigest()
        for name in ("sha256", "sha512", "md5", "sha1")
        for text in (password, f"111111shop{password}", f"111111:shop:{password}")
    }
    assert mac not in unkeyed
    for value in row.values():
        assert password not in str(value)


async def test_a_stale_write_cannot_bring_back_an_old_password(
    gateway: Gateway, database: Database, verifications: list[str]
) -> None:
    """The credential is remembered only if the password it was checked against is still the
    merchant's; and a mark over the old hash verifies nothing against the new one."""
    async with database(readonly=True) as uow:
        before = await uow.merchants.get("111111")
    assert before is not None
    await change_ws_password("111111", "new-ws-password", database)
    mac = gateway.credentials.mac(gateway.keyring, before, "shop", "shop-password")
    async with database() as uow:
        until = gateway.clock() + gateway.credentials.keep
        written = await uow.merchants.remember_credential(before, mac, until)
        await uow.commit()
    assert not written
    async with database() as uow:  # even written by force, it is over the old hash
        await uow.merchants.remember_credential(
            await uow.merchants.get("111111") or before, mac, until
        )
        await uow.commit()
    async with client_at(gateway, SHOP) as shop:
        assert await orderstate(shop) == ("7", "102")
