"""Signing in and out of the Personal Account, the user's own password, and the language of
its pages."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import DomainError, LoginLocked
from ips.services import accounts
from ips.web import i18n
from ips.web.browser import browser, sent_from_this_browser
from ips.web.cabinet.session import (
    LOGIN_FORM,
    CabinetUser,
    forget_session,
    keep_session,
    posted,
    safe_next,
)
from ips.web.cabinet.views import remember_language, render, see_other, words
from ips.web.params import client_ip, read_params
from ips.web.services import AppServices

router = APIRouter(prefix="/cabinet")


@router.get("")
async def home() -> Response:
    return see_other("/cabinet/orders")


@router.get("/language")
async def choose_language(request: Request) -> Response:
    """The user's choice of language (``?lang=ru``), remembered in this browser, and back to
    the page it was made on (``next``)."""
    response = see_other(safe_next(request.query_params.get("next", "")))
    language = i18n.chosen(request.query_params.get("lang", ""))
    if language is not None:
        remember_language(response, language)
    return response


@router.get("/login")
async def login_page(request: Request, services: AppServices) -> Response:
    return _login_form(request, services)


def _login_form(
    request: Request, services: AppServices, error: str = "", status: int = 200, login: str = ""
) -> Response:
    """The sign-in form, its token bound to this browser (``web/browser.py``): a form fetched
    elsewhere cannot sign this browser in to someone else's account."""
    here = browser(request)
    response = render(
        request,
        "login.html",
        status=status,
        token=here.token(services.tokens, LOGIN_FORM),
        next=safe_next(request.query_params.get("next", "")),
        error=error,
        login=login,
    )
    return here.remember(request, response)


@router.post("/login")
async def login(request: Request, services: AppServices) -> Response:
    form = await read_params(request)
    login = form.get("login", "")
    said = words(request)
    if not sent_from_this_browser(request, services.tokens, LOGIN_FORM, form.get("token", "")):
        expired = said.gettext("The page has expired: sign in again.")
        return _login_form(request, services, expired, 400, login)
    try:
        _, token = await accounts.sign_in(
            login, form.get("password", ""), services.uow_factory, services.gateway.clock,
            source=client_ip(request),
        )  # fmt: skip
    except LoginLocked:
        locked = said.gettext("Too many failed sign-ins: the account is locked for 30 minutes.")
        return _login_form(request, services, locked, 429, login)
    except DomainError:
        wrong = said.gettext("Wrong login or password.")
        return _login_form(request, services, wrong, 401, login)
    response = see_other(safe_next(form.get("next", "")))
    keep_session(response, token)
    return response


@router.post("/logout")
async def logout(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    await posted(request, signed)
    await accounts.sign_out(signed, services.uow_factory)
    response = see_other("/cabinet/login")
    forget_session(response)
    return response


@router.get("/password")
async def password_page(request: Request, signed: CabinetUser) -> Response:
    return render(request, "password.html", signed, error="", done=False)


@router.post("/password")
async def change_password(request: Request, signed: CabinetUser, services: AppServices) -> Response:
    form = await posted(request, signed)
    if form.get("new", "") != form.get("repeat", ""):
        error = words(request).gettext("The new password and its repetition differ.")
        return render(request, "password.html", signed, status=400, error=error, done=False)
    try:
        await accounts.change_password(
            signed, form.get("current", ""), form.get("new", ""), services.uow_factory,
            services.gateway.clock, source=client_ip(request),
        )  # fmt: skip
    except DomainError as exc:
        error = words(request).sentence(exc.message)
        return render(request, "password.html", signed, status=400, error=error, done=False)
    return render(request, "password.html", signed, error="", done=True)
