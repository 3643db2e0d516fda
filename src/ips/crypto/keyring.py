"""The key ring: AES-256-GCM keys that seal card numbers and merchants' secret words at rest.

A sealed value is ``<key id>:<base64(nonce + ciphertext)>``; the key id beside the ciphertext
lets an old value be opened after a new key was added (rotation: append a key, the last one
seals, all of them open). The file holds one ``<key id> <base64 key>`` per line.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class KeyRing:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._keys = dict(keys)
        self._current = list(keys)[-1]

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(f"k1 {base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}\n")
        keys: dict[str, bytes] = {}
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key_id, encoded = line.split()
                keys[key_id] = base64.b64decode(encoded)
        return cls(keys)

    def seal(self, plain: str, context: str) -> str:
        """Encrypts ``plain``; ``context`` (what the value is) must be given again to open it."""
        nonce = os.urandom(12)
        sealed = AESGCM(self._keys[self._current]).encrypt(nonce, plain.encode(), context.encode())
        return f"{self._current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, context: str) -> str:
        key_id, encoded = sealed.split(":", 1)
        raw = base64.b64decode(encoded)
        return AESGCM(self._keys[key_id]).decrypt(raw[:12], raw[12:], context.encode()).decode()

    def fingerprints(self) -> dict[str, str]:
        """A public fingerprint of each key, to recognise the ring without revealing it."""
        return {
            key_id: hashlib.sha256(b"ips key fingerprint\x00" + key).hexdigest()[:16]
            for key_id, key in self._keys.items()
        }

    def derive(self, purpose: str) -> bytes:
        """A key for another purpose (signing form tokens…), derived from the current key."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self._keys[self._current])
