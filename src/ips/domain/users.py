"""The Personal Account's users and their sessions.

A user belongs to one merchant and sees only that merchant's orders. Its role says what it
may do: a ``viewer`` reads, an ``operator`` also confirms and cancels, an ``admin`` also
changes the merchant's settings and users.

A session lasts while it is used: ``IDLE`` without a request ends it, and it never outlives
``LONGEST``. Its token is given to the browser once and stored only as a hash, so a copy of
the database signs nobody in; its CSRF token guards every form the session posts.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ips.domain.errors import InvalidInput

IDLE = timedelta(minutes=30)
LONGEST = timedelta(hours=12)
MIN_PASSWORD = 10
MAX_PASSWORD = 200

_LOGIN = re.compile(r"[A-Za-z0-9._@-]{3,100}")


class Role(enum.Enum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def may_act(self) -> bool:
        """May confirm and cancel orders."""
        return self is not Role.VIEWER

    @property
    def may_administer(self) -> bool:
        """May change the merchant's settings and users."""
        return self is Role.ADMIN


def parse_login(value: str) -> str:
    login = value.strip()
    if not _LOGIN.fullmatch(login):
        raise InvalidInput(
            "the login is 3 to 100 Latin letters, digits, '.', '_', '@' or '-'", field="login"
        )
    return login


def check_password(password: str, login: str) -> str:
    """A new password, if it is one a user may choose."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"the password is {MIN_PASSWORD} to {MAX_PASSWORD} characters long", field="password"
        )
    if password.strip().lower() == login.lower():
        raise InvalidInput("the password may not be the login", field="password")
    return password


@dataclass
class User:
    merchant_id: str
    login: str
    password_hash: str
    role: Role
    created_at: datetime
    id: int | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Session:
    user_id: int
    token_hash: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime

    @classmethod
    def open(cls, user_id: int, now: datetime) -> tuple[Session, str]:
        """A new session and the token the browser keeps (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        return cls(user_id, token_hash(token), secrets.token_urlsafe(32), now, now), token

    def expires_at(self) -> datetime:
        return min(self.last_seen_at + IDLE, self.created_at + LONGEST)

    def alive(self, now: datetime) -> bool:
        return now < self.expires_at()

    def csrf_ok(self, token: str) -> bool:
        return secrets.compare_digest(self.csrf_token.encode(), token.encode())
