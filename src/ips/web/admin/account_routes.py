"""Signing in to and out of the operator console, and its home page."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.errors import AuthenticationFailed, LoginLocked, Refused
from ips.services import operators
from ips.web.admin.session import (
    LOGIN_FORM,
    PREFIX,
    Console,
    forget_session,
    keep_session,
    posted,
    safe_next,
)
from ips.web.admin.views import render, see_other
from ips.web.browser import browser, sent_from_this_browser
from ips.web.params import client_ip, read_params
from ips.web.services import AppServices

router = APIRouter(prefix=PREFIX)


@router.get("")
async def home(request: Request, signed: Console) -> Response:
    return render(request, "home.html", signed)


@router.get("/login")
async def login_page(request: Request, services: AppServices) -> Response:
    return _login_form(request, services)


def _login_form(
    request: Request, services: AppServices, error: str = "", status: int = 200, login: str = ""
) -> Response:
    """The sign-in form, its token bound to this browser (``web/browser.py``): a form fetched
    elsewhere cannot sign this browser in to someone else's session."""
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
    if not sent_from_this_browser(request, services.tokens, LOGIN_FORM, form.get("token", "")):
        return _login_form(request, services, "The page has expired: sign in again.", 400, login)
    try:
        _, token = await operators.sign_in(
            login, form.get("password", ""), form.get("code", ""), services.uow_factory,
            services.gateway.clock, source=client_ip(request),
        )  # fmt: skip
    except LoginLocked:
        locked = "Too many failed sign-ins: the login is locked for 30 minutes."
        return _login_form(request, services, locked, 429, login)
    except AuthenticationFailed as exc:  # wrong login or password, a wrong or missing code
        return _login_form(request, services, _sentence(exc.message), 401, login)
    except Refused as exc:  # a disabled operator
        return _login_form(request, services, _sentence(exc.message), 403, login)
    response = see_other(safe_next(form.get("next", "")))
    keep_session(response, token)
    return response


@router.post("/logout")
async def logout(request: Request, signed: Console, services: AppServices) -> Response:
    await posted(request, signed)
    await operators.sign_out(signed, services.uow_factory)
    response = see_other(f"{PREFIX}/login")
    forget_session(response)
    return response


def _sentence(message: str) -> str:
    return message[0].upper() + message[1:] + "."
