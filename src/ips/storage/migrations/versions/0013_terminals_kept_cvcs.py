"""terminals leased by nodes, STANs per terminal and day, the CVC kept sealed across 3-D Secure

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00

Each transaction records the terminal it goes under and its STAN (unique per terminal and the
day it took it on). Until now every exchange went under the one configured terminal id
(``IPS_TERMINAL_ID``, IPS00001 unless set) with a STAN that followed from its id: the
transactions with the processing center are recorded so, that terminal is the first of the
pool, and its count of today starts after the STANs it already used today.
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime, time

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCESSING_KINDS = "('authorization', 'reversal', 'completion', 'refund', 'financial')"


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terminal_id", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("stan", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("stan_day", sa.Date(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_transactions_terminal_id_stan_day_stan", ["terminal_id", "stan_day", "stan"]
        )
    op.create_table(
        "terminals",
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_terminals")),
    )
    op.create_table(
        "terminal_stans",
        sa.Column("terminal_id", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", "day", name=op.f("pk_terminal_stans")),
    )
    op.create_table(
        "kept_cvcs",
        sa.Column(
            "operation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name=op.f("fk_kept_cvcs_operation_id_operations")
        ),
        sa.PrimaryKeyConstraint("operation_id", name=op.f("pk_kept_cvcs")),
    )
    op.create_index("ix_kept_cvcs_until", "kept_cvcs", ["until"], unique=False)

    terminal = os.environ.get("IPS_TERMINAL_ID") or "IPS00001"
    bind = op.get_bind()
    bind.execute(
        sa.text(
            f"UPDATE transactions SET terminal_id = :terminal WHERE kind IN {PROCESSING_KINDS}"
        ),
        {"terminal": terminal},
    )
    bind.execute(
        sa.text(
            "UPDATE transactions SET stan = id % 999999 + 1"
            " WHERE terminal_id IS NOT NULL AND transmitted_at IS NOT NULL"
        )
    )
    bind.execute(
        sa.text("INSERT INTO terminals (terminal_id) VALUES (:terminal)"), {"terminal": terminal}
    )
    today = datetime.now(UTC).date()
    midnight = datetime.combine(today, time(), tzinfo=UTC)
    used_today = sa.text(
        "SELECT max(stan) FROM transactions WHERE stan IS NOT NULL AND transmitted_at >= :midnight"
    ).bindparams(sa.bindparam("midnight", type_=sa.DateTime(timezone=True)))
    if bind.dialect.name == "sqlite":
        midnight = midnight.replace(tzinfo=None)
    used = bind.execute(used_today, {"midnight": midnight}).scalar()
    if used:
        bind.execute(
            sa.text(
                "INSERT INTO terminal_stans (terminal_id, day, last) VALUES (:terminal, :day, :last)"
            ).bindparams(sa.bindparam("day", type_=sa.Date())),
            {"terminal": terminal, "day": today, "last": used},
        )


def downgrade() -> None:
    op.drop_index("ix_kept_cvcs_until", table_name="kept_cvcs")
    op.drop_table("kept_cvcs")
    op.drop_table("terminal_stans")
    op.drop_table("terminals")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_transactions_terminal_id_stan_day_stan", type_="unique")
        batch_op.drop_column("stan_day")
        batch_op.drop_column("stan")
        batch_op.drop_column("terminal_id")
