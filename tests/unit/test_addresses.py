"""Callers' addresses: X-Forwarded-For read only behind trusted proxies, the networks a shop
allows, and the source failures are counted for; and the guards of one login attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest

from ips.domain import logins
from ips.domain.addresses import client_address, parse_networks, source_of, within
from ips.domain.errors import InvalidInput
from ips.domain.logins import LOCK_FOR, Guards, LoginGuard, Subjects

PROXIES = (ip_network("10.0.0.0/8"), ip_network("2001:db8:ffff::/48"))
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.7", [], "203.0.113.7"),
        ("203.0.113.7", ["198.51.100.9"], "203.0.113.7"),  # not a proxy: the header is ignored
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["198.51.100.9"], "198.51.100.9"),
        ("10.0.0.2", ["1.2.3.4, 198.51.100.9"], "198.51.100.9"),  # the client's own entry
        ("10.0.0.2", ["198.51.100.9, 10.0.0.3"], "198.51.100.9"),  # through two proxies
        ("10.0.0.2", ["198.51.100.9", "10.0.0.3"], "198.51.100.9"),  # two header lines
        ("10.0.0.2", ["10.0.0.4, 10.0.0.3"], "10.0.0.4"),  # proxies all the way: the leftmost
        ("10.0.0.2", ["198.51.100.9:4711"], "198.51.100.9"),
        ("10.0.0.2", ["[2001:db8::5]:443"], "2001:db8::5"),
        ("10.0.0.2", ["::ffff:198.51.100.9"], "198.51.100.9"),
        ("10.0.0.2", ["unknown"], "unknown"),  # as uvicorn reads it: no address, allowed nowhere
        ("2001:db8:ffff::1", ["2001:db8:1::9"], "2001:db8:1::9"),
        ("::ffff:10.0.0.2", ["198.51.100.9"], "198.51.100.9"),
        ("", ["198.51.100.9"], ""),
    ],
)
def test_the_client_is_named_by_the_trusted_proxies_only(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_without_trusted_proxies_the_caller_is_who_connects() -> None:
    assert client_address("127.0.0.1", ["198.51.100.9"], ()) == "127.0.0.1"


def test_networks_are_normalized_and_checked() -> None:
    networks = parse_networks(["198.51.100.7", "198.51.100.1/24", "2001:DB8::1/64", "198.51.100.7"])
    assert networks == ("198.51.100.7/32", "198.51.100.0/24", "2001:db8::/64")
    assert within("198.51.100.200", networks) and within("2001:db8::ffff", networks)
    assert not within("198.51.101.1", networks) and not within("unknown", networks)
    assert within("::ffff:198.51.100.5", networks)


@pytest.mark.parametrize("wrong", ["", "example.com", "198.51.100.0/33", "1.2.3", "::g"])
def test_a_wrong_network_is_refused(wrong: str) -> None:
    with pytest.raises(InvalidInput, match="not an IP address or a network"):
        parse_networks([wrong])


def test_ipv4_sources_are_addresses_and_ipv6_sources_their_64() -> None:
    assert source_of("203.0.113.66") == "203.0.113.66"
    assert source_of("::ffff:203.0.113.66") == "203.0.113.66"
    assert source_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert Subjects.of("ws:111111", "2001:db8:1:2::7") == Subjects(
        "ws:111111 from 2001:db8:1:2::/64", "ws:111111"
    )


def _guards() -> Guards:
    subjects = Subjects.of("ws:1", "203.0.113.66")
    return Guards(LoginGuard(subjects.source), LoginGuard(subjects.login))


def test_a_source_is_refused_after_ten_failures_and_a_success_takes_its_count_back() -> None:
    guards = _guards()
    for _ in range(9):
        guards.fail(NOW)
    assert not guards.refused(NOW)
    guards.fail(NOW)
    assert guards.refused(NOW) and guards.refused(NOW + LOCK_FOR - timedelta(seconds=1))
    assert not guards.refused(NOW + LOCK_FOR)

    guards = _guards()
    guards.fail(NOW)
    guards.succeed(NOW, counted=True)
    assert (guards.source.failures, guards.login.failures) == (0, 0)
    assert guards.source.known(NOW) and not guards.worth_noting(NOW)
    assert guards.worth_noting(NOW + timedelta(days=1))


def test_a_login_failed_from_many_sources_closes_to_newcomers_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logins, "SPREAD_AFTER", 20)
    login = LoginGuard("ws:1")
    known = LoginGuard("ws:1 from 203.0.113.7")
    known.succeed(NOW - timedelta(days=2))
    for host in range(2):
        source = LoginGuard(f"ws:1 from 198.51.100.{host}")
        for _ in range(10):
            Guards(source, login).fail(NOW)
    assert Guards(known, login).refused(NOW) is False
    assert Guards(LoginGuard("ws:1 from 198.51.100.99"), login).refused(NOW) is True
    stale = LoginGuard("ws:1 from 192.0.2.1", succeeded_at=NOW - logins.KNOWN_FOR)
    assert Guards(stale, login).refused(NOW) is True
    assert Guards(LoginGuard("ws:1 from 198.51.100.99"), login).refused(NOW + LOCK_FOR) is False
