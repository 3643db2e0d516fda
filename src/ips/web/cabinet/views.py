"""Rendering of the Personal Account's pages, in its user's language.

The language is the one the user chose with the switch every page carries, remembered in
this browser (``ips-lang``, a display preference: it grants nothing, so a plain link may set
it); else the browser's (``Accept-Language``); else English.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ips.domain.orders import Language, PaymentMeans
from ips.domain.states import OrderState
from ips.services.accounts import Signed
from ips.web import i18n
from ips.web.i18n import Words

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.auto_reload = False  # compiled once: no stat of the file on every render
i18n.install(templates.env)
templates.env.globals |= {
    "order_states": [
        OrderState.IN_PROCESS, OrderState.DELAYED, OrderState.PARTIAL_DELAYED,
        OrderState.APPROVED, OrderState.PARTIAL_CANCELED, OrderState.CANCELED,
        OrderState.DECLINED, OrderState.TIMEOUT,
    ],
    "filter_means": [PaymentMeans.CARD, PaymentMeans.WALLET],
}  # fmt: skip

LANGUAGE_COOKIE = "ips-lang"
REMEMBERED = timedelta(days=365)


def language_of(request: Request) -> Language:
    remembered = i18n.chosen(request.cookies.get(LANGUAGE_COOKIE, ""))
    if remembered is not None:
        return remembered
    return i18n.preferred(request.headers.get("accept-language", "")) or i18n.EN


def words(request: Request) -> Words:
    """The words of the request's page."""
    return Words(language_of(request))


def remember_language(response: Response, language: Language) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE,
        language.value.lower(),
        max_age=int(REMEMBERED.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def render(
    request: Request,
    template: str,
    signed: Signed | None = None,
    status: int = 200,
    here: str = "",
    **context: Any,
) -> Response:
    """The page; ``here``: where the language switch comes back to, when it is not the page's
    own address (a form's answer, whose address takes no GET)."""
    language = language_of(request)
    context |= i18n.context(language) | {
        "signed": signed,
        "csrf": signed.session.csrf_token if signed else "",
        "nonce": getattr(request.state, "csp_nonce", ""),
        "language_switch": _switch(request, language, here),
    }
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = language.value.lower()
    return response


def _switch(request: Request, language: Language, here: str) -> str:
    """The address of the switch to the other language, back to this page after."""
    if not here:
        here = request.url.path
        if request.method == "GET" and request.url.query:
            here += f"?{request.url.query}"
    other = i18n.EN if language is i18n.RU else i18n.RU
    return "/cabinet/language?" + urlencode({"lang": other.value.lower(), "next": here})


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
