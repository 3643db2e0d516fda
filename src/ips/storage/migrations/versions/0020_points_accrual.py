"""bonus points accrued for card payments: the merchant's percent, and the points an exchange
with the points program moved, as the program answered

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_accrual", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_merchants_points_accrual"), "points_accrual BETWEEN 0 AND 100"
        )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("points", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    accrued = op.get_bind().execute(sa.text("SELECT count(*) FROM operations WHERE kind = '500'"))
    if accrued.scalar_one():
        raise RuntimeError("points were accrued: revision 0019 cannot hold them")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("points")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_merchants_points_accrual"), type_="check")
        batch_op.drop_column("points_accrual")
