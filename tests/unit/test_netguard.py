"""The rule of the addresses notifications may go to, and the check of a host's addresses
(with a resolver given, not the system's)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from ipaddress import ip_address, ip_network

import pytest

from ips.config import Settings, networks
from ips.domain.addresses import Address
from ips.netguard import (
    AddressPolicy,
    AddressRefused,
    NotResolved,
    Resolver,
    checked_addresses,
)

NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "::1",
    "::ffff:127.0.0.1",  # IPv4-mapped: the IPv4 address it reaches
    "::ffff:10.0.0.7",
    "::7f00:1",  # IPv4-compatible (deprecated)
    "64:ff9b::a00:7",  # NAT64 of 10.0.0.7
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
    "0.0.0.0",  # noqa: S104 — an address under test, not a bind
    "::",
    "10.0.0.7",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # link-local: cloud metadata
    "fe80::1",
    "fc00::1",  # unique-local
    "fd12:3456::1",
    "fec0::1",  # site-local (deprecated), global to Python 3.11
    "224.0.0.1",  # multicast
    "233.252.0.1",  # multicast, global to Python 3.11
    "ff02::1",
    "ff0e::1",
    "255.255.255.255",
    "240.0.0.1",  # reserved
    "192.0.2.1",  # documentation
    "2001:db8::1",
]
PUBLIC = [
    "8.8.8.8",
    "93.184.215.14",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("text", NOT_PUBLIC)
def test_private_and_special_addresses_are_not_allowed(text: str) -> None:
    assert not AddressPolicy().allows(ip_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_allowed(text: str) -> None:
    assert AddressPolicy().allows(ip_address(text))


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::ffff:127.0.0.1", True),
        ("10.200.0.1", True),
        ("fd12::1", True),
        ("8.8.8.8", True),
        ("::1", False),
        ("192.168.1.1", False),
        ("fc00::1", False),
    ],
)
def test_the_operator_allows_networks_besides(text: str, allowed: bool) -> None:
    policy = AddressPolicy(networks("127.0.0.0/8,10.0.0.0/8,fd00::/8"))
    assert policy.allows(ip_address(text)) is allowed


@pytest.mark.parametrize(
    "text",
    ["0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "ff02::1", "::ffff:0.0.0.0"],  # noqa: S104
)
def test_no_network_allows_what_is_not_one_shop(text: str) -> None:
    everything = AddressPolicy(networks("0.0.0.0/0,::/0"))
    assert everything.allows(ip_address("10.0.0.7"))
    assert not everything.allows(ip_address(text))


def test_networks_are_read_from_the_setting() -> None:
    settings = Settings(notification_networks=" 127.0.0.0/8, ,10.1.2.3/8,fd00::7 ")
    assert settings.allowed_notification_networks == (
        ip_network("127.0.0.0/8"),
        ip_network("10.0.0.0/8"),
        ip_network("fd00::7/128"),
    )
    with pytest.raises(
        ValueError, match=re.escape("'10.0.0.0/33' is not an IP address or a network")
    ):
        Settings(notification_networks="127.0.0.0/8,10.0.0.0/33")  # at start, not at first use


def answering(*addresses: str) -> Resolver:
    async def resolve(host: str) -> Sequence[Address]:
        return [ip_address(address) for address in addresses]

    return resolve


async def test_every_address_of_a_name_must_be_allowed() -> None:
    loopback = AddressPolicy(networks("127.0.0.0/8"))
    found = await checked_addresses("shop.test", loopback, answering("127.0.0.1", "8.8.8.8"))
    assert found == [ip_address("127.0.0.1"), ip_address("8.8.8.8")]
    for addresses, said in (
        (("8.8.8.8", "10.0.0.7"), "shop.test resolves to 10.0.0.7, not a public address"),
        (("::ffff:10.0.0.7",), "shop.test resolves to 10.0.0.7, not a public address"),
    ):
        with pytest.raises(AddressRefused, match=said):
            await checked_addresses("shop.test", loopback, answering(*addresses))


async def test_an_address_as_host_is_checked_without_a_lookup() -> None:
    async def no_lookup(host: str) -> Sequence[Address]:
        raise AssertionError(f"{host} looked up")

    assert await checked_addresses("8.8.8.8", AddressPolicy(), no_lookup) == [ip_address("8.8.8.8")]
    with pytest.raises(AddressRefused, match=r"^::ffff:127\.0\.0\.1 is not a public address$"):
        await checked_addresses("::ffff:127.0.0.1", AddressPolicy(), no_lookup)


async def test_a_name_without_an_answer_is_not_resolved() -> None:
    async def failing(host: str) -> Sequence[Address]:
        raise OSError(-2, "Name or service not known")

    async def silent(host: str) -> Sequence[Address]:
        await asyncio.Event().wait()
        return []

    for resolve, said in (
        (answering(), "shop.test does not resolve"),
        (failing, r"shop.test does not resolve \(.*Name or service not known"),
        (silent, "shop.test did not resolve in 0.01 s"),
    ):
        with pytest.raises(NotResolved, match=said):
            await checked_addresses("shop.test", AddressPolicy(), resolve, within=0.01)
