"""Kept cards in and out of ``kept_cards`` (``domain/kept_cards.py``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ips.domain.cards import Brand
from ips.domain.kept_cards import KeptCard
from ips.domain.orders import CardSummary
from ips.storage.database import dialect_insert
from ips.storage.tables import kept_cards

_RENEWED = ("sealed_pan", "masked_pan", "card_brand", "card_expiry", "cardholder", "valid_until")


class KeptCardRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def keep(self, card: KeptCard) -> None:
        """Keeps the card for its customer, or for the recurring payments of its first order;
        a card kept already is renewed (its expiry and holder as on this payment)."""
        row = {
            "merchant_id": card.merchant_id,
            "customer_number": card.customer_number,
            "pan_mac": card.pan_mac,
            "sealed_pan": card.sealed_pan,
            "masked_pan": card.card.masked_pan,
            "card_brand": card.card.brand.value,
            "card_expiry": card.card.expiry,
            "cardholder": card.card.holder,
            "valid_until": card.valid_until,
            "created_at": card.created_at,
            "recurring_order_id": card.recurring_order_id,
        }
        insert = dialect_insert(self._conn)(kept_cards).values(**row)
        kept_for = (
            [kept_cards.c.recurring_order_id]
            if card.recurring_order_id is not None
            else [kept_cards.c.merchant_id, kept_cards.c.customer_number, kept_cards.c.pan_mac]
        )
        await self._conn.execute(
            insert.on_conflict_do_update(
                index_elements=kept_for,
                set_={name: insert.excluded[name] for name in _RENEWED},
            )
        )

    async def get(self, card_id: int) -> KeptCard | None:
        row = (
            await self._conn.execute(select(kept_cards).where(kept_cards.c.id == card_id))
        ).first()
        return None if row is None else _kept(row)

    async def for_recurring(self, first_order_id: int) -> KeptCard | None:
        """The card kept for the recurring payments of the first order, if any."""
        row = (
            await self._conn.execute(
                select(kept_cards).where(kept_cards.c.recurring_order_id == first_order_id)
            )
        ).first()
        return None if row is None else _kept(row)

    async def of_customer(self, merchant_id: str, customer_number: str) -> list[KeptCard]:
        """The latest kept first (never one kept for recurring payments)."""
        rows = await self._conn.execute(
            select(kept_cards)
            .where(
                kept_cards.c.merchant_id == merchant_id,
                kept_cards.c.customer_number == customer_number,
            )
            .order_by(kept_cards.c.created_at.desc(), kept_cards.c.id.desc())
        )
        return [_kept(row) for row in rows]

    async def remove(self, card_id: int) -> None:
        await self._conn.execute(delete(kept_cards).where(kept_cards.c.id == card_id))

    async def purge(self, today: date) -> int:
        """Deletes the cards no longer valid on ``today``; how many."""
        purged = await self._conn.execute(
            delete(kept_cards).where(kept_cards.c.valid_until <= today)
        )
        return purged.rowcount


def _kept(row: Row[Any]) -> KeptCard:
    return KeptCard(
        merchant_id=row.merchant_id,
        customer_number=row.customer_number,
        card=CardSummary(row.masked_pan, Brand(row.card_brand), row.card_expiry, row.cardholder),
        sealed_pan=row.sealed_pan,
        pan_mac=row.pan_mac,
        created_at=row.created_at,
        id=row.id,
        recurring_order_id=row.recurring_order_id,
        kept_until=None if row.recurring_order_id is None else row.valid_until,
    )
