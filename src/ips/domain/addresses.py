"""Callers' network addresses: who a request comes from when the operator's proxies forward
it, the networks a merchant lets call its web services, and the source whose failed logins
are counted together."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from ips.domain.errors import InvalidInput

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

MAX_NETWORKS = 100
IPV6_SOURCE_PREFIX = 64
"""An IPv6 host is given a whole /64 to choose addresses from: failures from one /64 count
together."""


def parse_address(text: str) -> Address | None:
    """An IP address as a connection or a proxy names it (an IPv6 zone and an IPv4 address in
    IPv6 form are read as the plain address, ``1.2.3.4:80`` and ``[::1]:80`` as the address);
    ``None`` for anything else."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_network(text: str) -> Network:
    """An address or a CIDR network (``198.51.100.7``, ``198.51.100.0/24``, ``2001:db8::/48``);
    host bits after the prefix are dropped."""
    text = text.strip()
    try:
        return ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not an IP address or a network (CIDR)", field="address"
        ) from None


def parse_networks(texts: Iterable[str]) -> tuple[str, ...]:
    """Networks as stored and shown: each normalized (``198.51.100.7/32``), once, in the
    order given."""
    networks = tuple(dict.fromkeys(str(parse_network(text)) for text in texts))
    if len(networks) > MAX_NETWORKS:
        raise InvalidInput(f"at most {MAX_NETWORKS} addresses or networks", field="address")
    return networks


def within(address: str, networks: Iterable[str | Network]) -> bool:
    """Whether the address is in one of the networks (an unreadable address is in none)."""
    found = parse_address(address)
    return found is not None and any(
        found in (ip_network(net) if isinstance(net, str) else net) for net in networks
    )


def client_address(peer: str, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str:
    """Who a request comes from: its connection's address, unless that is one of the operator's
    trusted proxies. Then it is the rightmost entry of ``X-Forwarded-For`` (all the header's
    lines, in order) that is not itself a trusted proxy: each proxy appends the address it was
    called from, so entries left of that are whatever the client chose to send. When every
    entry is a proxy, the leftmost. (uvicorn's ``forwarded_allow_ips`` reads the header by the
    same rule, so an address it already took from it comes out unchanged.)"""
    nearest = parse_address(peer)
    if nearest is None or not _trusted(nearest, proxies):
        return str(nearest) if nearest is not None else peer
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        found = parse_address(hop)
        if found is None or not _trusted(found, proxies):
            return str(found) if found is not None else hop
    return str(parse_address(hops[0])) if hops else str(nearest)


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address in network for network in proxies)


def source_of(address: str) -> str:
    """The source a caller's failed logins are counted for: its IPv4 address, or the /64
    network of its IPv6 address."""
    found = parse_address(address)
    if isinstance(found, IPv6Address):
        return str(ip_network(f"{found}/{IPV6_SOURCE_PREFIX}", strict=False))
    return str(found) if found is not None else address
