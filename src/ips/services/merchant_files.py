"""What the operator console reads of merchants: a page of those found by what the operator
typed, and one merchant's file — its settings, its users, its holds open and the latest of
its audit trail — each in one read, with a query per kind of thing, never one per row."""

from __future__ import annotations

from dataclasses import dataclass

from ips.domain.audit import AuditEntry
from ips.domain.errors import InvalidInput, NotFound
from ips.domain.merchants import Merchant, version
from ips.domain.users import User
from ips.services.unit_of_work import UnitOfWorkFactory

PAGE = 50
LATEST = 10
"""The audit entries a merchant's file shows (the audit page has the rest)."""
LONGEST_SEARCH = 100


@dataclass(frozen=True)
class MerchantPage:
    merchants: list[Merchant]
    next_after: str | None
    """The id the next page begins after; None on the last page."""


async def find_merchants(
    text: str, uow_factory: UnitOfWorkFactory, *, after: str | None = None, limit: int = PAGE
) -> MerchantPage:
    """The merchants whose id begins with ``text`` or whose name or login holds it (all of
    them for no text), by id, a page at a time."""
    text = text.strip()
    if len(text) > LONGEST_SEARCH:
        raise InvalidInput(f"search with at most {LONGEST_SEARCH} characters", field="q")
    async with uow_factory(readonly=True) as uow:
        found = await uow.merchants.search(text, after or None, limit + 1)
    more = len(found) > limit
    return MerchantPage(found[:limit], found[limit - 1].merchant_id if more else None)


@dataclass(frozen=True)
class MerchantFile:
    merchant: Merchant
    version: str
    """Of its settings as read (``merchants.version``), for the form that changes them."""
    users: list[User]
    """Of its Personal Account."""
    holds_open: int
    """Its orders holding money neither confirmed nor given back."""
    trail: list[AuditEntry]
    """The latest changes of it and of its orders, newest first."""


async def merchant_file(
    merchant_id: str, uow_factory: UnitOfWorkFactory, *, latest: int = LATEST
) -> MerchantFile:
    async with uow_factory(readonly=True) as uow:
        merchant = await uow.merchants.get(merchant_id)
        if merchant is None:
            raise NotFound(f"no merchant {merchant_id}", field="merchant_id")
        users = await uow.users.of_merchant(merchant_id)
        holds_open = await uow.orders.holds_open(merchant_id)
        trail = await uow.audit.latest(latest, merchant_id=merchant_id)
    return MerchantFile(merchant, version(merchant), users, holds_open, trail)
