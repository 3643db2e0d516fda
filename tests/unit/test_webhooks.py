"""Webhooks' pure rules: the signature Standard Webhooks define, the pauses, the roll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ips.domain.errors import InvalidInput
from ips.domain.webhooks import (
    EVENT_TYPES,
    Endpoint,
    new_secret,
    parse_event_types,
    pause,
    signature,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_the_signature_is_standard_webhooks_own_example() -> None:
    # the example of the Standard Webhooks libraries' tests
    assert (
        signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            '{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_pauses_double_from_a_minute_to_eight_hours() -> None:
    minutes = [pause(n) / timedelta(minutes=1) for n in (1, 2, 3, 9, 10, 60)]
    assert minutes == [1, 2, 4, 256, 480, 480]


def test_a_rolled_secret_signs_beside_the_new_one_for_24_hours() -> None:
    endpoint = Endpoint("we_a", "1", "https://x", (), new_secret(), NOW)
    old = endpoint.secret
    new = endpoint.roll(NOW)
    assert endpoint.signing_secrets(NOW + timedelta(hours=23, minutes=59)) == [new, old]
    assert endpoint.signing_secrets(NOW + timedelta(hours=24)) == [new]
    header = endpoint.signature_header("evt_1", 1, "{}", NOW)
    assert header == f"{signature(new, 'evt_1', 1, '{}')} {signature(old, 'evt_1', 1, '{}')}"
    assert "whsec" not in repr(endpoint)


def test_event_types_are_all_or_those_named() -> None:
    assert parse_event_types("") == parse_event_types(" * ") == ()
    assert parse_event_types("refund.succeeded, order.approved,refund.succeeded") == (
        "refund.succeeded",
        "order.approved",
    )
    with pytest.raises(InvalidInput, match=r"no event type order\.paid"):
        parse_event_types("order.paid")
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))
