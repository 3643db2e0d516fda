"""Rendering of the Personal Account's pages (in English: it is the shop staff's tool)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ips.domain.money import Money
from ips.domain.orders import Language
from ips.services.accounts import Signed
from ips.web.pages import i18n

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False  # compiled once: no stat of the file on every render


def money(value: Money | None) -> str:
    return i18n.amount(value, Language.EN) if value is not None else ""


def moment(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}" if at else ""


templates.env.filters["money"] = money
templates.env.filters["moment"] = moment


def render(
    request: Request,
    template: str,
    signed: Signed | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    context |= {
        "signed": signed,
        "csrf": signed.session.csrf_token if signed else "",
        "nonce": getattr(request.state, "csp_nonce", ""),
    }
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
