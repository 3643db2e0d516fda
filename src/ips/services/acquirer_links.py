"""The acquirers as this node reaches them: each one's settings and rules beside the state of
this node's link to its processing center — what the operator console's Acquirers page shows.

The state is this node's own: each node keeps its own links (``gateway.Links``, kept by
``bootstrap``), so another node may be signed on where this one is not. A link is *signed on*
while its connection is open and was accepted; *not signed on* when it is closed (the next
request, or the echo, opens it again); *not connected* when this node has no link to the
acquirer at all — it could not lease a terminal or reach it at its last look, or it was
added since (``acquirers.REFRESH``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ips.domain.acquirers import DEFAULT_ACQUIRER, Acquirer
from ips.domain.errors import NotFound
from ips.processing.port import ProcessingCenter
from ips.services.acquirers import get_acquirer, list_acquirers
from ips.services.gateway import Gateway


class LinkState(enum.Enum):
    SIGNED_ON = "signed on"
    NOT_SIGNED_ON = "not signed on"
    NOT_CONNECTED = "not connected"
    UNKNOWN = "unknown"
    """A processing center that does not tell (a test's fake)."""


@runtime_checkable
class _Telling(Protocol):
    """What a processing-center client tells of its link (``Iso8583ProcessingCenter``)."""

    @property
    def signed_on(self) -> bool: ...

    @property
    def address(self) -> str: ...


@dataclass(frozen=True)
class AcquirerLink:
    acquirer: Acquirer
    state: LinkState
    terminal_id: str = ""
    """The terminal this node signs on to it as; empty when not connected."""
    address: str = ""
    """Where this node's link opens to; empty when not connected."""

    @property
    def is_default(self) -> bool:
        return self.acquirer.name == DEFAULT_ACQUIRER


async def acquirer_links(gateway: Gateway) -> list[AcquirerLink]:
    """The default acquirer (the settings') first, then those the operator added, by name."""
    added = await list_acquirers(gateway.uow_factory)
    return [_default(gateway), *(_link(acquirer, gateway) for acquirer in added)]


async def acquirer_link(name: str, gateway: Gateway) -> AcquirerLink:
    if name == DEFAULT_ACQUIRER:
        return _default(gateway)
    try:
        acquirer = await get_acquirer(name, gateway.uow_factory)
    except NotFound:
        raise NotFound(f"no acquirer {name}", field="acquirer") from None
    return _link(acquirer, gateway)


def _default(gateway: Gateway) -> AcquirerLink:
    processing = gateway.processing
    address = processing.address if isinstance(processing, _Telling) else ""
    acquirer = Acquirer(
        DEFAULT_ACQUIRER, processing=address, terminal_id=gateway.terminal.id, rules=gateway.rules
    )
    return AcquirerLink(acquirer, _state(processing), gateway.terminal.id, address)


def _link(acquirer: Acquirer, gateway: Gateway) -> AcquirerLink:
    link = gateway.links.get(acquirer.name)
    if link is None:
        return AcquirerLink(acquirer, LinkState.NOT_CONNECTED)
    processing = link.processing
    address = processing.address if isinstance(processing, _Telling) else acquirer.processing
    return AcquirerLink(acquirer, _state(processing), link.terminal.id, address)


def _state(processing: ProcessingCenter) -> LinkState:
    if not isinstance(processing, _Telling):
        return LinkState.UNKNOWN
    return LinkState.SIGNED_ON if processing.signed_on else LinkState.NOT_SIGNED_ON
