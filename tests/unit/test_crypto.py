from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from ips.crypto.keyring import KeyRing
from ips.crypto.tokens import FormTokens


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "ips.key"
    first = KeyRing.load_or_create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    sealed = first.seal("4111111111111111", "card number")
    assert "4111111111111111" not in sealed and sealed.startswith("k1:")
    assert KeyRing.load_or_create(path).open(sealed, "card number") == "4111111111111111"


def test_sealed_values_are_bound_to_their_context(tmp_path: Path) -> None:
    ring = KeyRing.load_or_create(tmp_path / "ips.key")
    sealed = ring.seal("secret", "merchant secret word")
    with pytest.raises(InvalidTag):
        ring.open(sealed, "card number")


def test_rotation_seals_with_the_newest_and_opens_the_old(tmp_path: Path) -> None:
    path = tmp_path / "ips.key"
    old = KeyRing.load_or_create(path)
    sealed_old = old.seal("x", "c")
    with path.open("a") as keys:
        keys.write("k2 " + "A" * 43 + "=\n")
    rotated = KeyRing.load_or_create(path)
    assert rotated.seal("y", "c").startswith("k2:")
    assert rotated.open(sealed_old, "c") == "x"


def test_form_tokens_expire_and_bind_to_their_subject() -> None:
    tokens = FormTokens(b"k" * 32, max_age_s=60)
    token = tokens.issue("1000000000000001", now=1000)
    assert tokens.valid("1000000000000001", token, now=1030)
    assert not tokens.valid("1000000000000001", token, now=1061)
    assert not tokens.valid("1000000000000002", token, now=1030)
    assert not tokens.valid("1000000000000001", "1000.forged", now=1030)
    assert not tokens.valid("1000000000000001", "", now=1030)
    assert not FormTokens(b"j" * 32).valid("1000000000000001", token, now=1030)
