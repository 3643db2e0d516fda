"""Acquirers: the banks whose processing centers take IPS's card payments, their rules, and
how a merchant's payments are routed to them.

The default acquirer is the one the settings name (``IPS_PROCESSING``, the rules
``IPS_PROCESSING_*``; the built-in simulator when none is named); the operator adds others
(``ips acquirer add``). A merchant's payments go to the default acquirer unless its routes
say otherwise: one route for all its payments, and optionally one per currency or card brand
(``route``). The acquirer chosen when a payment begins is recorded with the payment and each
of its transactions: whatever follows from an authorization — its confirmations, reversals
and refunds — goes to the acquirer of the authorization, whatever the routes say later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import time

from ips.domain.cards import Brand
from ips.domain.errors import InvalidInput
from ips.domain.money import Currency, currency
from ips.domain.text import is_digits

DEFAULT_ACQUIRER = "default"
"""The name of the acquirer of the settings; no acquirer the operator adds takes it."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
ANY = "*"
"""In a route: any currency, any brand."""


def parse_acquirer_name(text: str) -> str:
    name = text.strip()
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "an acquirer's name is 1 to 32 letters, digits, '.', '_' or '-'", field="acquirer"
        )
    return name


def processing_address(text: str) -> tuple[str, int]:
    """A processing center's address, HOST:PORT."""
    host, _, port = text.strip().rpartition(":")
    if not host or not is_digits(port) or not 0 < int(port) < 65536:
        raise InvalidInput(f"the processing center is HOST:PORT, not {text!r}", field="processing")
    return host, int(port)


def parse_brand(text: str) -> Brand:
    """A card brand by its name as the operator types it: ``MIR``, ``Mir``, ``visa``."""
    wanted = text.strip().casefold()
    for brand in Brand:
        if wanted in (brand.name.casefold(), brand.value.casefold()) and brand is not Brand.UNKNOWN:
            return brand
    names = ", ".join(b.name for b in Brand if b is not Brand.UNKNOWN)
    raise InvalidInput(f"{text!r} is not a card brand ({names})", field="brand")


@dataclass(frozen=True)
class Rules:
    """What an acquirer takes."""

    double_stage: bool = True
    stored_card_double_stage: bool = True
    """Double-stage payments with a stored card (a recurring payment or a kept card with
    ``Delay=1``); some acquirers hold money only while the buyer is present."""
    card_on_file: bool = False
    """A buyer's payment with a kept card without its CVC (the card on file)."""
    require_3ds: bool = False
    """Cards that take no part in 3-D Secure are refused, whatever the merchant says."""
    currencies: tuple[Currency, ...] = ()
    """The currencies it takes; empty means all. Orders in others are converted."""

    def takes(self, cur: Currency) -> bool:
        return not self.currencies or cur in self.currencies


@dataclass(frozen=True)
class Acquirer:
    """An acquiring bank as IPS reaches it: its processing center over ISO 8583
    (``processing``, HOST:PORT), the HTTP side where it publishes its settlement report
    (``processing_http``), the terminal ids and acquirer id it issued IPS, and its rules."""

    name: str
    processing: str = ""
    processing_http: str = ""
    terminal_id: str = "IPS00001"
    terminal_pool: tuple[str, ...] = ()
    acquirer_id: str = "10000000001"
    rules: Rules = field(default_factory=Rules)
    settlement_cutoff: time = time(23, 0)
    """Daily time (UTC) after which its open settlement batches are closed and sent."""
    disabled: bool = False
    """Takes no new payments; what follows from its authorizations still goes to it."""

    @property
    def terminal_ids(self) -> tuple[str, ...]:
        return self.terminal_pool or (self.terminal_id,)


@dataclass(frozen=True)
class Route:
    """Where a merchant's payments go: to ``acquirer``, for ``currency`` and ``brand`` (each
    ``None``: any)."""

    acquirer: str
    currency: Currency | None = None
    brand: Brand | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (
            self.currency.code if self.currency else ANY,
            self.brand.name if self.brand else ANY,
        )

    def matches(self, cur: Currency, brand: Brand | None) -> bool:
        return (self.currency is None or self.currency == cur) and (
            self.brand is None or self.brand == brand
        )

    def __str__(self) -> str:
        currency_, brand = self.key
        return f"{currency_}:{brand}={self.acquirer}"


def route(routes: Iterable[Route], cur: Currency, brand: Brand | None = None) -> str:
    """The acquirer of a payment in ``cur`` with a card of ``brand`` (``None``: not known
    yet): the route of both its currency and brand first, then of its currency, then of its
    brand, then the merchant's route for all; the default acquirer when none matches."""
    matching = [r for r in routes if r.matches(cur, brand)]
    if not matching:
        return DEFAULT_ACQUIRER
    best = max(matching, key=lambda r: (r.currency is not None, r.brand is not None))
    return best.acquirer


def with_route(routes: Iterable[Route], new: Route) -> tuple[Route, ...]:
    """``routes`` with ``new`` in place of the route for the same currency and brand."""
    kept = [r for r in routes if r.key != new.key]
    if new.acquirer != DEFAULT_ACQUIRER or new.currency or new.brand:
        kept.append(new)
    return tuple(sorted(kept, key=lambda r: r.key))


def format_routes(routes: Iterable[Route]) -> str:
    return " ".join(str(r) for r in routes)


def read_routes(text: str) -> tuple[Route, ...]:
    """Routes as the operator types them, in ``format_routes``' words (``*:*=BANK-A
    USD:*=BANK-B *:MIR=BANK-C``; ``BANK-A`` alone: all payments), each checked; of two for
    one currency and brand the later stands, and one to the default acquirer for all is no
    route."""
    routes: tuple[Route, ...] = ()
    for word in text.replace(",", " ").split():
        keys, _, name = word.rpartition("=")
        code, _, brand = (keys or ANY).partition(":")
        try:
            new = Route(
                parse_acquirer_name(name),
                None if code in (ANY, "") else currency(code),
                None if brand in (ANY, "") else parse_brand(brand),
            )
        except InvalidInput as exc:
            raise InvalidInput(f"the route {word!r}: {exc.message}", field="routes") from None
        routes = with_route(routes, new)
    return routes


def parse_routes(text: str) -> tuple[Route, ...]:
    """Routes as ``format_routes`` writes them: ``*:*=BANK-A USD:*=BANK-B *:MIR=BANK-C``."""
    routes = []
    for word in text.split():
        keys, _, name = word.partition("=")
        code, _, brand = keys.partition(":")
        routes.append(
            Route(
                name,
                None if code == ANY else currency(code),
                None if brand == ANY else Brand[brand],
            )
        )
    return tuple(routes)
