"""Reading requests and making answers on the simulator's HTTP side (``web``).

Bodies are read up to ``MAX_BODY`` bytes (a route may allow more). A JSON API answers a bad
request with ``{"error": "..."}`` (``Refused``); a page answers with HTML whose
Content-Security-Policy allows no script and nothing from elsewhere, and no frame around it.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from demobank.money import Currency, UnknownCurrency, currency
from paywire.messages import MAX_AMOUNT

MAX_BODY = 16 * 1024
MAX_URL = 2000

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cache-Control": "no-store",
}
"""Every answer carries these unless it sets its own (pages set their CSP)."""

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)

_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Refused(Exception):
    """A request the API does not take: answered ``status`` with ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, at most ``limit`` bytes; a caller gone before all of it came is refused like
    a bad request (no one reads the answer), not counted as the simulator's failure."""
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, f"the body is larger than {limit} bytes")
    except ClientDisconnect:
        raise Refused(400, "the caller went away before its request was read") from None
    return bytes(body)


async def json_object(request: Request, limit: int = MAX_BODY) -> dict[str, object]:
    """The JSON object of the request's body (of at most ``limit`` bytes)."""
    try:
        data = json.loads(await _body(request, limit))
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the body is not a JSON object")
    return data


async def form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form (the first value of each)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused(415, "the form must be application/x-www-form-urlencoded")
    try:
        fields = urllib.parse.parse_qs(
            (await _body(request)).decode(), keep_blank_values=True, max_num_fields=20
        )
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the form cannot be read") from None
    return {name: values[0] for name, values in fields.items()}


def text(data: Mapping[str, object], name: str, max_length: int, *, empty: bool = False) -> str:
    value = data.get(name)
    if not isinstance(value, str) or len(value) > max_length or (not value and not empty):
        raise Refused(400, f"{name} is a string of {0 if empty else 1} to {max_length} characters")
    if _CONTROL.search(value):
        raise Refused(400, f"{name} holds control characters (line breaks, tabs…)")
    if _SURROGATE.search(value):
        raise Refused(400, f"{name} holds a lone surrogate, which is no Unicode text")
    return value


def token(data: Mapping[str, object], name: str, max_length: int) -> str:
    """A text of printable ASCII without spaces: ids and references."""
    value = text(data, name, max_length)
    if not _PRINTABLE.fullmatch(value):
        raise Refused(400, f"{name} is printable ASCII without spaces")
    return value


def amount(data: Mapping[str, object], name: str = "amount") -> int:
    """A positive integer of minor units that fits a processing center."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_AMOUNT:
        raise Refused(400, f"{name} is a whole number of minor units, 1 to {MAX_AMOUNT}")
    return value


def currency_code(data: Mapping[str, object], name: str = "currency") -> Currency:
    value = data.get(name)
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise Refused(400, f"{name} is an ISO 4217 letter code such as RUB")
    try:
        return currency(value)
    except UnknownCurrency:
        raise Refused(400, f"{name} {value} is not a currency the simulator knows") from None


def return_url(data: Mapping[str, object], name: str = "return_url") -> str:
    """An absolute ``http``/``https`` URL without credentials, where a browser is sent back."""
    value = text(data, name, MAX_URL)
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:  # a bracketed host that is not closed
        raise Refused(400, f"{name} is an absolute http or https URL") from None
    if (
        parts.scheme not in ("http", "https")
        or not _HOST.fullmatch(parts.netloc)
        or not _PRINTABLE.fullmatch(value)
    ):
        raise Refused(400, f"{name} is an absolute http or https URL")
    return value


def with_parameter(url: str, name: str, value: str) -> str:
    """``url`` with ``name=value`` added to its query string (before any fragment)."""
    parts = urllib.parse.urlsplit(url)
    added = urllib.parse.urlencode({name: value})
    query = f"{parts.query}&{added}" if parts.query else added
    return urllib.parse.urlunsplit(parts._replace(query=query))


def answer(data: Mapping[str, object], status: int = 200) -> JSONResponse:
    return JSONResponse(dict(data), status_code=status)


def refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def page(html: str, *, status: int = 200) -> HTMLResponse:
    """A page of the issuer or the wallet. Its forms post to the simulator, which redirects
    the buyer to the return URL and IPS on to the shop: like a real issuer's page it cannot
    know where that chain ends, so it sets no ``form-action`` (Chromium checks every redirect
    of a form submission against it)."""
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_CSP})


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
