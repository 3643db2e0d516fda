"""The HTTP side of payment notifications: a form POST to the shop's URL."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from ips.services.notifications import NotDelivered, Reply

TIMEOUT_S = 10.0
ANSWER_BYTES = 64 * 1024


class HttpCallbackSender:
    """Posts notifications; follows no redirect, so nothing reaches another address."""

    def __init__(self, timeout: float = TIMEOUT_S) -> None:
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, headers={"User-Agent": "IPS notifications"}
        )

    async def post(self, url: str, fields: Mapping[str, str]) -> Reply:
        try:
            async with self._client.stream("POST", url, data=dict(fields)) as response:
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= ANSWER_BYTES:
                        break
        except httpx.HTTPError as exc:
            raise NotDelivered(f"{type(exc).__name__}: {exc}") from None
        return Reply(response.status_code, body.decode(response.encoding or "utf-8", "replace"))

    async def close(self) -> None:
        await self._client.aclose()
