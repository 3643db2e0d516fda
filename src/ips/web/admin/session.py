"""Who is signed in to the operator console, and the checks every route makes.

The console's session is its own, apart from the Personal Account's: its own table and its
own ``__Host-`` cookie (``Secure``, ``HttpOnly``, ``SameSite=Strict``: not even a link from
another site brings it along), so a shop's user is nobody here and an operator nobody in
``/cabinet``. Every form carries the session's CSRF token (the sign-in form, before there is
a session, a signed form token bound to the browser), and a form without the right one
changes nothing.

A route takes the signed-in operator as ``signed: Console``; without a live session the
browser is sent to sign in (and back after), and ``may_act``/``may_administer`` answer 403
to a role that may not. A change a route makes names its operator to the audit trail as
``actor(request, signed)``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from ips.domain.audit import Actor
from ips.domain.users import LONGEST
from ips.services import operators
from ips.services.operators import SignedOperator
from ips.web.cabinet import session as cabinet
from ips.web.params import client_ip
from ips.web.services import AppServices

PREFIX = "/admin"
HOME = PREFIX
COOKIE = "__Host-ips-admin"
LOGIN_FORM = "admin-sign-in"
"""The subject of the sign-in form's token."""


class SignInNeeded(cabinet.SignInNeeded):
    """No live console session: the browser is sent to the console's sign-in page."""

    def sign_in_url(self) -> str:
        return f"{PREFIX}/login?" + urlencode({"next": self.back_to})


NotAllowed = cabinet.NotAllowed
"""The operator's role does not allow this (answered 403)."""
ExpiredForm = cabinet.ExpiredForm
"""The form's CSRF token is missing or not the session's (answered 403)."""


async def _signed(request: Request, services: AppServices) -> SignedOperator:
    signed = await operators.signed_in(
        request.cookies.get(COOKIE, ""), services.uow_factory, services.gateway.clock
    )
    if signed is None:
        raise SignInNeeded(cabinet.back_to(request, HOME))
    return signed


Console = Annotated[SignedOperator, Depends(_signed)]
"""The signed-in operator, as a route's parameter (``signed: Console``)."""


async def posted(request: Request, signed: SignedOperator) -> dict[str, str]:
    """The form a signed-in operator sent, when it carries the session's CSRF token."""
    return await cabinet.form_of(request, signed.session)


def actor(request: Request, signed: SignedOperator) -> Actor:
    """The signed-in operator as the audit trail names it (``services.audit.note``)."""
    return signed.actor(client_ip(request))


def may_act(signed: SignedOperator) -> None:
    """Refuses a viewer: only an operator or an administrator acts (sends again…)."""
    if not signed.role.may_act:
        raise NotAllowed("your role may only read")


def may_administer(signed: SignedOperator) -> None:
    """Refuses all but an administrator (merchants, acquirers)."""
    if not signed.role.may_administer:
        raise NotAllowed("only an administrator may do this")


def safe_next(value: str) -> str:
    """Where to go after signing in: a page of the console, nothing else."""
    inside = value == PREFIX or value.startswith((f"{PREFIX}/", f"{PREFIX}?"))
    if inside and "\\" not in value and not value.startswith(f"{PREFIX}/login"):
        return value
    return HOME


def keep_session(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LONGEST.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


def forget_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
