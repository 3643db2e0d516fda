"""an order's books keep what bonus points paid and what was given back as points

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = ("held", "confirmed", "released", "hold_cancelled", "reversed", "presented", "refunded")
BALANCE = (
    " AND ".join(f"{name} >= 0" for name in MONEY)
    + " AND confirmed + released + hold_cancelled <= held"
    + " AND reversed + presented <= confirmed"
    + " AND refunded <= presented"
)
POINTS = ("in_points", "points_returned")
POINTS_BALANCE = (
    " AND ".join(f"{name} >= 0" for name in POINTS)
    + " AND points_returned <= in_points AND in_points <= presented"
    + " AND points_returned <= refunded"
)


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name in POINTS:
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)
            )
        batch_op.drop_constraint(op.f("ck_orders_books_balance"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_orders_books_balance"), f"{BALANCE} AND {POINTS_BALANCE}"
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_books_balance"), type_="check")
        batch_op.create_check_constraint(op.f("ck_orders_books_balance"), BALANCE)
        for name in reversed(POINTS):
            batch_op.drop_column(name)
