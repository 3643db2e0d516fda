"""A merchant's webhook endpoint on a real TCP port, and the verification recipe of
``docs/json-api.md`` (*Verifying a webhook*) taken from the page itself, so the tests check
what an integrator copies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.processes import free_port
from tests.shop import serve

DOCS = Path(__file__).parents[1] / "docs" / "json-api.md"


def documented_verify() -> Callable[..., bool]:
    """The ``verify`` function of the page's *Webhooks* section, as written there."""
    section = DOCS.read_text().split("## Webhooks", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "docs/json-api.md shows no Python recipe under ## Webhooks"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOCS), "exec"), namespace)  # noqa: S102 — our own docs
    return cast(Callable[..., bool], namespace["verify"])


verify = documented_verify()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(self.body))

    @property
    def signatures(self) -> list[str]:
        return self.headers["webhook-signature"].split()


@dataclass
class Receiver:
    """Answers each webhook with ``status``; keeps what it received, as received."""

    port: int = field(default_factory=free_port)
    status: int = 204
    received: list[Received] = field(default_factory=list)
    _stop: Callable[[], Any] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ips/webhooks"

    def types(self) -> list[str]:
        return [r.event["type"] for r in self.received]

    async def _hook(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Received(headers, await request.body()))
        return Response(status_code=self.status)

    async def open(self) -> None:
        app = Starlette(routes=[Route("/ips/webhooks", self._hook, methods=["POST"])])
        self._stop = await serve(app, self.port)

    async def close(self) -> None:
        if self._stop is not None:
            await self._stop()
            self._stop = None
