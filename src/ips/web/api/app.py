"""The JSON API as an application of its own, mounted at ``/api/v1``: its routes, its OpenAPI
document (``/api/v1/openapi.json``, OpenAPI 3.1 from the models) and its errors as problem
details, whatever goes wrong."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import DomainError
from ips.web.api import problems
from ips.web.api.idempotency import Idempotent
from ips.web.api.routes import router
from ips.web.services import Services

DESCRIPTION = """Orders, captures, cancels and recurring payments over JSON, on the same
orders and books as the Assist protocol. Send the merchant's API key as
`Authorization: Bearer KEY`. Amounts are integers of minor units. Errors are RFC 9457
problem details. See docs/json-api.md."""


PREFIX = "/api/v1"
"""Where the main application mounts it."""


def create_api(services: Services | None) -> FastAPI:
    api = FastAPI(
        title="IPS JSON API",
        version="1",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        servers=[{"url": PREFIX}],
    )
    api.state.services = services
    api.include_router(router)
    api.add_middleware(Idempotent, services=services)

    @api.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return problems.of_error(exc)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = [str(part) for part in first.get("loc", ())[1:]]
        detail = first.get("msg", "the request is not valid")
        return problems.problem(problems.INVALID, detail, ".".join(where) or None)

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        kinds = {400: problems.MALFORMED, 404: problems.NOT_FOUND, 405: problems.METHOD}
        kind = kinds.get(exc.status_code)
        if kind is None:
            kind = problems.ProblemType("http-error", str(exc.detail), exc.status_code)
        return problems.problem(kind, str(exc.detail))

    return api
