"""What a merchant's administrator changes in the Personal Account: where and what the shop
is notified of, the ways to pay it offers, its web-service password and the addresses its web
services may be called from, and its secret word.

A new secret word replaces the old one at once for everything IPS signs (answers,
notifications); requests signed with the old one are still accepted for the grace period
chosen, so the shop can switch without refusing a single buyer.

A change made with the person who makes it (``actor``) is written in the audit trail with
it; a password or a secret word as ``CHANGED`` only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from ips.crypto.passwords import hash_password
from ips.domain.addresses import parse_networks
from ips.domain.audit import CHANGED, Actor, Subject
from ips.domain.errors import InvalidInput, NotFound
from ips.domain.merchants import Merchant, parse_callback_url
from ips.domain.notifications import AnswerMode
from ips.domain.orders import OperationKind, PaymentMeans
from ips.netguard import AddressPolicy, AddressRefused, NotResolved, checked_addresses
from ips.services.audit import note
from ips.services.clock import Clock, utc_now
from ips.services.unit_of_work import UnitOfWorkFactory

MIN_WS_PASSWORD = 8
MAX_GRACE = timedelta(days=30)
RESOLVE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Notifications:
    callback_url: str
    kinds: frozenset[OperationKind]
    answer: AnswerMode
    means: frozenset[PaymentMeans]


async def change_notifications(
    merchant_id: str, wanted: Notifications, uow_factory: UnitOfWorkFactory, ports: frozenset[int],
    *, actor: Actor | None = None, clock: Clock = utc_now,
) -> Merchant:  # fmt: skip
    if not wanted.means - {PaymentMeans.POINTS}:
        raise InvalidInput("the shop needs a way to pay: a card or the e-wallet", field="means")
    url = parse_callback_url(wanted.callback_url, ports) if wanted.callback_url.strip() else ""
    if url:
        await _refuse_private(url)
    if wanted.kinds and not url:
        raise InvalidInput("notifications need the URL they go to", field="callback_url")

    def change(merchant: Merchant) -> None:
        merchant.callback_url = url
        merchant.notify_kinds = wanted.kinds
        merchant.notify_answer = wanted.answer
        merchant.means = wanted.means

    def seen(merchant: Merchant) -> dict[str, Any]:
        return {
            "callback_url": merchant.callback_url,
            "notify": sorted(kind.name.lower() for kind in merchant.notify_kinds),
            "notify_answer": merchant.notify_answer.value,
            "means": sorted(means.value for means in merchant.means),
        }

    return await _change(
        merchant_id, change, uow_factory, actor, "merchant.notifications", clock, seen=seen
    )


async def _refuse_private(url: str) -> None:
    """A shop's administrator may not point IPS's notifications (and the answers shown of
    them) at IPS's own network: the host, as written or as it resolves now, must be a
    public address — the operator's allowed networks are not offered here. A name that
    does not resolve is let be. This is a courtesy to the administrator, not the guard:
    each notification checks the address again when it is sent (``ips.callbacks``)."""
    host = urlsplit(url).hostname or ""
    refused = InvalidInput("the notification URL must be on a public address", field="callback_url")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise refused
    try:
        await checked_addresses(host, AddressPolicy(), within=RESOLVE_TIMEOUT)
    except NotResolved:
        return
    except AddressRefused:
        raise refused from None


async def change_ws_password(
    merchant_id: str, password: str, uow_factory: UnitOfWorkFactory, *,
    actor: Actor | None = None, clock: Clock = utc_now,
) -> Merchant:  # fmt: skip
    if len(password) < MIN_WS_PASSWORD:
        raise InvalidInput(
            f"the web-service password needs at least {MIN_WS_PASSWORD} characters",
            field="password",
        )
    password_hash = await asyncio.to_thread(hash_password, password)

    def change(merchant: Merchant) -> None:
        merchant.change_ws_password(password_hash)

    return await _change(
        merchant_id, change, uow_factory, actor, "merchant.ws_password", clock,
        secret={"ws_password": CHANGED},
    )  # fmt: skip


async def change_ws_addresses(
    merchant_id: str, addresses: Sequence[str], uow_factory: UnitOfWorkFactory, *,
    actor: Actor | None = None, clock: Clock = utc_now,
) -> Merchant:  # fmt: skip
    """The addresses and networks (CIDR) the web services may be called from; none: any."""
    networks = parse_networks(addresses)

    def change(merchant: Merchant) -> None:
        merchant.ws_addresses = networks

    def seen(merchant: Merchant) -> dict[str, Any]:
        return {"ws_addresses": list(merchant.ws_addresses)}

    return await _change(
        merchant_id, change, uow_factory, actor, "merchant.ws_addresses", clock, seen=seen
    )


async def rotate_secret_word(
    merchant_id: str, word: str, grace: timedelta, uow_factory: UnitOfWorkFactory, clock: Clock,
    *, actor: Actor | None = None,
) -> Merchant:  # fmt: skip
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise InvalidInput("the grace period is 0 to 30 days", field="grace")

    def change(merchant: Merchant) -> None:
        merchant.rotate_secret_word(word, clock(), grace)

    def seen(merchant: Merchant) -> dict[str, Any]:
        until = merchant.previous_secret_until
        return {"previous_accepted_until": until.isoformat() if until else None}

    return await _change(
        merchant_id, change, uow_factory, actor, "merchant.secret_word", clock, seen=seen,
        secret={"secret_word": CHANGED},
    )  # fmt: skip


async def _change(
    merchant_id: str,
    change: Callable[[Merchant], None],
    uow_factory: UnitOfWorkFactory,
    actor: Actor | None,
    action: str,
    clock: Clock,
    *,
    seen: Callable[[Merchant], dict[str, Any]] = lambda _: {},
    secret: dict[str, Any] | None = None,
) -> Merchant:
    """Changes the merchant under its lock; with an ``actor``, the audit trail keeps what
    ``seen`` shows of it before and after, and that the ``secret`` changed."""
    async with uow_factory() as uow:
        merchant = await uow.merchants.get(merchant_id, lock=True)
        if merchant is None:
            raise NotFound("no merchant with this Merchant_ID")
        before = seen(merchant)
        change(merchant)
        await uow.merchants.save(merchant)
        if actor is not None:
            subject = Subject("merchant", merchant_id, merchant_id=merchant_id)
            after = seen(merchant) | (secret or {})
            await note(uow, actor, action, subject, clock(), before=before or None, after=after)
        await uow.commit()
    return merchant
