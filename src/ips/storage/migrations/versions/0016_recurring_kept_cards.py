"""the card of a first order of recurring payments is kept in kept_cards for those payments;
the first orders paid before get theirs from their successful payment

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT_FOR = (
    "(customer_number IS NOT NULL AND pan_mac IS NOT NULL AND recurring_order_id IS NULL)"
    " OR (customer_number IS NULL AND pan_mac IS NULL AND recurring_order_id IS NOT NULL)"
)

orders = sa.table(
    "orders",
    sa.column("id", sa.BigInteger()),
    sa.column("merchant_id", sa.String()),
    sa.column("recurring", sa.JSON()),
    sa.column("recurring_of", sa.BigInteger()),
)
operations = sa.table(
    "operations",
    sa.column("order_id", sa.BigInteger()),
    sa.column("kind", sa.String()),
    sa.column("status", sa.String()),
    sa.column("sealed_pan", sa.Text()),
    sa.column("masked_pan", sa.String()),
    sa.column("card_brand", sa.String()),
    sa.column("card_expiry", sa.String()),
    sa.column("cardholder", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("finished_at", sa.DateTime(timezone=True)),
)
kept_cards = sa.table(
    "kept_cards",
    sa.column("merchant_id", sa.String()),
    sa.column("customer_number", sa.String()),
    sa.column("pan_mac", sa.String()),
    sa.column("sealed_pan", sa.Text()),
    sa.column("masked_pan", sa.String()),
    sa.column("card_brand", sa.String()),
    sa.column("card_expiry", sa.String()),
    sa.column("cardholder", sa.String()),
    sa.column("valid_until", sa.Date()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("recurring_order_id", sa.BigInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table("kept_cards", schema=None) as batch_op:
        batch_op.alter_column("customer_number", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("pan_mac", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(
            sa.Column(
                "recurring_order_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_kept_cards_recurring_order_id_orders"),
            "orders",
            ["recurring_order_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_kept_cards_recurring_order_id"), ["recurring_order_id"]
        )
        batch_op.create_check_constraint(op.f("ck_kept_cards_kept_for"), KEPT_FOR)
    _keep_cards_of_first_orders()


def _keep_cards_of_first_orders() -> None:
    """The card of every first order paid by card, kept as ``keep_if_asked`` keeps it now:
    the sealed number as it is, valid until the card's expiry or the day after the terms'
    last, whichever comes first (one already past it is deleted by the janitor)."""
    paid = (
        sa.select(
            orders.c.id,
            orders.c.merchant_id,
            orders.c.recurring,
            operations.c.sealed_pan,
            operations.c.masked_pan,
            operations.c.card_brand,
            operations.c.card_expiry,
            operations.c.cardholder,
            sa.func.coalesce(operations.c.finished_at, operations.c.created_at).label("paid_at"),
        )
        .join(operations, operations.c.order_id == orders.c.id)
        .where(
            orders.c.recurring.is_not(None),
            sa.cast(orders.c.recurring, sa.Text()) != "null",
            orders.c.recurring_of.is_(None),
            operations.c.kind == "100",
            operations.c.status == "success",
            operations.c.sealed_pan.is_not(None),
            operations.c.masked_pan.is_not(None),
            operations.c.card_brand.is_not(None),
            operations.c.card_expiry.is_not(None),
            ~sa.exists().where(kept_cards.c.recurring_order_id == orders.c.id),
        )
    )
    bind = op.get_bind()
    rows = [_kept(row) for row in bind.execute(paid)]
    if rows:
        bind.execute(sa.insert(kept_cards), rows)


def _kept(row: Any) -> dict[str, Any]:
    month, year = (int(part) for part in row.card_expiry.split("/"))
    card_ends = date(year + month // 12, month % 12 + 1, 1)
    terms_end = date.fromisoformat(row.recurring["until"]) + timedelta(days=1)
    paid_at: datetime = row.paid_at
    return {
        "merchant_id": row.merchant_id,
        "customer_number": None,
        "pan_mac": None,
        "sealed_pan": row.sealed_pan,
        "masked_pan": row.masked_pan,
        "card_brand": row.card_brand,
        "card_expiry": row.card_expiry,
        "cardholder": row.cardholder or "",
        "valid_until": min(card_ends, terms_end),
        "created_at": paid_at,
        "recurring_order_id": row.id,
    }


def downgrade() -> None:
    op.execute("DELETE FROM kept_cards WHERE recurring_order_id IS NOT NULL")
    with op.batch_alter_table("kept_cards", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_kept_cards_kept_for"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_kept_cards_recurring_order_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_kept_cards_recurring_order_id_orders"), type_="foreignkey"
        )
        batch_op.drop_column("recurring_order_id")
        batch_op.alter_column("pan_mac", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("customer_number", existing_type=sa.String(length=64), nullable=False)
