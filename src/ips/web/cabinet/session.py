"""Who is signed in to the Personal Account, and the checks every route makes.

The session token lives in a ``__Host-`` cookie: ``Secure``, ``HttpOnly``, ``SameSite=Lax``,
for the whole host and no other. Every form carries the session's CSRF token (the sign-in
form, before there is a session, a signed form token), and a form without the right one
changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Protocol
from urllib.parse import urlencode

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.audit import Actor, ActorKind
from ips.domain.errors import DomainError
from ips.domain.users import LONGEST
from ips.services import accounts
from ips.services.accounts import Signed
from ips.web.params import client_ip, read_params
from ips.web.services import AppServices

COOKIE = "__Host-ips-session"
LOGIN_FORM = "cabinet-sign-in"
"""The subject of the sign-in form's token."""


class SignInNeeded(Exception):
    """No live session: the browser is sent to the sign-in page, and back here after."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to

    def sign_in_url(self) -> str:
        return "/cabinet/login?" + urlencode({"next": self.back_to})


class NotAllowed(DomainError):
    """The user's role does not allow this."""


class ExpiredForm(DomainError):
    """The form's CSRF token is missing or not the session's."""


async def _signed(request: Request, services: AppServices) -> Signed:
    signed = await accounts.signed_in(
        request.cookies.get(COOKIE, ""), services.uow_factory, services.gateway.clock
    )
    if signed is None:
        raise SignInNeeded(back_to(request, "/cabinet/orders"))
    return signed


def back_to(request: Request, home: str) -> str:
    """Where signing in brings the browser back: the page it asked for, or ``home`` when it
    sent a form."""
    if request.method != "GET":
        return home
    return f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path


CabinetUser = Annotated[Signed, Depends(_signed)]


async def posted(request: Request, signed: Signed) -> dict[str, str]:
    """The form a signed-in user sent, when it carries the session's CSRF token."""
    return await form_of(request, signed.session)


class _Guarded(Protocol):
    def csrf_ok(self, token: str) -> bool: ...


async def form_of(request: Request, session: _Guarded) -> dict[str, str]:
    """The form sent, when it carries ``session``'s CSRF token."""
    form = await read_params(request)
    if not session.csrf_ok(form.get("csrf", "")):
        raise ExpiredForm("the form has expired: open the page again and repeat")
    return form


def acting(request: Request, signed: Signed) -> Actor:
    """The signed-in user as the audit trail names who changed something, and from where."""
    return Actor(ActorKind.USER, signed.user.login, client_ip(request), signed.merchant.merchant_id)


def may_act(signed: Signed) -> None:
    if not signed.user.role.may_act:
        raise NotAllowed("your role may only read orders")


def may_administer(signed: Signed) -> None:
    if not signed.user.role.may_administer:
        raise NotAllowed("only an administrator may do this")


def safe_next(value: str) -> str:
    """Where to go after signing in: a page of the Personal Account, nothing else."""
    if value.startswith("/cabinet") and not value.startswith("//") and "\\" not in value:
        return value
    return "/cabinet/orders"


def keep_session(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LONGEST.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def forget_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="lax")
