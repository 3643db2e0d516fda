"""the differences reconciliation finds between an acquirer's report and IPS's books, kept
until a later reconciliation no longer finds them

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_differences",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("acquirer", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("rrn", sa.String(length=12), nullable=False),
        sa.Column("what", sa.String(length=40), nullable=False),
        sa.Column("ips", sa.Text(), nullable=False),
        sa.Column("bank", sa.Text(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_differences")),
    )
    op.create_index(
        "uq_reconciliation_differences_open",
        "reconciliation_differences",
        ["acquirer", "terminal_id", "rrn", "what"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_reconciliation_differences_open", table_name="reconciliation_differences")
    op.drop_table("reconciliation_differences")
