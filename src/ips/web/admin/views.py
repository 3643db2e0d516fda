"""Rendering of the operator console's pages (in English, as the Personal Account's), with
the Personal Account's filters: ``money`` (an amount with its currency) and ``moment`` (a
time to the second)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ips.services.operators import SignedOperator
from ips.web.cabinet.views import moment, money

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False  # compiled once: no stat of the file on every render
templates.env.filters["money"] = money
templates.env.filters["moment"] = moment


def render(
    request: Request,
    template: str,
    signed: SignedOperator | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    """The page ``template`` (which extends ``base.html``) with ``context``, and beside it
    ``signed``, ``csrf`` (the session's token, for every form that posts) and ``nonce`` (for
    a ``<script nonce="{{ nonce }}">``)."""
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
