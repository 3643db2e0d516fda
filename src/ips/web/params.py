"""Request parameters the Assist way: query string and body together, names case-insensitive
(``Merchant_ID``, ``merchant_id`` and ``MERCHANT_ID`` are one parameter).

The body is a form (urlencoded or multipart) or, as some shops send it, a JSON object: flat,
or with the credentials nested in a ``merchant`` object. Values that are JSON numbers are read
as the text they were written as; other nested values are ignored, like unknown parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request

from ips.domain.addresses import client_address
from ips.domain.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters other than tab and line breaks: no field of the protocol has them."""

NESTED = "merchant"
"""The one object of a JSON body whose members are parameters too."""


async def read_params(request: Request) -> dict[str, str]:
    """All parameters by lower-case name; the first of repeated ones wins."""
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        items += await _body_items(request)
    params: dict[str, str] = {}
    for key, value in items:
        if _CONTROL.search(value):
            raise InvalidInput(f"{key} contains control characters", field=key.lower())
        params.setdefault(key.lower(), value)
    return params


async def _body_items(request: Request) -> list[tuple[str, str]]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower().endswith("json"):
        return _json_items(await request.body())
    try:
        form = await request.form()
    except Exception as exc:  # a malformed body is the caller's error, not ours
        raise InvalidInput("the request body could not be read as a form") from exc
    return [(key, value) for key, value in form.multi_items() if isinstance(value, str)]


def _json_items(body: bytes) -> list[tuple[str, str]]:
    if not body.strip():
        return []
    try:
        document = json.loads(body, parse_float=str, parse_int=str)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("the request body is not valid JSON") from exc
    if not isinstance(document, dict):
        raise InvalidInput("the request body is not a JSON object")
    members = list(document.items())
    nested = document.get(NESTED)
    if isinstance(nested, dict):
        members += nested.items()
    return list(_scalars(members))


def _scalars(members: Iterable[tuple[str, Any]]) -> Iterable[tuple[str, str]]:
    for key, value in members:
        if isinstance(value, bool):
            yield key, "1" if value else "0"
        elif isinstance(value, str):
            yield key, value


def client_ip(request: Request) -> str:
    """The caller's address, for every route: who connects, or when that is one of the
    operator's trusted proxies (``IPS_TRUSTED_PROXIES``), the client the proxies name in
    ``X-Forwarded-For`` (``addresses.client_address``)."""
    services = request.app.state.services
    proxies = services.trusted_proxies if services is not None else ()
    peer = request.client.host if request.client else ""
    return client_address(peer, request.headers.getlist("x-forwarded-for"), proxies)
