"""Binding the key ring to the database whose values it sealed.

The database records the fingerprint of every key it has values sealed with. On start, the
key file must hold each of them: a missing or different file is refused with a clear message
instead of failing later on the first sealed value. A new database creates the key file when
there is none; a database that already has keys never does.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ips.crypto.keyring import KeyRing
from ips.storage.tables import sealing_keys


class KeyMismatch(Exception):
    """The key file does not open this database's sealed values."""


async def bind_keyring(engine: AsyncEngine, key_file: Path) -> KeyRing:
    async with engine.begin() as conn:
        rows = await conn.execute(select(sealing_keys.c.key_id, sealing_keys.c.fingerprint))
        known = {row.key_id: row.fingerprint for row in rows}
        keyring = _open_matching(key_file, known)
        new = [
            {"key_id": key_id, "fingerprint": fingerprint}
            for key_id, fingerprint in keyring.fingerprints().items()
            if key_id not in known
        ]
        if new:
            await conn.execute(insert(sealing_keys), new)
    return keyring


def _open_matching(key_file: Path, known: dict[str, str]) -> KeyRing:
    if known and not key_file.exists():
        raise KeyMismatch(
            f"the key file {key_file} is missing; this database needs the keys "
            f"{', '.join(sorted(known))} it was sealed with (set IPS_KEY_FILE)"
        )
    keyring = KeyRing.load_or_create(key_file)
    held = keyring.fingerprints()
    wrong = sorted(
        key_id for key_id, fingerprint in known.items() if held.get(key_id) != fingerprint
    )
    if wrong:
        raise KeyMismatch(
            f"the key file {key_file} does not hold the keys {', '.join(wrong)} "
            "this database was sealed with (set IPS_KEY_FILE)"
        )
    return keyring
