"""ways to pay, 3-D Secure, references

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:24:28.297916
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OPEN = "status IN ('created', 'sent', 'unknown') AND kind NOT IN ('financial', 'refund')"
OPEN_BEFORE = "status IN ('created', 'sent', 'unknown') AND kind IN ('authorization', 'reversal')"


def _open_index(predicate: str) -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_open")
        batch_op.create_index(
            "ix_transactions_open",
            ["updated_at"],
            unique=False,
            sqlite_where=sa.text(predicate),
            postgresql_where=sa.text(predicate),
        )


def upgrade() -> None:
    _open_index(OPEN)
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("means", sa.String(length=40), server_default="card wallet", nullable=False)
        )
        batch_op.add_column(
            sa.Column("required_fields", sa.String(length=40), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "require_3ds", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "allow_disable_3ds", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
            )
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("means", sa.String(length=40), server_default="card", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "disable_3ds", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
            )
        )

    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=64), nullable=True))


def downgrade() -> None:
    _open_index(OPEN_BEFORE)
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("reference")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("disable_3ds")
        batch_op.drop_column("means")

    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("allow_disable_3ds")
        batch_op.drop_column("require_3ds")
        batch_op.drop_column("required_fields")
        batch_op.drop_column("means")
