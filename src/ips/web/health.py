"""``GET /health/live`` and ``GET /health/ready``, for load balancers and process managers.

``live``: the process answers. ``ready``: it can do its work now (``services.health``) — 200
``{"status": "ready", "checks": {...}}``, else 503 with ``"status": "not ready"`` and the
same checks. Both take HEAD too; neither is written to the access log. An app made without
a node's ``Health`` (in tests) has no readiness to tell, and no ``ready`` route.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.responses import JSONResponse

from ips.services.health import Health
from ips.web import metrics

PATHS = frozenset({"/health/live", "/health/ready"})

_NO_STORE = {"Cache-Control": "no-store"}


def router(health: Health | None) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.api_route("/health/live", methods=["GET", "HEAD"])
    async def live() -> JSONResponse:
        return JSONResponse({"status": "live"}, headers=_NO_STORE)

    if health is None:
        return routes

    @routes.api_route("/health/ready", methods=["GET", "HEAD"])
    async def ready() -> JSONResponse:
        readiness = await health.readiness()
        return JSONResponse(
            {"status": "ready" if readiness.ready else "not ready", "checks": readiness.checks},
            200 if readiness.ready else 503,
            _NO_STORE,
        )

    return routes


def health_app(health: Health, scrapes: metrics.Scrapes | None = None) -> FastAPI:
    """The health routes, and ``/metrics``: what ``ips worker --health-port`` serves."""
    app = FastAPI(title="IPS worker", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router(health))
    app.include_router(metrics.router(scrapes))
    return app
