"""Forms bound to the browser that was shown them: the CSRF guard of the simulator's pages.

A page with a form names its browser by a random id in a cookie (set when the page is first
shown: ``HttpOnly``, ``SameSite=Lax``) and carries a token, ``ISSUED.MAC``: ``ISSUED`` the
Unix second it was made, ``MAC`` the HMAC-SHA256 of (form, browser id, ``ISSUED``) under a key
kept in the simulator's store, so tokens outlive a restart. A form is taken when its token is
one of ours, for this form and this browser, and at most ``LIFETIME`` old; another site's page
cannot post one for the buyer (its post comes without the cookie, or with a browser id the
token was not made for).

The cookie is ``__Host-bank-browser`` (``Secure``, host only) where browsers keep a
``Secure`` cookie — over https, and on a loopback host (``localhost``, ``127.0.0.1``, ``::1``)
even over plain http — and ``bank-browser`` elsewhere, so that a test bank served over plain
http on another host still takes its forms. Its name differs from IPS's cookies, which the
browser also sends here when both run on one host (cookies ignore the port).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from demobank.store import Clock

LIFETIME = timedelta(hours=1)
"""How long the form of a page shown is taken."""

STALE = (
    "This form did not come from the page shown to this browser, or that page was open too"
    " long: nothing was changed."
)
"""What a page says when its form came without a good token."""

SECURE_COOKIE = "__Host-bank-browser"
PLAIN_COOKIE = "bank-browser"
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})

_BROWSER = re.compile(r"[A-Za-z0-9_-]{32}")
_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{64})")


@dataclass(frozen=True)
class Browser:
    """The browser a page is shown to: its id, and whether its cookie is still to be set."""

    id: str
    new: bool


class FormGuard:
    """Makes and checks the tokens of the simulator's forms, under ``key``."""

    def __init__(self, key: bytes, clock: Clock) -> None:
        self._key = key
        self._clock = clock

    def browser(self, request: Request) -> Browser:
        """The browser of the request: the id of its cookie, or a new one."""
        known = known_browser(request)
        return Browser(known, False) if known else Browser(secrets.token_urlsafe(24), True)

    def token(self, form: str, browser: Browser) -> str:
        issued = int(self._clock().timestamp())
        return f"{issued}.{self._mac(form, browser.id, issued)}"

    def passes(self, request: Request, form: str, token: str) -> bool:
        """Whether ``token`` was made for ``form`` in the request's browser, and not long ago."""
        browser = known_browser(request)
        found = _TOKEN.fullmatch(token)
        if not browser or found is None:
            return False
        issued = int(found[1])
        age = self._clock().timestamp() - issued
        return 0 <= age <= LIFETIME.total_seconds() and hmac.compare_digest(
            found[2], self._mac(form, browser, issued)
        )

    def _mac(self, form: str, browser: str, issued: int) -> str:
        message = f"{form}\n{browser}\n{issued}".encode(errors="surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def known_browser(request: Request) -> str:
    """The browser id of the request's cookie; ``""`` without one (or a malformed one)."""
    value = request.cookies.get(cookie_name(request), "")
    return value if _BROWSER.fullmatch(value) else ""


def cookie_name(request: Request) -> str:
    secure = request.url.scheme == "https" or request.url.hostname in LOOPBACK
    return SECURE_COOKIE if secure else PLAIN_COOKIE


def keep_browser(response: Response, request: Request, browser: Browser) -> Response:
    """``response``, setting the browser's cookie when it is new."""
    if browser.new:
        name = cookie_name(request)
        response.set_cookie(
            name,
            browser.id,
            path="/",
            secure=name == SECURE_COOKIE,
            httponly=True,
            samesite="lax",
        )
    return response
