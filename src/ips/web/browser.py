"""The browser a page was shown to: a random id in a cookie, which the page's form token is
bound to, so that a form sent from elsewhere — another site's page, another browser — cannot
act for this one.

Over HTTPS the cookie is ``__Host-`` prefixed and ``Secure`` (no other site or subdomain, and
no plain-HTTP answer, can set it); over plain HTTP, which only a development setup serves
(``Strict-Transport-Security`` keeps browsers off it otherwise), it has to go without both.
Either way it is ``HttpOnly`` and ``SameSite=Lax``: it rides along when the issuer's or the
wallet's page sends the buyer back, and never with another site's form post.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ips.crypto.tokens import FormTokens

SECURE_COOKIE = "__Host-ips-browser"
PLAIN_COOKIE = "ips-browser"


def _cookie(request: Request) -> str:
    return SECURE_COOKIE if request.url.scheme == "https" else PLAIN_COOKIE


@dataclass(frozen=True)
class Browser:
    id: str
    new: bool
    """Not known yet: the answer must set its cookie (``remember``)."""

    def token(self, tokens: FormTokens, subject: str) -> str:
        return tokens.issue(f"{subject}:{self.id}")

    def remember(self, request: Request, response: Response) -> Response:
        if self.new:
            response.set_cookie(
                _cookie(request),
                self.id,
                path="/",
                secure=request.url.scheme == "https",
                httponly=True,
                samesite="lax",
            )
        return response


def browser(request: Request) -> Browser:
    """The browser asking: known by its cookie, or a new one."""
    known = request.cookies.get(_cookie(request), "")
    return Browser(known, False) if known else Browser(secrets.token_urlsafe(24), True)


def sent_from_this_browser(request: Request, tokens: FormTokens, subject: str, token: str) -> bool:
    """Whether ``token`` was issued for ``subject`` to the browser sending it."""
    known = request.cookies.get(_cookie(request), "")
    return bool(known) and tokens.valid(f"{subject}:{known}", token)
