"""Request parameters the Assist way: query string and form body together, names
case-insensitive (``Merchant_ID``, ``merchant_id`` and ``MERCHANT_ID`` are one parameter)."""

from __future__ import annotations

import re

from starlette.requests import Request

from ips.domain.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters other than tab and line breaks: no field of the protocol has them."""


async def read_params(request: Request) -> dict[str, str]:
    """All parameters by lower-case name; the first of repeated ones wins."""
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        try:
            form = await request.form()
        except Exception as exc:  # a malformed body is the caller's error, not ours
            raise InvalidInput("the request body could not be read as a form") from exc
        items += [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    params: dict[str, str] = {}
    for key, value in items:
        if _CONTROL.search(value):
            raise InvalidInput(f"{key} contains control characters", field=key.lower())
        params.setdefault(key.lower(), value)
    return params


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
