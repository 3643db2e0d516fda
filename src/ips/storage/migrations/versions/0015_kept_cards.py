"""cards kept for a shop's customer, with the buyer's consent

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_number", sa.String(length=64), nullable=True))
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("keep_card", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "kept_cards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("merchant_id", sa.String(length=12), nullable=False),
        sa.Column("customer_number", sa.String(length=64), nullable=False),
        sa.Column("pan_mac", sa.String(length=64), nullable=False),
        sa.Column("sealed_pan", sa.Text(), nullable=False),
        sa.Column("masked_pan", sa.String(length=19), nullable=False),
        sa.Column("card_brand", sa.String(length=30), nullable=False),
        sa.Column("card_expiry", sa.String(length=7), nullable=False),
        sa.Column("cardholder", sa.String(length=26), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.merchant_id"],
            name=op.f("fk_kept_cards_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kept_cards")),
        sa.UniqueConstraint(
            "merchant_id",
            "customer_number",
            "pan_mac",
            name=op.f("uq_kept_cards_merchant_id_customer_number_pan_mac"),
        ),
    )
    op.create_index("ix_kept_cards_valid_until", "kept_cards", ["valid_until"])


def downgrade() -> None:
    op.drop_index("ix_kept_cards_valid_until", table_name="kept_cards")
    op.drop_table("kept_cards")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_column("keep_card")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("customer_number")
