"""The domain's exception tree.

    DomainError
    ├── InvalidInput        a value from outside is malformed (amount, currency, card…)
    │   ├── MissingInput
    │   ├── InvalidAmount
    │   ├── WrongValue      well-formed, but not a value this request can take
    │   │   └── UnknownCurrency
    │   └── InvalidCard
    ├── NotFound            the object asked for does not exist (for this merchant)
    ├── AuthenticationFailed
    ├── AccessDenied        not from this caller's address (a merchant's allowed addresses)
    ├── Refused             the request is well-formed but the rules forbid it
    │   ├── InvalidTransition
    │   ├── AlreadyPaid
    │   └── LimitExceeded   more than the order allows (to confirm, to cancel…)
    └── Conflict            someone else is changing the same object right now
        └── LoginLocked     too many failed logins: locked for a while

Every error carries a ``field`` naming its culprit (``"amount"``, ``"login"``…) so that each
boundary (the Assist protocol, the payment pages) can render it in its own shape.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    pass


class MissingInput(InvalidInput):
    pass


class InvalidAmount(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="amount")


class WrongValue(InvalidInput):
    pass


class UnknownCurrency(WrongValue):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown currency {code!r}", field="currency")


class InvalidCard(InvalidInput):
    pass


class NotFound(DomainError):
    pass


class AuthenticationFailed(DomainError):
    pass


class AccessDenied(DomainError):
    pass


class Refused(DomainError):
    pass


class InvalidTransition(Refused):
    pass


class AlreadyPaid(Refused):
    pass


class LimitExceeded(Refused):
    pass


class Conflict(DomainError):
    pass


class LoginLocked(Conflict):
    """Too many failed logins: the login is locked for a while."""
