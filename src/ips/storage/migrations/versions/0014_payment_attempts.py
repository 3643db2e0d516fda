"""an order takes further payment attempts, up to a limit per merchant; a notification of a
declined attempt still waiting when a later one succeeds is superseded

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'pending', 'delivered', 'refused', 'gave_up'"


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payment_attempts", sa.Integer(), server_default="3", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_merchants_payment_attempts"), "payment_attempts BETWEEN 1 AND 10"
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notifications_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notifications_status"), f"status IN ({STATUSES}, 'superseded')"
        )


def downgrade() -> None:
    op.execute("UPDATE notifications SET status = 'gave_up' WHERE status = 'superseded'")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notifications_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notifications_status"), f"status IN ({STATUSES})")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_merchants_payment_attempts"), type_="check")
        batch_op.drop_column("payment_attempts")
