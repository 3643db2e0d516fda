"""Signed, expiring form tokens: the page that shows a form proves the form came from it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from ips.domain.text import is_digits


class FormTokens:
    def __init__(self, key: bytes, max_age_s: int = 3600) -> None:
        self._key = key
        self._max_age_s = max_age_s

    def issue(self, subject: str, now: float | None = None) -> str:
        issued = str(int(time.time() if now is None else now))
        return f"{issued}.{self._sign(subject, issued)}"

    def valid(self, subject: str, token: str, now: float | None = None) -> bool:
        issued, _, signature = token.partition(".")
        if not is_digits(issued) or not signature.isascii():
            return False
        if not hmac.compare_digest(signature, self._sign(subject, issued)):
            return False
        age = (time.time() if now is None else now) - int(issued)
        return 0 <= age <= self._max_age_s

    def _sign(self, subject: str, issued: str) -> str:
        digest = hmac.new(self._key, f"{subject}|{issued}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
