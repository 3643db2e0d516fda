"""``Idempotency-Key`` on the JSON API's POSTs (``services/idempotency.py``), as ASGI
middleware around its routes: the first request with a key runs and its answer is kept;
the same key with the same request gets that answer again (``Idempotent-Replayed: true``),
with another request 422; one sent while the first is being answered waits up to ``WAIT``
seconds for its answer, then gets 409."""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ips.domain.errors import AuthenticationFailed, DomainError
from ips.domain.idempotency import KeyInFlight, Remembered, check_key, fingerprint
from ips.services import idempotency
from ips.services.api_keys import key_holder
from ips.services.unit_of_work import UnitOfWorkFactory
from ips.web.api import problems
from ips.web.services import Services

WAIT = 5.0
"""Seconds a request waits for the answer to the same key's request in flight."""
POLL = 0.05


class Idempotent:
    def __init__(self, app: ASGIApp, services: Services | None) -> None:
        self._app = app
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self._app(scope, receive, send)
            return
        assert self._services is not None
        factory = self._services.uow_factory
        body = await _body(receive)
        again = _replaying(body)
        try:
            check_key(key)
            holder = await key_holder(headers.get("authorization", ""), factory)
        except AuthenticationFailed:
            await self._app(scope, again, send)  # the route says why
            return
        except DomainError as exc:
            await problems.of_error(exc)(scope, again, send)
            return
        scope.setdefault("state", {})["key_holder"] = holder
        merchant_id = holder.merchant_id
        named = fingerprint("POST", scope["path"], body)
        try:
            kept = await _begin(factory, merchant_id, key, named)
        except DomainError as exc:
            await problems.of_error(exc)(scope, again, send)
            return
        if kept is not None:
            assert kept.status is not None
            replay = Response(
                kept.body or "",
                kept.status,
                headers={"Idempotent-Replayed": "true"},
                media_type=problems.MEDIA_TYPE if kept.status >= 400 else "application/json",
            )
            await replay(scope, again, send)
            return
        answered: list[Message] = []

        async def keeping(message: Message) -> None:
            answered.append(message)

        try:
            await self._app(scope, again, keeping)
        except BaseException:
            await idempotency.answer(factory, merchant_id, key, 500, "")
            raise
        status = next(m["status"] for m in answered if m["type"] == "http.response.start")
        text = b"".join(m.get("body", b"") for m in answered if m["type"] == "http.response.body")
        await idempotency.answer(factory, merchant_id, key, status, text.decode())
        for message in answered:
            await send(message)


async def _begin(
    factory: UnitOfWorkFactory, merchant_id: str, key: str, named: str
) -> Remembered | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        try:
            return await idempotency.begin(factory, merchant_id, key, named)
        except KeyInFlight:
            if loop.time() >= deadline:
                raise
        await asyncio.sleep(POLL)


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    """A ``receive`` that gives the body read already, then waits as a connection does."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    return receive
