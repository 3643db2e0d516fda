"""The operator console (``/admin``), for the operator's own staff: its routes, by what they
are for. A part is a module of this package with a ``router`` (``APIRouter(prefix=PREFIX)``);
adding one is adding its name to ``PARTS``, a line of its own."""

from __future__ import annotations

from importlib import import_module

from fastapi import APIRouter

PARTS = (
    "account_routes",
    "merchant_routes",
    "acquirer_routes",
    "audit_routes",
    "settlement_routes",
    "reconciliation_routes",
    "attention_routes",
    "order_routes",
)  # fmt: skip

router = APIRouter()
for name in PARTS:
    router.include_router(import_module(f"{__package__}.{name}").router)
