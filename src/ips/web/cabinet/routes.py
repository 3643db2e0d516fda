"""The Personal Account (``/cabinet``), for a merchant's staff: its routes, by what they
are for."""

from __future__ import annotations

from fastapi import APIRouter

from ips.web.cabinet import (
    account_routes,
    admin_routes,
    api_key_routes,
    order_routes,
    webhook_routes,
)

router = APIRouter()
for part in (account_routes, order_routes, admin_routes, api_key_routes, webhook_routes):
    router.include_router(part.router)
