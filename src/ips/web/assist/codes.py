"""Domain errors → the Assist pair (``firstcode``, ``secondcode``).

firstcode says what went wrong, secondcode names the culprit (a parameter or an object).
"""

from __future__ import annotations

import enum

from ips.domain.errors import (
    AccessDenied,
    AlreadyPaid,
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    LimitExceeded,
    MissingInput,
    NotFound,
    Refused,
    WrongValue,
)


class First(enum.IntEnum):
    OK = 0
    ERROR = 1
    INTERNAL = 2
    MISSING_PARAMETER = 3
    PARAMETER_FORMAT = 4
    WRONG_VALUE = 5
    AUTHENTICATION = 7
    MISSING_OBJECT = 10
    DUPLICATE_OBJECT = 11
    OBJECT_LOCKED = 12
    PROHIBITED = 15
    LIMITS = 17
    ACCESS_DENIED = 19


SECOND_BY_FIELD = {
    "merchant_id": 100,
    "login": 101,
    "password": 102,
    "format": 103,
    "currency": 105,
    "ordernumber": 107,
    "amount": 108,
    "delay": 109,
    "start": 129,
    "end": 130,
    "billnumber": 143,
    "orderstate": 164,
    "order": 201,
    "operation": 216,
    "cancel": 300,
    "refund": 301,
    "payment": 306,
    "confirmation": 307,
    "recurring": 320,
}

_FIRST_BY_ERROR: list[tuple[type[DomainError], First]] = [
    (MissingInput, First.MISSING_PARAMETER),
    (WrongValue, First.WRONG_VALUE),
    (InvalidInput, First.PARAMETER_FORMAT),
    (AuthenticationFailed, First.AUTHENTICATION),
    (AccessDenied, First.ACCESS_DENIED),
    (NotFound, First.MISSING_OBJECT),
    (AlreadyPaid, First.DUPLICATE_OBJECT),
    (Conflict, First.OBJECT_LOCKED),
    (LimitExceeded, First.LIMITS),
    (Refused, First.PROHIBITED),
]


def assist_codes(error: DomainError) -> tuple[int, int]:
    first = next((code for kind, code in _FIRST_BY_ERROR if isinstance(error, kind)), First.ERROR)
    return int(first), SECOND_BY_FIELD.get(error.field or "", 0)


FORMAT_NOT_SUPPORTED = (int(First.PARAMETER_FORMAT), SECOND_BY_FIELD["format"])
INTERNAL_ERROR = (int(First.INTERNAL), 0)
