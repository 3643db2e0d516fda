"""Request parameters the Assist way: query string and form body together, names
case-insensitive (``Merchant_ID``, ``merchant_id`` and ``MERCHANT_ID`` are one parameter)."""

from __future__ import annotations

from starlette.requests import Request

from ips.domain.errors import InvalidInput


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
        params.setdefault(key.lower(), value)
    return params


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
