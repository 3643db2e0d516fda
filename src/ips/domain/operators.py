"""The operator's own staff, who run IPS in the operator console (``/admin``) — not a shop's
users, who have the Personal Account.

An operator's role (``users.Role``, the same three words) says what it may do in the console:
a ``viewer`` reads; an ``operator`` also acts on what it reads (sends a notification or a
webhook again); an ``admin`` also administers (merchants, acquirers). An administrator signs
in with a one-time code as well as its password (``totp.py``), so its TOTP secret is always
set; the last step it used is kept so that no code signs in twice.

A disabled operator keeps its row (the audit trail names it) but signs in no more, and its
sessions end. A session lasts as the Personal Account's do (``users.IDLE``, ``users.LONGEST``);
an administrator's session records when its second factor was checked, and without that it
signs nobody in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from ips.domain.users import IDLE, LONGEST, Role, token_hash


@dataclass
class Operator:
    login: str
    password_hash: str
    role: Role
    created_at: datetime
    totp_secret: str | None = None
    """An administrator's TOTP secret (base32), sealed at rest."""
    last_totp_step: int | None = None
    """The time step of the last one-time code that signed in (``totp.matching_step``)."""
    disabled_at: datetime | None = None
    id: int | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def needs_second_factor(self) -> bool:
        return self.role is Role.ADMIN


@dataclass
class OperatorSession:
    operator_id: int
    token_hash: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    second_factor_at: datetime | None = None
    """When the one-time code was checked (an administrator's session); None without one."""

    @classmethod
    def open(
        cls, operator_id: int, now: datetime, *, second_factor: bool
    ) -> tuple[OperatorSession, str]:
        """A new session and the token the browser keeps (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        session = cls(
            operator_id, token_hash(token), secrets.token_urlsafe(32), now, now,
            now if second_factor else None,
        )  # fmt: skip
        return session, token

    def expires_at(self) -> datetime:
        return min(self.last_seen_at + IDLE, self.created_at + LONGEST)

    def alive(self, now: datetime) -> bool:
        return now < self.expires_at()

    def signs_in(self, operator: Operator, now: datetime) -> bool:
        """Whether the session still signs its operator in: alive, the operator enabled, and
        the second factor checked when the operator needs one."""
        return (
            self.alive(now)
            and not operator.disabled
            and (self.second_factor_at is not None or not operator.needs_second_factor)
        )

    def csrf_ok(self, token: str) -> bool:
        return secrets.compare_digest(self.csrf_token.encode(), token.encode())
