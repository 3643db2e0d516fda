"""A shop's notification endpoint on a real TCP port, for the tests of notifications (and
``serve``, which the webhook receiver shares)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.processes import free_port


@dataclass
class Shop:
    """Answers each notification with ``status`` and ``body``; keeps what it received."""

    port: int = field(default_factory=free_port)
    status: int = 200
    body: str = (
        "<?xml version='1.0' encoding='UTF-8'?>\\n<pushpaymentresult firstcode='0' "
        "secondcode='0'><order><billnumber>1</billnumber><packetdate>x</packetdate></order>"
        "</pushpaymentresult>"
    )
    received: list[dict[str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    """The ids of the webhook events posted to ``webhook_url`` (unsigned: not checked here)."""
    _stop: Callable[[], Awaitable[None]] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/assist/notify"

    async def _notify(self, request: Request) -> Response:
        form = await request.form()
        self.received.append({key: str(value) for key, value in form.items()})
        return Response(self.body, status_code=self.status, media_type="text/xml")

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"

    async def _webhook(self, request: Request) -> Response:
        self.events.append(request.headers["webhook-id"])
        return Response(status_code=204)

    async def open(self) -> None:
        app = Starlette(
            routes=[
                Route("/assist/notify", self._notify, methods=["POST"]),
                Route("/webhooks", self._webhook, methods=["POST"]),
            ]
        )
        self._stop = await serve(app, self.port)

    async def close(self) -> None:
        if self._stop is not None:
            await self._stop()
            self._stop = None


async def serve(app: Starlette, port: int) -> Callable[[], Awaitable[None]]:
    """Serves ``app`` on 127.0.0.1:``port`` until the function returned is awaited."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 — uvicorn offers no event to wait on
        await asyncio.sleep(0.01)

    async def stop() -> None:
        server.should_exit = True
        await task

    return stop
