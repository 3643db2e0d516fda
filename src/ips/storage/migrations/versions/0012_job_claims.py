"""background jobs claimed in the database: settlement periods, leases on batches and transactions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00

A batch names the settlement period it closes (the day of the cut-off), one batch per period
and currency; batches closed before have none. A batch being sent and a transaction a job
acts on carry a lease: who holds it, and until when.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(
            "uq_settlement_batches_period_currency", ["period", "currency"]
        )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.drop_constraint("uq_settlement_batches_period_currency", type_="unique")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("period")
