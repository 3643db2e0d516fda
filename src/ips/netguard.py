"""Which addresses IPS may connect to on a shop's behalf, and the look-up that finds them.

A shop chooses where its notifications go (and the Personal Account shows it the answers), so
an address is allowed only when it is public — on the Internet, not IPS's own network — or
lies in a network the operator allowed (``IPS_NOTIFICATION_NETWORKS``). The rule is
``AddressPolicy.allows``; ``checked_addresses`` looks a host up once and applies it to every
address found, for a caller that then connects to one of those addresses and nothing else.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

from ips.domain.addresses import Address, Network

Resolver = Callable[[str], Awaitable[Sequence[Address]]]
"""A host name → its addresses, in the order to try them; ``OSError`` when it has none."""

RESOLVE_TIMEOUT = 5.0

_NAT64 = IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix: its addresses reach the IPv4 address in their last 32 bits."""
_BROADCAST = IPv4Address("255.255.255.255")


class AddressRefused(Exception):
    """The host is, or resolves to, an address IPS may not connect to."""


class NotResolved(Exception):
    """The host name has no address now, or the look-up did not answer in time."""


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, and the operator's ``networks`` besides."""

    networks: tuple[Network, ...] = ()

    def allows(self, address: Address) -> bool:
        """An IPv6 address that carries an IPv4 one (mapped ``::ffff:a.b.c.d``, NAT64) is
        judged by the IPv4 address it reaches; a 6to4 one by both. No address, broadcast or
        multicast is ever allowed, whatever the networks: none of them is one shop."""
        if isinstance(address, IPv6Address):
            inner = address.ipv4_mapped or _nat64_target(address)
            if inner is not None:
                return self.allows(inner)
            if address.sixtofour is not None and not self.allows(address.sixtofour):
                return False
        if address.is_unspecified or address.is_multicast or address == _BROADCAST:
            return False
        return is_public(address) or any(address in network for network in self.networks)


def is_public(address: Address) -> bool:
    """Routable on the Internet: ``ipaddress``'s ``is_global``, without the ranges Python 3.11
    still counts as global (multicast, reserved, IPv6 site-local, IPv4-compatible)."""
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or (isinstance(address, IPv6Address) and address.is_site_local)
    )


def _nat64_target(address: IPv6Address) -> IPv4Address | None:
    if address not in _NAT64:
        return None
    return IPv4Address(int(address) & 0xFFFFFFFF)


async def system_resolver(host: str) -> list[Address]:
    """The system's resolver (``getaddrinfo``), its answers in its order, each once."""
    found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses = [ip_address(str(info[4][0]).split("%")[0]) for info in found]
    return list(dict.fromkeys(addresses))


async def checked_addresses(
    host: str,
    policy: AddressPolicy,
    resolve: Resolver = system_resolver,
    within: float = RESOLVE_TIMEOUT,
) -> list[Address]:
    """The addresses to connect to for ``host`` (itself when it is an address), once every
    one of them is allowed. A name with any address not allowed is refused as a whole rather
    than narrowed to the allowed ones: it points into a network IPS must not reach — what a
    rebinding attack looks like — and its shop should hear of it, not be reached sometimes."""
    try:
        literal = ip_address(host)
    except ValueError:
        pass
    else:
        if not policy.allows(literal):
            raise AddressRefused(f"{host} is not a public address")
        return [literal]
    try:
        addresses = await asyncio.wait_for(resolve(host), within)
    except TimeoutError:
        raise NotResolved(f"{host} did not resolve in {within:g} s") from None
    except (OSError, UnicodeError) as exc:
        raise NotResolved(f"{host} does not resolve ({exc})") from None
    if not addresses:
        raise NotResolved(f"{host} does not resolve")
    for address in addresses:
        if not policy.allows(address):
            shown = address.ipv4_mapped if isinstance(address, IPv6Address) else None
            raise AddressRefused(f"{host} resolves to {shown or address}, not a public address")
    return list(addresses)
