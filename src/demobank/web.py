"""The simulator's HTTP side: the issuer's 3-D Secure ACS (``acs_web``), the Demo Wallet
(``wallet_web``), the Demo Points program's API (``loyalty_web``) and the settlement report
(``report``), one Starlette app served by uvicorn beside the ISO 8583 server.

Every answer carries the security headers of ``webio.SECURITY_HEADERS`` (pages their own
Content-Security-Policy); an unknown path or method is answered in JSON
(``{"error": "..."}``), like every refusal of the APIs. The pages load nothing but the
simulator's own stylesheet, and their forms are taken only from the browser they were shown
to (``forms``). No request, whatever its bytes, is answered 5xx.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from demobank import pages, webio
from demobank.acs import Acs
from demobank.acs_web import AcsSite
from demobank.forms import FormGuard
from demobank.loyalty import LoyaltyBooks
from demobank.loyalty_web import LoyaltySite
from demobank.report import ReportSite
from demobank.wallet import WalletBooks
from demobank.wallet_web import Sleep, WalletSite

log = logging.getLogger(__name__)


class SecurityHeaders:
    """ASGI middleware: the security headers on every answer that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in webio.SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self._app(scope, receive, sending)


async def _stylesheet(request: Request) -> Response:
    return Response(
        pages.STYLESHEET,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def _no_icon(request: Request) -> Response:
    """Browsers ask for one; the simulator has none to show."""
    return Response(status_code=204)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, webio.Refused)
    return webio.refusal(exc.status, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return webio.refusal(exc.status_code, str(exc.detail))


async def _failure(request: Request, exc: Exception) -> Response:
    log.error("the simulator failed on %s %s", request.method, request.url.path)
    return webio.refusal(500, "the simulator failed")


def create_app(
    acs: Acs,
    wallet: WalletBooks,
    guard: FormGuard,
    *,
    loyalty: LoyaltyBooks,
    sleep: Sleep = asyncio.sleep,
    report: ReportSite | None = None,
) -> ASGIApp:
    """The ASGI app of the ACS, the wallet and the points program, on their books, and of the
    settlement report when given; ``guard`` checks the pages' forms, ``sleep`` keeps a buyer
    waiting after a wrong wallet password."""
    routes = [
        *AcsSite(acs, guard).routes,
        *WalletSite(wallet, guard, sleep).routes,
        *LoyaltySite(loyalty).routes,
        *(report.routes if report is not None else []),
        Route(pages.STYLESHEET_PATH, _stylesheet, methods=["GET"]),
        Route("/favicon.ico", _no_icon, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            webio.Refused: _refused,
            HTTPException: _http_error,
            Exception: _failure,
        },
    )
    return SecurityHeaders(app)


class HttpServer:
    """uvicorn serving ``app`` on (``host``, ``port``) inside the running event loop, without
    taking over its signals: ``await start()`` binds (``port`` then names the bound port),
    ``await stop()`` closes it, letting requests under way finish for up to a second."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        self._server: uvicorn.Server | None = None
        self._sockets: list[socket.socket] = []

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family)
        try:
            self._config.load()
            server = uvicorn.Server(self._config)
            server.lifespan = self._config.lifespan_class(self._config)
            await server.startup(sockets=[sock])
        except BaseException:
            sock.close()
            raise
        self._server, self._sockets = server, [sock]
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        server, sockets = self._server, self._sockets
        if server is None:
            return
        self._server, self._sockets = None, []
        if server.server_state.connections or server.server_state.tasks:
            await server.shutdown(sockets=sockets)
            return
        # Nothing under way: close at once (uvicorn's shutdown always pauses a tenth of a second).
        for listener in server.servers:
            listener.close()
        for sock in sockets:
            sock.close()
        for listener in server.servers:
            await listener.wait_closed()
