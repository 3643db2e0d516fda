"""Idempotency keys (the IETF's ``Idempotency-Key`` header, draft-ietf-httpapi-idempotency-
key-header): a client names each POST it may send again; the first answer to it — success or
error — is kept with a fingerprint of the request and given again for the same key, which
then may not name another request."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from ips.domain.errors import Conflict, InvalidInput, WrongValue

KEPT = timedelta(hours=24)
"""How long a key and its answer are kept (at least)."""
IN_FLIGHT = timedelta(minutes=2)
"""Longer than any request of the API runs: a key in flight for longer was left by a node
that died, and the next request with it runs."""
MAX_KEY = 255


class KeyReused(WrongValue):
    """The key names another request."""


class KeyInFlight(Conflict):
    """The request the key names is being answered now."""


@dataclass(frozen=True)
class Remembered:
    fingerprint: str
    created_at: datetime
    status: int | None = None
    """The answer's HTTP status; ``None`` while the request is in flight."""
    body: str | None = None


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            f"an Idempotency-Key is 1 to {MAX_KEY} printable ASCII characters",
            field="idempotency-key",
        )
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What names a request: its method, path and body."""
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()
