"""Time-based one-time passwords (RFC 6238), the console administrators' second factor.

HMAC-SHA1 over the number of 30-second steps since the epoch, truncated to 6 digits (RFC
4226), as every authenticator app computes them from the secret it was given (``uri``). A
code of the step before or after now is taken too (clocks drift, typing takes a while), but
never a step at or before the last one used (``matching_step``): a code read over a
shoulder or sent twice does not sign in again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1
"""Steps taken before and after the current one."""
ISSUER = "IPS"


def new_secret() -> str:
    """A new secret, in base32 without padding (what authenticator apps take), of 160 bits."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def step_of(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_of(key: bytes, step: int, digits: int = DIGITS) -> str:
    """The code of ``step`` (RFC 4226's HOTP of the step as the counter)."""
    mac = hmac.digest(key, struct.pack(">Q", step), hashlib.sha1)
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def key_of(secret: str) -> bytes:
    return base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))


def matching_step(secret: str, code: str, now: datetime, last_used: int | None) -> int | None:
    """The step ``code`` is of — the current one or one beside it, later than ``last_used`` —
    or None. Every step in the window is compared, in constant time, whatever matched."""
    code = code.strip().replace(" ", "")
    key, current = key_of(secret), step_of(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        right = hmac.compare_digest(code_of(key, step).encode(), code.encode())
        if right and (last_used is None or step > last_used) and found is None:
            found = step
    return found


def uri(secret: str, login: str) -> str:
    """The ``otpauth://`` address an authenticator app takes (as a QR code or pasted)."""
    label = quote(f"{ISSUER}:{login}", safe=":@")
    query = urlencode(
        {"secret": secret, "issuer": ISSUER, "algorithm": "SHA1", "digits": DIGITS,
         "period": STEP_SECONDS}
    )  # fmt: skip
    return f"otpauth://totp/{label}?{query}"
