"""TOTP (RFC 6238): the RFC's own test vectors, the window around now, codes used once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from ips.domain import totp

RFC_KEY = b"12345678901234567890"
"""RFC 6238 appendix B's SHA-1 key."""


@pytest.mark.parametrize(
    ("seconds", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_the_codes_of_rfc_6238s_test_vectors(seconds: int, code: str) -> None:
    step = totp.step_of(datetime.fromtimestamp(seconds, UTC))
    assert totp.code_of(RFC_KEY, step, digits=8) == code
    assert totp.code_of(RFC_KEY, step) == code[-6:]  # six digits: the same number, shorter


SECRET = totp.new_secret()
NOW = datetime(2026, 12, 4, 9, 0, 10, tzinfo=UTC)


def code_at(moment: datetime, secret: str = SECRET) -> str:
    return totp.code_of(totp.key_of(secret), totp.step_of(moment))


def test_a_new_secret_is_base32_of_160_bits_and_differs_each_time() -> None:
    assert len(totp.key_of(SECRET)) == 20
    assert totp.new_secret() != SECRET


def test_the_code_of_now_and_of_the_steps_beside_it_are_taken() -> None:
    now = totp.step_of(NOW)
    for moment, step in (
        (NOW, now),
        (NOW - timedelta(seconds=30), now - 1),
        (NOW + timedelta(seconds=30), now + 1),
    ):
        assert totp.matching_step(SECRET, code_at(moment), NOW, None) == step


def test_a_code_two_steps_away_or_of_another_secret_is_refused() -> None:
    for moment in (NOW - timedelta(seconds=60), NOW + timedelta(seconds=60)):
        assert totp.matching_step(SECRET, code_at(moment), NOW, None) is None
    assert totp.matching_step(SECRET, code_at(NOW, totp.new_secret()), NOW, None) is None
    assert totp.matching_step(SECRET, "", NOW, None) is None
    assert totp.matching_step(SECRET, "12345", NOW, None) is None


def test_a_code_of_a_step_used_already_or_before_it_is_refused() -> None:
    now = totp.step_of(NOW)
    assert totp.matching_step(SECRET, code_at(NOW), NOW, now) is None
    earlier = NOW - timedelta(seconds=30)
    assert totp.matching_step(SECRET, code_at(earlier), NOW, now - 1) is None
    assert totp.matching_step(SECRET, code_at(NOW), NOW, now - 1) == now  # the next one is


def test_a_code_typed_with_spaces_is_taken() -> None:
    code = code_at(NOW)
    assert totp.matching_step(SECRET, f" {code[:3]} {code[3:]} ", NOW, None) is not None


def test_the_address_for_an_authenticator_app() -> None:
    address = urlsplit(totp.uri(SECRET, "ada@ops"))
    assert (address.scheme, address.netloc, address.path) == ("otpauth", "totp", "/IPS:ada@ops")
    assert parse_qs(address.query) == {
        "secret": [SECRET], "issuer": ["IPS"], "algorithm": ["SHA1"], "digits": ["6"],
        "period": ["30"],
    }  # fmt: skip
