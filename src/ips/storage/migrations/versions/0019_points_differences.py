"""each day's points operations are reported to the points program: the differences it answers
are kept by day and merchant, and the spends and give-backs of a day are found by an index

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POINTS_REPORTED = (
    "kind IN ('points_spend', 'points_give_back', 'points_accrual', 'accrual_reversal')"
)
DIFFERS = (
    "(ips_points IS NOT NULL OR program_points IS NOT NULL)"
    " AND (ips_points IS NULL OR program_points IS NULL OR ips_points <> program_points)"
)


def upgrade() -> None:
    op.create_table(
        "points_differences",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("merchant_id", sa.String(length=12), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ips_points", sa.BigInteger(), nullable=True),
        sa.Column("program_points", sa.BigInteger(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('spend', 'give_back', 'accrual', 'accrual_reversal')",
            name=op.f("ck_points_differences_kind"),
        ),
        sa.CheckConstraint(DIFFERS, name=op.f("ck_points_differences_differs")),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.merchant_id"],
            name=op.f("fk_points_differences_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_differences")),
        sa.UniqueConstraint(
            "day",
            "merchant_id",
            "kind",
            "reference",
            name=op.f("uq_points_differences_day_merchant_id_kind_reference"),
        ),
    )
    op.create_index(
        "ix_transactions_points_reported",
        "transactions",
        ["updated_at"],
        sqlite_where=sa.text(POINTS_REPORTED),
        postgresql_where=sa.text(POINTS_REPORTED),
    )


def downgrade() -> None:
    op.drop_index("ix_transactions_points_reported", table_name="transactions")
    op.drop_table("points_differences")
