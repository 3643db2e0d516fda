"""recurring payments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:00:43.176255
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recurring", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "recurring_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index("ix_orders_recurring_of", ["recurring_of"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_recurring_of_orders"), "orders", ["recurring_of"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_orders_recurring_of_orders"), type_="foreignkey")
        batch_op.drop_index("ix_orders_recurring_of")
        batch_op.drop_column("recurring_of")
        batch_op.drop_column("recurring")
