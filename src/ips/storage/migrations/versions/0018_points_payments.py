"""bonus points as a way to pay: the merchant's share of an order points may pay, the order's
OrderMaxPoints, a points payment's points and account; a payment records when it began, so
one only chosen is told from one under way; an order has one live payment besides one in
points

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "kind = '100' AND status IN ('in_process', 'success')"
LIVE_PAYMENT = f"{LIVE} AND means <> 'points'"
LIVE_POINTS = f"{LIVE} AND means = 'points'"


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("points_share", sa.Integer(), server_default="50", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_merchants_points_share"), "points_share BETWEEN 1 AND 100"
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_points", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("points", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("points_account", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("begun_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index("uq_operations_live_payment")
    op.execute(
        "UPDATE operations SET begun_at = created_at WHERE kind <> '100'"
        " OR status <> 'in_process'"
        " OR EXISTS (SELECT 1 FROM transactions WHERE transactions.operation_id = operations.id)"
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        for name, where in (
            ("uq_operations_live_payment", LIVE_PAYMENT),
            ("uq_operations_live_points", LIVE_POINTS),
        ):
            batch_op.create_index(
                name,
                ["order_id"],
                unique=True,
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )


def downgrade() -> None:
    points = op.get_bind().execute(
        sa.text("SELECT count(*) FROM operations WHERE means = 'points'")
    )
    if points.scalar_one():
        raise RuntimeError("orders were paid with points: revision 0017 cannot hold them")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index("uq_operations_live_points")
        batch_op.drop_index("uq_operations_live_payment")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index(
            "uq_operations_live_payment",
            ["order_id"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
        batch_op.drop_column("begun_at")
        batch_op.drop_column("points_account")
        batch_op.drop_column("points")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("max_points")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_merchants_points_share"), type_="check")
        batch_op.drop_column("points_share")
