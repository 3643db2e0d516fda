"""A JSON API over HTTP, as the 3-D Secure and wallet clients talk to theirs: every request
waits at most ``timeout`` seconds and follows no redirect; a transport error, a timeout, an
answer other than 2xx and a body that is not a JSON object all raise ``NoAnswer``."""

from __future__ import annotations

import logging

import httpx

from ips.processing.port import NoAnswer

log = logging.getLogger(__name__)


class JsonApi:
    def __init__(
        self,
        name: str,
        base_url: str,
        timeout: float,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._name = name
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": f"IPS ({name})"},
        )

    async def exchange(
        self, method: str, path: str, body: dict[str, object] | None = None
    ) -> dict[str, object]:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise NoAnswer(f"the {self._name} did not answer: {type(exc).__name__}") from None
        log.debug("%s %s %s: %s", self._name, method, path, response.status_code)
        if not response.is_success:
            raise NoAnswer(f"the {self._name} answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise NoAnswer(f"the {self._name}'s answer is not JSON") from None
        if not isinstance(data, dict):
            raise NoAnswer(f"the {self._name}'s answer is not a JSON object")
        return data

    async def close(self) -> None:
        await self._client.aclose()
