"""books, settlement batches, exchange rates

Orders get their books (``domain/books.py``) with the constraints that keep them in balance;
orders paid before this revision get books from their payment, and single-stage ones the
financial transaction that settlement will send.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:27:12.978371
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PAID = "state IN ('Approved', 'Canceled', 'Delayed', 'PartialCanceled', 'PartialDelayed')"
BOOKS = ("held", "confirmed", "released", "hold_cancelled", "reversed", "presented", "refunded")
BOOKS_BALANCE = (
    " AND ".join(f"{name} >= 0" for name in BOOKS)
    + " AND confirmed + released + hold_cancelled <= held"
    + " AND reversed + presented <= confirmed"
    + " AND refunded <= presented"
)
OPEN = "status IN ('created', 'sent', 'unknown') AND kind IN ('authorization', 'reversal')"


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("source", sa.String(length=3), nullable=False),
        sa.Column("target", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_rates")),
    )
    with op.batch_alter_table("exchange_rates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_exchange_rates_pair", ["source", "target", "valid_from"], unique=False
        )

    op.create_table(
        "settlement_batches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("debits", sa.Integer(), nullable=False),
        sa.Column("debit_total", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("credit_total", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('closing', 'accepted', 'out_of_balance')",
            name=op.f("ck_settlement_batches_status"),
        ),
        sa.CheckConstraint(
            "debit_total >= 0 AND credit_total >= 0", name=op.f("ck_settlement_batches_totals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_batches")),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=1), nullable=True))
        batch_op.add_column(sa.Column("external_refund_id", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_operations_order_id_external_refund_id"),
            ["order_id", "external_refund_id"],
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("books_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("held", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("confirmed", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("released", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("hold_cancelled", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("reversed", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("presented", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("refunded", sa.BigInteger(), server_default="0", nullable=False)
        )

    op.execute(
        f"UPDATE orders SET books_currency = currency, held = amount_minor, "
        f"confirmed = CASE WHEN delay THEN 0 ELSE amount_minor END WHERE {PAID}"
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_orders_paid_has_books"), f"NOT ({PAID}) OR books_currency IS NOT NULL"
        )
        batch_op.create_check_constraint(op.f("ck_orders_books_balance"), BOOKS_BALANCE)

    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_index("ix_transactions_batch_id", ["batch_id"], unique=False)
        batch_op.create_index("ix_transactions_order_id", ["order_id"], unique=False)
        batch_op.create_index(
            "ix_transactions_unbatched",
            ["order_id"],
            unique=False,
            sqlite_where=sa.text("status = 'created' AND kind IN ('financial', 'refund')"),
            postgresql_where=sa.text("status = 'created' AND kind IN ('financial', 'refund')"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_transactions_batch_id_settlement_batches"),
            "settlement_batches",
            ["batch_id"],
            ["id"],
        )
        batch_op.drop_index("ix_transactions_open")
        batch_op.create_index(
            "ix_transactions_open",
            ["updated_at"],
            unique=False,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )

    op.execute(
        "INSERT INTO transactions (order_id, operation_id, kind, status, amount_minor, currency,"
        " original_id, response, approval_code, attempts, created_at, updated_at)"
        " SELECT t.order_id, t.operation_id, 'financial', 'created', t.amount_minor, t.currency,"
        " t.id, '', '', 0, t.updated_at, t.updated_at"
        " FROM transactions t JOIN orders o ON o.id = t.order_id"
        " WHERE t.kind = 'authorization' AND t.status = 'approved' AND NOT o.delay"
    )


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_open")
        batch_op.create_index(
            "ix_transactions_open",
            ["updated_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('created', 'sent', 'unknown')"),
            postgresql_where=sa.text("status IN ('created', 'sent', 'unknown')"),
        )
        batch_op.drop_constraint(
            batch_op.f("fk_transactions_batch_id_settlement_batches"), type_="foreignkey"
        )
        batch_op.drop_index(
            "ix_transactions_unbatched",
            sqlite_where=sa.text("status = 'created' AND kind IN ('financial', 'refund')"),
            postgresql_where=sa.text("status = 'created' AND kind IN ('financial', 'refund')"),
        )
        batch_op.drop_index("ix_transactions_order_id")
        batch_op.drop_index("ix_transactions_batch_id")
        batch_op.drop_column("batch_id")

    op.execute("DELETE FROM transactions WHERE kind IN ('financial', 'refund')")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_orders_books_balance"), type_="check")
        batch_op.drop_constraint(op.f("ck_orders_paid_has_books"), type_="check")
        batch_op.drop_column("refunded")
        batch_op.drop_column("presented")
        batch_op.drop_column("reversed")
        batch_op.drop_column("hold_cancelled")
        batch_op.drop_column("released")
        batch_op.drop_column("confirmed")
        batch_op.drop_column("held")
        batch_op.drop_column("books_currency")

    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_operations_order_id_external_refund_id"), type_="unique"
        )
        batch_op.drop_column("external_refund_id")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("rate")

    op.drop_table("settlement_batches")
    with op.batch_alter_table("exchange_rates", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_rates_pair")

    op.drop_table("exchange_rates")
