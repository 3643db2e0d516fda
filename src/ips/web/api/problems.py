"""Errors of the JSON API as RFC 9457 problem details: ``type`` (a stable URI, documented in
docs/json-api.md), ``title``, ``status``, ``detail``, and ``field`` where one field is at
fault. Every error of the domain has its problem type; nothing is answered with a 5xx but
what the gateway itself cannot do (``Conflict``: try again)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import JSONResponse

from ips.domain.errors import (
    AccessDenied,
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    Refused,
)
from ips.domain.idempotency import KeyInFlight, KeyReused

BASE = "/api/v1/problems/"
"""Where the problem types are named (a reference relative to IPS; GET answers what each
means, and docs/json-api.md describes them)."""
MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        return BASE + self.slug


INVALID = ProblemType("invalid-request", "The request is not valid", 422)
UNAUTHENTICATED = ProblemType("unauthenticated", "No valid API key", 401)
FORBIDDEN = ProblemType("forbidden", "The API key may not do this", 403)
NOT_FOUND = ProblemType("not-found", "Not found", 404)
LIMIT = ProblemType("amount-too-large", "More than the order allows", 422)
REFUSED = ProblemType("refused", "The order's state or the shop's settings forbid this", 409)
BUSY = ProblemType("busy", "Someone else is changing the order now; try again", 409)
METHOD = ProblemType("method-not-allowed", "Method not allowed", 405)
MALFORMED = ProblemType("malformed-request", "The body cannot be read as JSON", 400)
KEY_REUSED = ProblemType(
    "idempotency-key-reused", "The Idempotency-Key was used for another request", 422
)
KEY_IN_USE = ProblemType(
    "idempotency-key-in-use", "The request of this Idempotency-Key is being answered", 409
)
TYPES = (
    INVALID, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, LIMIT, REFUSED, BUSY, METHOD, MALFORMED,
    KEY_REUSED, KEY_IN_USE,
)  # fmt: skip

_BY_ERROR: tuple[tuple[type[DomainError], ProblemType], ...] = (
    (KeyReused, KEY_REUSED),
    (KeyInFlight, KEY_IN_USE),
    (InvalidInput, INVALID),
    (AuthenticationFailed, UNAUTHENTICATED),
    (AccessDenied, FORBIDDEN),
    (NotFound, NOT_FOUND),
    (LimitExceeded, LIMIT),
    (Refused, REFUSED),
    (Conflict, BUSY),
)


def problem(kind: ProblemType, detail: str, field: str | None = None) -> JSONResponse:
    body: dict[str, object] = {
        "type": kind.uri,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
    }
    if field:
        body["field"] = field
    headers = {"WWW-Authenticate": "Bearer"} if kind is UNAUTHENTICATED else None
    return JSONResponse(body, kind.status, headers=headers, media_type=MEDIA_TYPE)


def of_error(exc: DomainError) -> JSONResponse:
    kind = next((k for error, k in _BY_ERROR if isinstance(exc, error)), REFUSED)
    return problem(kind, exc.message, exc.field)
