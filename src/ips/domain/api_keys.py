"""API keys: how a shop's server signs its calls to the JSON API (``Authorization: Bearer``).

A key reads ``ipsk_<id>_<secret>``: the id names it (shown in lists, safe to log), the secret
is 256 random bits. IPS shows the whole key once, when it is made, and keeps only its
SHA-256: a key has too much entropy to be guessed, so a fast hash compared in constant time
guards it as well as a slow one would, at no cost to each call. A merchant has several keys
at once (one per server, or the next one while the last is rolled out), each ``read`` or
``write`` (which reads too), until it is revoked.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from ips.domain.errors import AuthenticationFailed, InvalidInput

PREFIX = "ipsk"
_KEY = re.compile(rf"{PREFIX}_([a-z2-7]{{16}})_([A-Za-z0-9_-]{{43}})")
MAX_NAME = 100


class Scope(enum.Enum):
    READ = "read"
    WRITE = "write"

    def allows(self, wanted: Scope) -> bool:
        return self is Scope.WRITE or wanted is Scope.READ


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    merchant_id: str
    name: str
    scope: Scope
    created_at: datetime
    secret_hash: str = field(repr=False)
    revoked_at: datetime | None = None

    def opens(self, token: str) -> bool:
        """Whether ``token`` is this key, not revoked."""
        return self.revoked_at is None and hmac.compare_digest(digest(token), self.secret_hash)


def new_key(merchant_id: str, name: str, scope: Scope, now: datetime) -> tuple[ApiKey, str]:
    """A new key of the merchant, and its whole text, to be shown once."""
    name = name.strip()
    if len(name) > MAX_NAME or not name.isprintable():
        raise InvalidInput(f"a key's name is at most {MAX_NAME} printable characters", field="name")
    key_id = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    token = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return ApiKey(key_id, merchant_id, name, scope, now, digest(token)), token


def key_id_of(token: str) -> str:
    """The id a key's text names; refuses what is not a key's text."""
    match = _KEY.fullmatch(token.strip())
    if match is None:
        raise AuthenticationFailed("not an API key", field="key")
    return match.group(1)


def digest(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()
