"""Rendering of the operator console's pages, in English, with the Personal Account's
machinery (``web/i18n.py``): its filters ``money``, ``moment``, ``number``, ``day``, ``name``
and ``sentence``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ips.domain.orders import Language
from ips.services.operators import SignedOperator
from ips.web import i18n

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False  # compiled once: no stat of the file on every render
i18n.install(templates.env)
ENGLISH = i18n.context(Language.EN)


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
    context |= ENGLISH | {
        "signed": signed,
        "csrf": signed.session.csrf_token if signed else "",
        "nonce": getattr(request.state, "csp_nonce", ""),
    }
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
