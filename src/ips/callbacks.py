"""The HTTP side of payment notifications and webhooks: a form POST (a notification) or a
signed JSON POST (a webhook) to the shop's URL, sent to an address checked at the time of
sending.

Each notification looks the shop's host up anew (``netguard.checked_addresses``); every
address found must be public or in a network the operator allowed, else nothing is sent.
The request then goes to the checked addresses themselves, in the resolver's order, until
one takes the connection: the HTTP client is given an address, never the name, so it cannot
look the name up again and get another answer (DNS rebinding). The request still speaks to
the name: in ``Host`` and, for https, as the TLS server name the certificate is checked
against. Connections are not kept between notifications — httpx would pool them by address,
and a connection whose certificate was checked for one shop's name must not carry another's
notification. No proxy from the environment is used (it would look the name up itself), and
no redirect is followed.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ips.domain.addresses import Network
from ips.netguard import (
    AddressPolicy,
    AddressRefused,
    NotResolved,
    Resolver,
    checked_addresses,
    system_resolver,
)
from ips.services.notifications import NotDelivered, Reply

TIMEOUT_S = 10.0
ANSWER_BYTES = 64 * 1024


class HttpCallbackSender:
    """Posts notifications to the allowed addresses of the shop's host: public ones, and those
    in ``networks``."""

    def __init__(
        self,
        timeout: float = TIMEOUT_S,
        *,
        networks: Iterable[Network] = (),
        resolve: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._policy = AddressPolicy(tuple(networks))
        self._resolve = resolve
        self._timeout = timeout
        transport = httpx.AsyncHTTPTransport(
            verify=verify, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "IPS notifications"},
        )

    async def post(self, url: str, fields: Mapping[str, str]) -> Reply:
        """A notification: the fields as a form."""
        return await self._send(url, {"data": dict(fields)})

    async def post_json(self, url: str, body: str, headers: Mapping[str, str]) -> Reply:
        """A webhook: ``body``, JSON already, with its signature's ``headers``."""
        headers = {**headers, "Content-Type": "application/json", "User-Agent": "IPS webhooks"}
        return await self._send(url, {"content": body.encode(), "headers": headers})

    async def _send(self, url: str, request: dict[str, Any]) -> Reply:
        try:
            target = httpx.URL(url)
            host = target.raw_host.decode("ascii")
            addresses = await checked_addresses(host, self._policy, self._resolve, self._timeout)
        except (httpx.InvalidURL, AddressRefused, NotResolved) as exc:
            raise NotDelivered(str(exc)) from None
        failure: httpx.HTTPError | None = None
        for address in addresses:
            try:
                return await self._post(target, str(address), request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc  # nothing was sent: the next address may take it
            except httpx.HTTPError as exc:
                raise NotDelivered(f"{type(exc).__name__}: {exc}") from None
        tried = ", ".join(map(str, addresses))
        raise NotDelivered(f"{type(failure).__name__}: {failure} (at {tried})")

    async def _post(self, target: httpx.URL, address: str, request: dict[str, Any]) -> Reply:
        request = dict(request)
        headers = {**request.pop("headers", {}), "Host": target.netloc.decode("ascii")}
        async with self._client.stream(
            "POST",
            target.copy_with(host=address),
            headers=headers,
            extensions={"sni_hostname": target.raw_host.decode("ascii")},
            **request,
        ) as response:
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= ANSWER_BYTES:
                    break
        return Reply(response.status_code, body.decode(response.encoding or "utf-8", "replace"))

    async def close(self) -> None:
        await self._client.aclose()
