"""The web application: routers, static files, security headers, and no 500 for anyone."""

from __future__ import annotations

import logging
import re
import secrets
import time
import uuid

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ips.domain.errors import DomainError, NotFound
from ips.domain.orders import Language
from ips.logs.context import scope as log_scope
from ips.logs.formats import mask_card_numbers
from ips.metrics import Metrics
from ips.services.health import Health
from ips.web import health as health_routes
from ips.web import metrics as metrics_routes
from ips.web.admin import views as console_views
from ips.web.admin.routes import router as console_router
from ips.web.admin.session import PREFIX as CONSOLE
from ips.web.api import problems
from ips.web.api.app import PREFIX, create_api
from ips.web.assist import schema as assist_schema
from ips.web.assist.routes import router as assist_router
from ips.web.cabinet.routes import router as cabinet_router
from ips.web.cabinet.session import ExpiredForm, NotAllowed, SignInNeeded
from ips.web.cabinet.views import render, words
from ips.web.i18n import N_, Words
from ips.web.pages.routes import router as pages_router
from ips.web.pages.views import STATIC, error_page
from ips.web.services import Services

log = logging.getLogger(__name__)
access_log = logging.getLogger("ips.access")

CSP = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""Only scripts carrying the request's nonce run (they are IPS's own, from /static); no
inline script or style, no frame around the pages."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


REQUEST_ID = "X-Request-ID"
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:+/=@-]{0,127}")
"""A request id IPS takes from the caller (a proxy's, a shop's): up to 128 characters that
need no escaping in a log line or a header, and no card number. Another gets one of IPS's
own."""


def request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is sane, else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if SANE_REQUEST_ID.fullmatch(value):
                given = str(value, "ascii")
                if mask_card_numbers(given) == given:
                    return given
            break
    return uuid.uuid4().hex


NO_NAME = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffd]")
"""What no page's path holds: control characters (NUL among them, which PostgreSQL refuses
in any text), and what a server makes of percent-escapes that are not UTF-8 (U+FFFD, or
surrogates). Such a path is answered 404 before any route reads it, and logged escaped."""


def create_app(
    services: Services | None = None,
    health: Health | None = None,
) -> FastAPI:
    app = FastAPI(title="IPS", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.openapi = lambda: assist_schema.document(app, assist_router.routes)  # type: ignore[method-assign]
    app.state.services = services
    app.include_router(assist_router)
    app.include_router(pages_router)
    app.include_router(cabinet_router)
    app.include_router(console_router)
    app.include_router(health_routes.router(health))
    app.include_router(metrics_routes.router(scrapes(services)))
    app.mount(PREFIX, create_api(services))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.add_middleware(Guard, metrics=services.gateway.metrics if services else None)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _in_console(request):
            return _error_page(request, exc.status_code, f"{exc.detail}.")
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _not_found(request, exc)

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> Response:
        """What a route of the Personal Account or the console did not catch itself: a bad
        value in a form or a query string. (The payment pages and the web services answer
        their own.)"""
        if not (request.url.path.startswith("/cabinet") or _in_console(request)):
            raise exc
        return _error_page(request, 400, exc.message)

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(exc.sign_in_url(), status_code=303)

    @app.exception_handler(NotAllowed)
    @app.exception_handler(ExpiredForm)
    async def forbidden(request: Request, exc: NotAllowed | ExpiredForm) -> Response:
        return _error_page(request, 403, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return PlainTextResponse("Bad request", status_code=400)

    return app


def scrapes(services: Services | None) -> metrics_routes.Scrapes | None:
    """What the app's ``/metrics`` serves, and to whom."""
    if services is None:
        return None
    return metrics_routes.Scrapes(
        services.gateway.metrics,
        services.uow_factory,
        services.gateway.clock,
        services.metrics_networks,
        services.metrics_token,
        services.trusted_proxies,
    )


class Guard:
    """ASGI middleware: security headers on every answer, the request's id (``request_id``,
    given back in ``X-Request-ID`` and carried by every log line of the request), the last
    resort against an error no route caught (503, logged), an access log without query
    strings (they may carry web-service passwords), and the time of each answer in
    ``metrics``, by route template. Plain ASGI, not ``BaseHTTPMiddleware``, which costs every
    request a task group and a stream of its own."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        rid = request_id(scope)
        with log_scope(request_id=rid, afresh=True):
            await self._guarded(scope, receive, send, rid)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        started = time.perf_counter()
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.update(SECURITY_HEADERS)
                headers["Content-Security-Policy"] = CSP.format(nonce=nonce)
                headers[REQUEST_ID] = rid
            await send(message)

        path = scope["path"]
        shown = ascii(path)[1:-1] if NO_NAME.search(path) else path
        refused = _refused(Request(scope))
        try:
            await (refused or self._app)(scope, receive, sending)
        except ClientDisconnect:
            access_log.info(
                "%s %s: the caller left before its request arrived", scope["method"], shown
            )
            return
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], shown)
            if status:
                return  # the answer had begun: the connection is cut
            await PlainTextResponse(
                "The service could not complete the request. Please try again.", status_code=503
            )(scope, receive, sending)
        seconds = time.perf_counter() - started
        if self._metrics is not None:
            route = metrics_routes.route_of(scope)
            self._metrics.request_answered(route, scope["method"], status, seconds)
        if path in health_routes.PATHS:  # a load balancer's probes, every few seconds
            return
        access_log.info("%s %s %s %.0fms", scope["method"], shown, status, seconds * 1000)


def _refused(request: Request) -> Response | None:
    """The answer to a request no route can read: a query string that is not UTF-8 (as raw
    bytes, not percent-escaped: no client sends one, and Starlette cannot read it), or a path
    that names nothing (``NO_NAME``)."""
    try:
        request.scope["query_string"].decode()
    except UnicodeDecodeError:
        said = "the query string is not UTF-8"
        if request.scope["path"].startswith(PREFIX):
            return problems.problem(problems.INVALID, said)
        return PlainTextResponse(f"Bad request: {said}", status_code=400)
    if NO_NAME.search(request.scope["path"]):
        return _not_found(request, NotFound("no such page"))
    return None


def _not_found(request: Request, exc: NotFound) -> Response:
    if request.scope["path"].startswith(PREFIX):
        return problems.problem(problems.NOT_FOUND, exc.message)
    if request.scope["path"].startswith("/cabinet") or _in_console(request):
        return _error_page(request, 404, N_("Not found."))
    return error_page(request, exc, status=404)


def _in_console(request: Request) -> bool:
    path: str = request.scope["path"]
    return path == CONSOLE or path.startswith(f"{CONSOLE}/")


def _error_page(request: Request, status: int, message: str) -> Response:
    """The error page of the console (in English) or of the Personal Account (in its user's
    language), by the request's path; ``message`` is the domain's, said as a sentence."""
    if _in_console(request):
        said = Words(Language.EN).sentence(message)
        return console_views.render(request, "error.html", status=status, message=said)
    said = words(request).sentence(message)
    return render(request, "error.html", status=status, message=said)
