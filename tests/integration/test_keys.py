"""The key ring is bound to the database whose values it sealed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ips.crypto.keyring import KeyRing
from ips.storage.database import create_engine
from ips.storage.keys import KeyMismatch, bind_keyring
from ips.storage.migrate import migrate


async def test_a_database_refuses_a_key_file_that_is_not_its_own(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    first = tmp_path / "first.key"
    ring = await bind_keyring(engine, first)
    assert first.exists()
    sealed = ring.seal("secret", "test")

    other = tmp_path / "other.key"
    KeyRing.load_or_create(other)  # another installation's key
    with pytest.raises(KeyMismatch, match="does not hold the keys k1"):
        await bind_keyring(engine, other)

    missing = tmp_path / "missing.key"
    with pytest.raises(KeyMismatch, match="is missing"):
        await bind_keyring(engine, missing)
    assert not missing.exists()  # not created for a database that has keys

    again = await bind_keyring(engine, first)
    assert again.open(sealed, "test") == "secret"
    await engine.dispose()
