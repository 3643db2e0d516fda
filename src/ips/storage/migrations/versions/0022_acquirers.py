"""acquirers: the banks IPS sends card payments to, merchants' routes, each payment's and
transaction's acquirer, settlement batches per acquirer

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 06:00:00

Until now every card payment went to the one processing center of the settings: that is the
acquirer named ``default``, and what was sent to it is recorded so.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCESSING_KINDS = "('authorization', 'reversal', 'completion', 'refund', 'financial')"


def upgrade() -> None:
    op.create_table(
        "acquirers",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("processing", sa.String(length=255), nullable=False),
        sa.Column("processing_http", sa.Text(), server_default="", nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("terminal_pool", sa.Text(), server_default="", nullable=False),
        sa.Column("acquirer_id", sa.String(length=11), nullable=False),
        sa.Column("currencies", sa.String(length=200), server_default="", nullable=False),
        sa.Column("double_stage", sa.Boolean(), nullable=False),
        sa.Column("stored_card_double_stage", sa.Boolean(), nullable=False),
        sa.Column("card_on_file", sa.Boolean(), nullable=False),
        sa.Column("require_3ds", sa.Boolean(), nullable=False),
        sa.Column("settlement_cutoff", sa.String(length=8), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_acquirers")),
    )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routes", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acquirer", sa.String(length=32), nullable=True))
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acquirer", sa.String(length=32), nullable=True))
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("acquirer", sa.String(length=32), server_default="default", nullable=False)
        )
        batch_op.drop_constraint("uq_settlement_batches_period_currency", type_="unique")
        batch_op.create_unique_constraint(
            "uq_settlement_batches_period_acquirer_currency", ["period", "acquirer", "currency"]
        )
    op.execute(f"UPDATE transactions SET acquirer = 'default' WHERE kind IN {PROCESSING_KINDS}")
    op.execute(
        "UPDATE operations SET acquirer = 'default' WHERE id IN"
        " (SELECT operation_id FROM transactions WHERE acquirer = 'default')"
    )


def downgrade() -> None:
    with op.batch_alter_table("settlement_batches", schema=None) as batch_op:
        batch_op.drop_constraint("uq_settlement_batches_period_acquirer_currency", type_="unique")
        batch_op.create_unique_constraint(
            "uq_settlement_batches_period_currency", ["period", "currency"]
        )
        batch_op.drop_column("acquirer")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("acquirer")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_column("acquirer")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("routes")
    op.drop_table("acquirers")
